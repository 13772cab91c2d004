"""The day-by-day engine: prospective, one report per continuing cluster."""

from __future__ import annotations

import math

import numpy as np

from civitas.risk.scan.engine import Engine, default_detectors
from civitas.risk.scan.events import Detector, Events, Found
from civitas.risk.scan.stp import ClusterDetector, ScanConfig
from tests.risk.scan_data import stream


class Spy(Detector):
    """Reports a finding at a fixed place on the days given; remembers what it was shown."""

    kind = "cluster"

    def __init__(self, days: dict[int, tuple[float, float]]) -> None:
        self.days = days
        self.seen: list[tuple[int, int]] = []

    def run(self, events: Events, day: int) -> list[Found]:
        self.seen.append((day, int(events.day.max()) if len(events) else -1))
        if day not in self.days:
            return []
        x, y = self.days[day]
        return [Found("cluster", "type0", day, day - 2, day, 9, 1.0, 1e-5, 20.0, x, y, 400.0)]


def test_detectors_see_only_what_was_known_that_day() -> None:
    ev = stream(days=30)
    spy = Spy({})
    list(Engine([spy]).run(ev, 10, 20))
    assert [d for d, _ in spy.seen] == list(range(10, 21))
    assert all(last <= day for day, last in spy.seen)


def test_a_continuing_cluster_is_reported_once_and_a_new_place_again() -> None:
    ev = stream(days=30)
    spy = Spy({10: (0.0, 0.0), 11: (100.0, 0.0), 12: (150.0, 50.0), 13: (5000.0, 0.0)})
    found = list(Engine([spy]).run(ev, 9, 16))
    assert [(f.detected_on, f.x) for f in found] == [(10, 0.0), (13, 5000.0)]


def test_a_cluster_that_comes_back_after_a_pause_is_reported_again() -> None:
    ev = stream(days=30)
    spy = Spy({10: (0.0, 0.0), 14: (0.0, 0.0)})
    found = list(Engine([spy], gap_days=1).run(ev, 9, 16))
    assert [f.detected_on for f in found] == [10, 14]


def test_live_use_step_by_step_keeps_state() -> None:
    ev = stream(days=30)
    engine = Engine([Spy({10: (0.0, 0.0), 11: (0.0, 0.0)})])
    assert len(engine.step(ev, 10)) == 1
    assert engine.step(ev, 11) == []
    assert len(engine.active) == 1


def test_engine_with_the_scan_finds_a_planted_cluster_once() -> None:
    ev = stream(clusters=((0, 1000.0, 1000.0, 100, 4, 300.0),), seed=8)
    engine = Engine([ClusterDetector(ScanConfig(replicas=199, alpha=0.01))])
    found = list(engine.run(ev, 98, 106))
    near = [
        f
        for f in found
        if f.category == "type0" and math.hypot(f.x - 1000.0, f.y - 1000.0) < 300 + f.radius_m
    ]
    assert len(near) == 1
    assert 100 <= near[0].detected_on <= 102
    assert len(found) <= 3  # and not much else in clean background
    # Rows are indexes of the events the detector saw, which are a prefix of the full stream.
    assert np.all(ev.day[near[0].rows] <= near[0].detected_on)


def test_parallel_days_give_the_same_alerts_as_one_process() -> None:
    ev = stream(clusters=((0, 1000.0, 1000.0, 100, 4, 300.0), (1, -2000.0, 0.0, 103, 3, 250.0)))
    cfg = ScanConfig(replicas=99, alpha=0.05)
    one = list(Engine([ClusterDetector(cfg)]).run(ev, 97, 107))
    two = list(Engine([ClusterDetector(cfg)]).run(ev, 97, 107, workers=2))
    assert len(one) >= 2
    assert [f.as_json(ev) for f in one] == [f.as_json(ev) for f in two]
    assert [f.rows.tolist() for f in one] == [f.rows.tolist() for f in two]


def test_default_detectors_include_the_cluster_scan() -> None:
    dets = default_detectors(replicas=99, kinds=("cluster",))
    assert [d.kind for d in dets] == ["cluster"]
    assert isinstance(dets[0], ClusterDetector) and dets[0].config.replicas == 99
