"""A small city with mediation bodies at every level and the people who work in them.

Community mediation committees exist in T-D1-S1-C1 and T-D2-S1-C1 only (elsewhere the street
is the lowest level that can mediate); every street has a people's mediation committee, every
district a mediation centre, the city a coordination centre.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests.factories import member


def _unit(city: dict[str, Any], code: str, place: str, name_en: str, name_zh: str) -> Any:
    return org_services.save_unit(
        actor="test",
        code=code,
        kind=UnitKind.MEDIATION_COMMITTEE,
        name_en=name_en,
        name_zh=name_zh,
        jurisdiction=city[place],
    )


@pytest.fixture
def med(city: dict[str, Any]) -> dict[str, Any]:
    made = dict(city)
    with transaction.atomic():
        for c in ("T-D1-S1-C1", "T-D2-S1-C1"):
            made[f"{c}-med"] = _unit(
                city, f"{c}-MEDIATION", c, f"{c} Mediation Committee", f"{c}人民调解委员会"
            )
        for d in ("T-D1", "T-D2"):
            for s in ("S1", "S2"):
                street = f"{d}-{s}"
                made[f"{street}-med"] = _unit(
                    city,
                    f"{street}-MEDIATION",
                    street,
                    f"{street} Mediation Committee",
                    f"{street}人民调解委员会",
                )
            made[f"{d}-med"] = _unit(
                city, f"{d}-MEDIATION", d, f"{d} Mediation Centre", f"{d}矛盾纠纷调处中心"
            )
        made["T-med"] = _unit(city, "T-MEDIATION", "T", "City Mediation Centre", "市调处中心")
        made["grid"] = org_services.save_unit(
            actor="test",
            code="T-D1-S1-C1-GRID",
            kind=UnitKind.GRID_TEAM,
            name_en="Grid team C1",
            name_zh="C1网格",
            jurisdiction=city["T-D1-S1-C1"],
        )
    made["mediator_c"] = member("med-c111", Role.MEDIATOR, made["T-D1-S1-C1-med"])
    made["mediator_s"] = member("med-s11", Role.MEDIATOR, made["T-D1-S1-med"])
    made["mediator_s2"] = member("med-s21", Role.MEDIATOR, made["T-D2-S1-med"])
    made["mediator_d"] = member("med-d1", Role.MEDIATOR, made["T-D1-med"])
    made["mediator_city"] = member("med-city", Role.MEDIATOR, made["T-med"])
    made["gridworker"] = member("grid-c111", Role.GRID_WORKER, made["grid"])
    made["dispatcher"] = member("disp-city", Role.DISPATCHER, city["centre"])
    made["analyst"] = member("analyst-city", Role.ANALYST, city["centre"])
    made["handler"] = member("handler-h1", Role.UNIT_HANDLER, city["T-D1-housing"])
    return made
