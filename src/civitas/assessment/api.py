"""GET /api/assessment?period=2026-11&group=streets|departments[&city=CODE]"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from civitas.assessment import selectors
from civitas.assessment.schemas import AssessmentOut

router = Router()


@router.get("/assessment", response=AssessmentOut)
def assessment(
    request: HttpRequest, period: str = "", group: str = "streets", city: str = ""
) -> dict[str, Any]:
    t = selectors.table(
        request.auth,  # type: ignore[attr-defined]
        group=group,
        period=period or None,
        city=city or None,
    )
    return {
        "city": t.city,
        "group": t.group,
        "period": t.period.label,
        "previous_period": t.previous.label,
        "as_of": t.as_of.isoformat(),
        "weights": t.weights,
        "total": t.total,
        "units": [
            {
                "rank": ln.rank,
                "unit": ln.unit.code,
                "name": ln.unit.name,
                "counts": ln.counts,
                "rates": ln.rates,
                "score": ln.score,
                "previous_score": ln.previous_score,
                "previous_rank": ln.previous_rank,
                "change": ln.change,
            }
            for ln in t.lines
        ],
    }
