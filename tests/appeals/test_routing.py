"""Routing from the responsibility list: the most specific entry wins."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals.models import Appeal, Status
from civitas.dispatch.routing import Decision, centre_of, route
from civitas.org import services as org_services
from tests.appeals.conftest import submit
from tests.factories import jurisdiction, matter


def rule(
    c: dict[str, Any], *, level: str = "district", matter_code: str = "T-M1-1-1", **fields: Any
) -> Any:
    with transaction.atomic():
        return org_services.save_responsibility(
            actor="test",
            reason="test",
            matter=matter(matter_code),
            level=c["levels"][level],
            city="T",
            **fields,
        )


def case(where: str, matter_code: str = "T-M1-1-1", text: str = "The lift is broken") -> Appeal:
    """An appeal as routing sees it (located and classified, not saved)."""
    j = jurisdiction(where)
    return Appeal(
        city="T", text=text, matter=matter(matter_code), jurisdiction=j, jurisdiction_path=j.path
    )


def unit_of(decision: Decision) -> str | None:
    return decision.unit.code if decision.unit else None


@pytest.mark.django_db
class TestDeeperMatterWins:
    def test_the_leafs_entry_beats_its_branchs(self, case_city: dict[str, Any]) -> None:
        rule(case_city, matter_code="T-M1", unit=case_city["T-D2-housing"])
        assert unit_of(route(case("T-D1-S1-C1"))) == "T-D1-HOUSING"
        # a sibling matter with no entry of its own falls back to the branch's entry
        from civitas.matters import services as matter_services

        with transaction.atomic():
            matter_services.save_matter(
                actor="test",
                catalogue="T",
                code="T-M1-1-2",
                name_en="Stairs",
                name_zh="楼梯",
                parent=matter("T-M1-1"),
            )
        assert unit_of(route(case("T-D1-S1-C1", "T-M1-1-2"))) == "T-D2-HOUSING"


@pytest.mark.django_db
class TestJurisdictionRestrictedEntry:
    def test_wins_inside_its_subtree_only(self, case_city: dict[str, Any]) -> None:
        c = case_city
        rule(c, jurisdiction=c["T-D1-S2"], unit=c["T-D1-S2-office"])
        inside = route(case("T-D1-S2-C1"))
        assert unit_of(inside) == "T-D1-S2-OFFICE" and inside.rule_id is not None
        assert unit_of(route(case("T-D1-S1-C1"))) == "T-D1-HOUSING"
        assert unit_of(route(case("T-D2-S1-C1"))) == "T-D2-HOUSING"


@pytest.mark.django_db
class TestStreetLevelEntry:
    def test_needs_a_case_located_to_a_street_or_below(self, case_city: dict[str, Any]) -> None:
        rule(case_city, level="street", unit_type="street_office")
        assert unit_of(route(case("T-D1-S1-C2"))) == "T-D1-S1-OFFICE"
        assert unit_of(route(case("T-D1-S2"))) == "T-D1-S2-OFFICE"
        # located only to the district: the street entry cannot apply; the district one does
        assert unit_of(route(case("T-D1"))) == "T-D1-HOUSING"

    def test_a_place_without_that_department_falls_through(self, case_city: dict[str, Any]) -> None:
        rule(case_city, level="street", unit_type="public_security")
        assert unit_of(route(case("T-D1-S1-C2"))) == "T-D1-HOUSING"


@pytest.mark.django_db
class TestNamedUnitEntry:
    def test_a_named_unit_takes_the_case(self, case_city: dict[str, Any]) -> None:
        c = case_city
        rule(c, level="street", unit=c["T-D2-S2-office"])
        decision = route(case("T-D1-S1-C1"))
        assert unit_of(decision) == "T-D2-S2-OFFICE" and "T-M1-1-1" in decision.reason

    def test_an_inactive_named_unit_is_skipped(self, case_city: dict[str, Any]) -> None:
        c = case_city
        rule(c, level="street", unit=c["T-D2-S2-office"])
        c["T-D2-S2-office"].active = False
        c["T-D2-S2-office"].save()
        assert unit_of(route(case("T-D1-S1-C1"))) == "T-D1-HOUSING"


@pytest.mark.django_db
class TestToTheCentre:
    def test_an_entry_reserved_to_the_city(self, case_city: dict[str, Any]) -> None:
        rule(case_city, matter_code="T-M1", unit_type="housing", city_coordinates=True)
        decision = route(case("T-D1-S1-C1"))
        assert decision.unit is None and "city centre" in decision.reason
        a = submit(case_city).appeal
        assert a.status == Status.TRIAGE and a.lead_unit is None

    def test_no_matter_no_place_or_two_districts(self, case_city: dict[str, Any]) -> None:
        unplaced = Appeal(city="T", text="lift", matter=matter("T-M1-1-1"))
        assert route(unplaced).unit is None and "not located" in route(unplaced).reason
        unclassified = Appeal(city="T", text="?", jurisdiction=jurisdiction("T-D1"))
        assert "no matter" in route(unclassified).reason
        both = case("T-D1-S1-C1", text="Lifts broken in North 1 District and North 2 District")
        assert route(both).unit is None and "more than one district" in route(both).reason

    def test_no_entry_at_all(self, case_city: dict[str, Any]) -> None:
        from civitas.matters import services as matter_services

        with transaction.atomic():
            matter_services.save_matter(
                actor="test", catalogue="T", code="T-M2", name_en="Parks", name_zh="公园"
            )
        assert route(case("T-D1-S1-C1", "T-M2")).reason.startswith("no responsible unit")

    def test_the_nearest_centre_up_the_tree(self, case_city: dict[str, Any]) -> None:
        c = case_city
        assert centre_of("T", jurisdiction("T-D1-S1-C1")) == c["T-D1-centre"]
        assert centre_of("T", jurisdiction("T-D2")) == c["T-D2-centre"]
        assert centre_of("T") == c["centre"]
