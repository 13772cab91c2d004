from __future__ import annotations

from ninja import Schema


class LineOut(Schema):
    rank: int | None
    unit: str
    name: str
    counts: dict[str, int]
    rates: dict[str, float | None]
    score: float | None
    previous_score: float | None
    previous_rank: int | None
    change: float | None


class AssessmentOut(Schema):
    city: str
    group: str
    period: str
    previous_period: str
    as_of: str
    weights: dict[str, float]
    total: dict[str, object]
    units: list[LineOut]
