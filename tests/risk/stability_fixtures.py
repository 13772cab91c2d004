"""People, a draft and complete findings for the stability assessment tests."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.org.models import Role
from civitas.risk import stability
from civitas.risk.models import StabilityAssessment
from tests.appeals.conftest import case_city, submit  # noqa: F401
from tests.factories import member

FINDINGS: dict[str, Any] = {
    "legality": 4,
    "legality_note": "Approved in the district plan; land use permits in order.",
    "reasonableness": 4,
    "reasonableness_note": "Compensation follows the city's 2025 standard.",
    "feasibility": 5,
    "feasibility_note": "Funds budgeted; works planned outside school terms.",
    "controllability": 4,
    "controllability_note": "Street office liaison and a complaints line in place.",
}


@pytest.fixture(name="ssa_city")
def ssa_city_fixture(case_city: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The small city with people who write, read and may not see stability assessments."""
    c = case_city
    c["analyst"] = member("analyst", Role.ANALYST, c["T-D1-centre"])
    c["d2_analyst"] = member("d2-analyst", Role.ANALYST, c["T-D2-centre"])
    c["auditor"] = member("auditor", Role.AUDITOR, c["centre"])
    c["city_admin"] = member("city-admin", Role.ADMINISTRATOR, c["centre"])
    return c


def draft(c: dict[str, Any], actor_key: str = "analyst", **fields: Any) -> StabilityAssessment:
    values: dict[str, Any] = {
        "title": "Waste transfer station at Elm 11 Street",
        "description": "A covered transfer station for 300 tonnes a day beside the river.",
        "jurisdiction": c["T-D1-S1"],
        "decision_unit": c["T-D1-housing"],
    }
    values.update(fields)
    return stability.create(c[actor_key], **values)


def item(
    against: int, *, total: int = 100, source: str = "hearing", **extra: Any
) -> dict[str, Any]:
    """A consultation item with ``against`` of ``total`` positions; the rest in favour."""
    return {
        "source": source,
        "participants": extra.pop("participants", total),
        "for": total - against,
        "against": against,
        "neutral": 0,
        "concerns": extra.pop("concerns", "Smell and lorries near the school."),
        **extra,
    }
