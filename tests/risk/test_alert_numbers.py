"""An alert page names every figure a detector gives in words, in both languages."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest
from django.utils import translation

from civitas.risk.models import Alert
from civitas.risk.scan.bursts import BurstDetector
from civitas.risk.scan.stp import ClusterDetector, ScanConfig
from civitas.risk.views_register import HIDDEN_NUMBERS, NUMBER_WORDS, _numbers
from tests.risk.scan_data import stream
from tests.risk.test_bursts import BURST_DAY, add, background, burst_rows


def _alert(numbers: dict[str, Any]) -> Alert:
    return Alert(
        kind="cluster", start=date(2026, 11, 1), end=date(2026, 11, 3),
        detected_on=date(2026, 11, 3), numbers=numbers,
    )  # fmt: skip


def _real_numbers() -> list[dict[str, Any]]:
    ev = stream(clusters=((0, 1500.0, -1200.0, 100, 4, 300.0),))
    clusters = ClusterDetector(ScanConfig(replicas=199, alpha=0.01)).run(ev.until(102), 102)
    rng = np.random.default_rng(7)
    bev = add(background(), **burst_rows(rng, 1000.0, -500.0))
    bursts = BurstDetector().run(bev.until(BURST_DAY), BURST_DAY)
    assert clusters and bursts
    return [f.numbers for f in clusters + bursts]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_figure_of_a_cluster_and_a_burst_is_named(language: str) -> None:
    for numbers in _real_numbers():
        shown = set(numbers) - HIDDEN_NUMBERS
        assert shown <= set(NUMBER_WORDS), sorted(shown - set(NUMBER_WORDS))
        with translation.override(language):
            rows = _numbers(_alert(numbers))
        labels = [label for label, _ in rows]
        assert len(rows) == len(shown)
        assert not any("_" in label for label in labels), labels  # no raw key reaches the page
        if language == "zh-hans":
            assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels)


def test_large_figures_and_districts_read_as_words() -> None:
    numbers = {
        "recurrence_days": 190_600.4,
        "llr": 17.254,
        "districts": [{"code": "T-D1", "name_en": "District 1", "name_zh": "一区"}, "T-D9"],
        "x": 12.0,
    }
    with translation.override("en"):
        rows = dict(_numbers(_alert(numbers)))
    assert rows["recurrence interval (days)"] == "190,600"
    assert rows["log-likelihood ratio"] == "17.25"
    assert rows["districts"] == "District 1、T-D9"
    with translation.override("zh-hans"):
        assert "一区、T-D9" in dict(_numbers(_alert(numbers))).values()
