"""Codes numbered per prefix: padding, order past the padding, and the first number."""

from __future__ import annotations

import pytest

from civitas.geo.models import Jurisdiction, Level
from civitas.kit.numbering import next_code

pytestmark = pytest.mark.django_db


def _place(level: Level, code: str) -> None:
    Jurisdiction.objects.create(
        code=code, level=level, path=f"/{code}/", name_en=code, name_zh=code
    )


def test_the_first_number_is_one_padded_to_the_width() -> None:
    assert next_code(Jurisdiction, "Q-2026-", 4) == "Q-2026-0001"


def test_longer_numbers_count_after_shorter_ones() -> None:
    level = Level.objects.create(code="lv", rank=0, name_en="Level", name_zh="层")
    for code in ("P-2026-0009", "P-2026-9999", "P-2026-10000", "P-2025-99999", "PX-2026-50000"):
        _place(level, code)
    assert next_code(Jurisdiction, "P-2026-", 4) == "P-2026-10001"
    assert next_code(Jurisdiction, "P-2025-", 4) == "P-2025-100000"
