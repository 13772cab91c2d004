"""A small city with community committees, street office staff and a few residents."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests.factories import UserFactory, member


@pytest.fixture
def part(city: dict[str, Any]) -> dict[str, Any]:
    made = dict(city)
    with transaction.atomic():
        for c in ("T-D1-S1-C1", "T-D1-S1-C2", "T-D2-S1-C1"):
            made[f"{c}-cc"] = org_services.save_unit(
                actor="test",
                code=f"{c}-CC",
                kind=UnitKind.COMMUNITY_COMMITTEE,
                department_type="community",
                name_en=f"{c} Residents' Committee",
                name_zh=f"{c}居民委员会",
                jurisdiction=city[c],
            )
    made["leader"] = member("street-leader", Role.UNIT_LEADER, city["T-D1-S1-office"])
    made["handler"] = member("street-handler", Role.UNIT_HANDLER, city["T-D1-S1-office"])
    made["community"] = member("cc-handler", Role.UNIT_HANDLER, made["T-D1-S1-C1-cc"])
    made["other_street"] = member("street2-handler", Role.UNIT_HANDLER, city["T-D2-S1-office"])
    made["dispatcher"] = member("disp-city", Role.DISPATCHER, city["centre"])
    made["residents"] = [UserFactory(username=f"resident{i}") for i in range(1, 4)]
    return made
