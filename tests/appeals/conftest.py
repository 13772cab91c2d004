from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.org import services as org_services
from civitas.org.models import Role
from tests.factories import member


@pytest.fixture
def case_city(city: dict[str, Any]) -> dict[str, Any]:
    """The small test city with a responsibility list and people in every part of a case."""
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=city["leaf"],
            level=city["levels"]["district"],
            city="T",
            unit_type="housing",
        )
    city["dispatcher"] = member("dispatcher", Role.DISPATCHER, city["centre"])
    city["d1_dispatcher"] = member("d1-dispatcher", Role.DISPATCHER, city["T-D1-centre"])
    city["handler"] = member("handler", Role.UNIT_HANDLER, city["T-D1-housing"])
    city["leader"] = member("leader", Role.UNIT_LEADER, city["T-D1-housing"])
    city["other_handler"] = member("handler2", Role.UNIT_HANDLER, city["T-D2-housing"])
    city["street_handler"] = member("street", Role.UNIT_HANDLER, city["T-D1-S1-office"])
    city["operator"] = member("operator", Role.HOTLINE_OPERATOR, city["centre"])
    city["resident"] = member("resident", Role.RESIDENT)
    return city


def submit(
    city: dict[str, Any], text: str = "The lift in building 3 is broken again", **extra: Any
) -> intake.Submitted:
    data = intake.AppealIn(
        city="T",
        text=text,
        lat=extra.pop("lat", 0.5),
        lon=extra.pop("lon", 0.5),
        contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
        **extra,
    )
    with transaction.atomic():
        return intake.submit(actor=city["resident"], data=data, resident=city["resident"])


def fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)
