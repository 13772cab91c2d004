"""Redistricting: an appeal's copy of its jurisdiction's path follows a moved subtree in the
move's transaction, so reading appeals by place follows the new map."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals.models import Appeal
from civitas.geo import services as geo_services
from civitas.geo.models import Jurisdiction
from civitas.org import access
from tests.appeals.conftest import fresh, submit
from tests.factories import member

pytestmark = pytest.mark.django_db


def move(city: dict[str, Any], code: str, parent: str) -> None:
    j = Jurisdiction.objects.get(code=code)
    with transaction.atomic():
        geo_services.save_jurisdiction(
            actor="test",
            code=code,
            level=j.level,
            name_en=j.name_en,
            name_zh=j.name_zh,
            parent=city[parent],
            boundary=j.boundary,
            existing=j,
        )


def test_appeals_of_a_moved_street_follow_it_to_the_new_district(
    case_city: dict[str, Any],
) -> None:
    city = case_city
    d2_dispatcher = member("d2-dispatcher", "dispatcher", city["T-D2-centre"])
    inside = submit(city).appeal  # (0.5, 0.5): community C1 of street S1 of district D1
    elsewhere = submit(city, lat=0.5, lon=1.5).appeal  # street S2, staying in D1
    assert inside.jurisdiction_path.startswith("/T/T-D1/T-D1-S1/")

    def sees(user: Any) -> set[int]:
        return set(access.readable(user, Appeal.objects.all()).values_list("pk", flat=True))

    assert inside.pk not in sees(d2_dispatcher)
    move(city, "T-D1-S1", "T-D2")
    moved = fresh(inside)
    assert moved.jurisdiction_path == moved.jurisdiction.path
    assert moved.jurisdiction_path.startswith("/T/T-D2/T-D1-S1/")
    assert fresh(elsewhere).jurisdiction_path == fresh(elsewhere).jurisdiction.path
    assert fresh(elsewhere).jurisdiction_path.startswith("/T/T-D1/T-D1-S2/")
    assert inside.pk in sees(d2_dispatcher) and elsewhere.pk not in sees(d2_dispatcher)
    # an appeal received after the move agrees with the moved ones
    later = submit(city).appeal
    assert later.jurisdiction_path == moved.jurisdiction_path
    assert not Appeal.objects.filter(jurisdiction_path__startswith="/T/T-D1/T-D1-S1/").exists()


def test_a_move_rolled_back_leaves_the_appeals_as_they_were(case_city: dict[str, Any]) -> None:
    city = case_city
    appeal = submit(city).appeal
    before = appeal.jurisdiction_path
    with pytest.raises(RuntimeError), transaction.atomic():
        move(city, "T-D1-S1", "T-D2")
        assert fresh(appeal).jurisdiction_path != before
        raise RuntimeError("cancelled")
    assert fresh(appeal).jurisdiction_path == before
