"""Routing learned from history in the product: training, the router and its fallbacks,
proposals of responsibility-list entries, accepting one, and the command."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from civitas.appeals.models import Appeal, Assignment, Event, Status
from civitas.dispatch import routing as list_routing
from civitas.kit import clock
from civitas.kit.errors import Forbidden, NotFound
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRevision, ResponsibilityRule, Role, Unit
from civitas.understanding import routing, store
from civitas.understanding.models import ModelVersion
from tests.appeals.conftest import fresh, submit
from tests.factories import jurisdiction, matter, member

pytestmark = pytest.mark.django_db

LEAF = "T-M1-1-1"
_numbers = itertools.count(1)


def handled(where: str, unit: Unit, n: int, *, days_ago: float = 10, leaf: str = LEAF) -> None:
    """n finished cases of ``leaf`` at ``where`` whose lead unit ``unit`` did the work."""
    j = jurisdiction(where)
    m = matter(leaf)
    at = clock.now() - timedelta(days=days_ago)
    for _ in range(n):
        k = next(_numbers)
        appeal = Appeal.objects.create(
            ticket=f"T-HIST-{k:06d}",
            token_hash=f"{k:064x}",
            city="T",
            channel="web",
            text="history",
            matter=m,
            jurisdiction=j,
            jurisdiction_path=j.path,
            status=Status.CLOSED,
            lead_unit=unit,
            received_at=at,
        )
        Assignment.objects.create(
            appeal=appeal, unit=unit, role="lead", state="done", dispatched_at=at
        )


@pytest.fixture
def history_router(settings: Any) -> None:
    settings.CIVITAS_ROUTER = "civitas.understanding.routing.route"


def trained(city: str = "T") -> ModelVersion:
    with transaction.atomic():
        return routing.train(city=city, by="test")


def events_note(appeal: Appeal, action: str) -> str:
    return Event.objects.filter(appeal=appeal, action=action).latest("id").note


# -- training ---------------------------------------------------------------------------------


def test_training_learns_from_finished_cases_and_scores_against_the_list(
    case_city: dict[str, Any],
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 40, days_ago=30)
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 20, days_ago=2)
    mv = trained()
    assert mv.kind == "router" and mv.active and mv.summary["n_train"] == 60
    assert mv.summary["per_unit"] == {"T-D1-S1-OFFICE": 60}
    # The newest 12 are scored: history says the street office, the list the district.
    assert mv.scores["n_test"] == 12
    assert mv.scores["accuracy"] == 1.0 and mv.scores["list_accuracy"] == 0.0
    loaded = store.load("router", "T")
    assert loaded is not None
    p = loaded[1].predict(("T-M1", "T-M1-1", LEAF), ("T", "T-D1", "T-D1-S1", "T-D1-S1-C1"))
    assert p.label == "T-D1-S1-OFFICE" and p.support == 60


def test_unfinished_returned_and_unplaced_cases_are_not_learned(
    case_city: dict[str, Any],
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 4)
    first, second, third, _fourth = Appeal.objects.order_by("ticket")
    Appeal.objects.filter(pk=first.pk).update(status=Status.ACCEPTED)  # still open
    Assignment.objects.filter(appeal=second).update(state="returned")  # the unit gave it back
    Appeal.objects.filter(pk=third.pk).update(jurisdiction=None, jurisdiction_path="")
    cases = routing.finished_cases("T")
    assert len(cases) == 1 and cases[0].unit == "T-D1-S1-OFFICE"


def test_training_needs_a_city_and_history(case_city: dict[str, Any]) -> None:
    from civitas.kit.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no finished cases"):
        trained()
    with pytest.raises(NotFound):
        trained("NOWHERE")


# -- the router -------------------------------------------------------------------------------


def test_history_routes_when_confident(case_city: dict[str, Any], history_router: None) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 30)
    trained()
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.lead_unit == c["T-D1-S1-office"]
    assert appeal.route_method == "history"
    assert appeal.route_confidence is not None and appeal.route_confidence >= 0.8
    note = events_note(appeal, "dispatch")
    assert note.startswith("learned from history: T-D1-S1-OFFICE handled 30 of 30 cases")
    assert "T-router-v1" in note


def test_unsure_history_falls_back_to_the_list(
    case_city: dict[str, Any], history_router: None
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 6)
    handled("T-D1-S1-C1", c["T-D1-housing"], 5)
    trained()
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.lead_unit == c["T-D1-housing"]  # the list's district entry
    assert (appeal.route_method, appeal.route_confidence) == ("list", None)
    note = events_note(appeal, "dispatch")
    assert note.startswith("responsibility list entry") and "history unsure" in note


def test_the_threshold_is_a_setting(
    case_city: dict[str, Any], history_router: None, settings: Any
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 28)
    handled("T-D1-S1-C1", c["T-D1-housing"], 2)
    trained()
    first = fresh(submit(c, matter_code=LEAF).appeal)
    assert first.route_method == "history" and 0.9 < first.route_confidence < 0.95  # type: ignore[operator]
    settings.CIVITAS_ROUTE_MIN_CONFIDENCE = 0.95
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.route_method == "list" and appeal.lead_unit == c["T-D1-housing"]


def test_without_a_model_the_list_routes(case_city: dict[str, Any], history_router: None) -> None:
    appeal = fresh(submit(case_city, matter_code=LEAF).appeal)
    assert appeal.lead_unit == case_city["T-D1-housing"] and appeal.route_method == "list"
    assert "no routing model trained" in events_note(appeal, "dispatch")


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_missing_or_corrupt_model_file_falls_back_to_the_list(
    case_city: dict[str, Any], history_router: None, settings: Any, damage: str
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 30)
    mv = trained()
    path = settings.CIVITAS_MODEL_DIR / mv.file
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(b"not a model")
    store.forget()
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.lead_unit == c["T-D1-housing"] and appeal.route_method == "list"
    assert "routing model unavailable" in events_note(appeal, "dispatch")


def test_an_inactive_learned_unit_is_not_used(
    case_city: dict[str, Any], history_router: None
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 30)
    trained()
    Unit.objects.filter(pk=c["T-D1-S1-office"].pk).update(active=False)
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.lead_unit == c["T-D1-housing"] and appeal.route_method == "list"
    assert "not an active unit" in events_note(appeal, "dispatch")


def test_the_lists_guards_come_before_history(
    case_city: dict[str, Any], history_router: None
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 30)
    trained()
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="the city coordinates lifts",
            matter=matter(LEAF),
            level=c["levels"]["city"],
            city="T",
            unit=c["centre"],
            city_coordinates=True,
        )
    appeal = fresh(submit(c, matter_code=LEAF).appeal)
    assert appeal.status == Status.TRIAGE and appeal.lead_unit is None
    assert appeal.route_method == "" and appeal.route_confidence is None
    # Not located: held whatever history says.
    unplaced = Appeal(city="T", text="somewhere", matter=matter(LEAF))
    decision = routing.route(unplaced)
    assert decision.unit is None and unplaced.route_method == ""


def test_an_unsaved_appeal_is_routed_without_writing(case_city: dict[str, Any]) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 30)
    trained()
    j = jurisdiction("T-D1-S1-C2")
    appeal = Appeal(
        city="T", text="x", matter=matter(LEAF), jurisdiction=j, jurisdiction_path=j.path
    )
    decision = routing.route(appeal)
    # Backs off from the unseen community to its street.
    assert decision.unit == c["T-D1-S1-office"] and decision.confidence is not None
    assert "in T-D1-S1" in decision.reason and appeal.route_method == "history"


# -- the list read in memory ------------------------------------------------------------------


def test_the_list_view_agrees_with_dispatch(case_city: dict[str, Any]) -> None:
    c = case_city
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="t",
            matter=matter("T-M1"),
            level=c["levels"]["street"],
            city="T",
            unit_type="street_office",
        )
        org_services.save_responsibility(
            actor="test",
            reason="t",
            matter=matter(LEAF),
            level=c["levels"]["district"],
            city="T",
            jurisdiction=c["T-D2"],
            unit=c["T-D1-housing"],
        )
        from civitas.matters import services as matter_services

        matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M1-2",
            name_en="Rent",
            name_zh="租金",
            parent=matter("T-M1"),
        )
    view = routing.ListView("T")
    for code in ("T-M1-1-1", "T-M1-2", "T-M1-1", "T-M1"):
        for where in ("T-D1", "T-D1-S2", "T-D2-S1-C2", "T-D1-S1-C1", "T-D2"):
            m, j = matter(code), jurisdiction(where)
            appeal = Appeal(city="T", text="x", matter=m, jurisdiction=j, jurisdiction_path=j.path)
            expected = list_routing.route(appeal)
            got = view.resolve(routing._codes(m.path), routing._codes(j.path))
            assert got == (
                expected.unit.code if expected.unit else None,
                expected.rule_id if expected.unit else got[1],
            ), (code, where)


# -- proposals --------------------------------------------------------------------------------


def admin(c: dict[str, Any]) -> Any:
    return member("admin", Role.ADMINISTRATOR, c["centre"])


def test_history_that_contradicts_the_list_is_proposed_and_accepted(
    case_city: dict[str, Any],
) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 12)
    handled("T-D1-S2-C2", c["T-D1-S2-office"], 10)
    handled("T-D2-S1-C1", c["T-D2-housing"], 15)  # agrees with the list: nothing to say
    found = routing.proposals("T")
    assert len(found) == 1
    p = found[0]
    # Street offices handle it in district 1 (a city-wide street entry would be wrong in 2).
    assert (p.matter, p.level, p.jurisdiction, p.unit_type, p.unit) == (
        LEAF,
        "street",
        "T-D1",
        "street_office",
        None,
    )
    assert (p.support, p.agree, p.list_agree, p.kind) == (22, 22, 0, "contradicts")
    district_rule = ResponsibilityRule.objects.get(matter__code=LEAF, level__code="district")
    assert p.current_rule == district_rule.pk

    with pytest.raises(Forbidden):
        routing.accept(p, c["handler"], "looks right")
    with transaction.atomic():
        rule = routing.accept(p, admin(c), "street offices do this work")
    assert rule.level.code == "street" and rule.unit_type == "street_office"
    revision = ResponsibilityRevision.objects.get(rule=rule)
    assert revision.version == 1 and revision.reason.startswith("street offices do this work")
    assert "22 of 22" in revision.reason
    # The list now agrees with history.
    assert routing.proposals("T") == []
    j = jurisdiction("T-D1-S2-C1")
    routed = list_routing.route(
        Appeal(city="T", text="x", matter=matter(LEAF), jurisdiction=j, jurisdiction_path=j.path)
    )
    assert routed.unit == c["T-D1-S2-office"]


def test_a_missing_entry_names_the_unit_within_its_place(case_city: dict[str, Any]) -> None:
    c = case_city
    ResponsibilityRule.objects.update(active=False)  # the list says nothing
    handled("T-D2-S1-C1", c["T-D1-housing"], 8)  # D1's bureau covers D2 (odd, but history)
    handled("T-D2-S2-C1", c["T-D1-housing"], 8)
    found = routing.proposals("T", min_support=10)
    # All of it in district 2, from both its streets: an entry for district 2 only.
    assert [(p.matter, p.level, p.jurisdiction, p.unit, p.kind) for p in found] == [
        (LEAF, "district", "T-D2", "T-D1-HOUSING", "missing")
    ]
    assert found[0].current_rule is None
    assert routing.proposals("T", min_support=17) == []
    with transaction.atomic():
        first = routing.accept(found[0], "cli", "")
    assert first.version == 1 and first.unit == c["T-D1-housing"]
    assert first.note.startswith("learned from history: 16 of 16")


def test_accepting_changes_the_entry_of_the_same_matter_level_and_place(
    case_city: dict[str, Any],
) -> None:
    c = case_city
    with transaction.atomic():
        old = org_services.save_responsibility(
            actor="test",
            reason="district 2 looks after itself",
            matter=matter(LEAF),
            level=c["levels"]["district"],
            city="T",
            jurisdiction=c["T-D2"],
            unit=c["T-D2-housing"],
            note="agreed in 2024",
        )
    handled("T-D2-S1-C1", c["T-D1-housing"], 8)
    handled("T-D2-S2-C1", c["T-D1-housing"], 8)
    (p,) = routing.proposals("T")
    assert (p.jurisdiction, p.unit, p.kind, p.current_rule) == (
        "T-D2",
        "T-D1-HOUSING",
        "contradicts",
        old.pk,
    )
    with transaction.atomic():
        rule = routing.accept(p, admin(c), "D1 took over")
    assert rule.pk == old.pk and rule.version == 2 and rule.unit == c["T-D1-housing"]
    assert rule.note == "agreed in 2024"
    assert ResponsibilityRevision.objects.filter(rule=rule).count() == 2
    assert ResponsibilityRule.objects.filter(active=True).count() == 2


def test_a_team_under_the_listed_unit_refines_the_entry(case_city: dict[str, Any]) -> None:
    c = case_city
    with transaction.atomic():
        team = org_services.save_unit(
            actor="test",
            code="T-D1-HOUSING-LIFTS",
            kind="department",
            name_en="Lift team",
            name_zh="电梯组",
            jurisdiction=c["T-D1"],
            parent=c["T-D1-housing"],
        )
    handled("T-D1-S1-C1", team, 6)
    handled("T-D1-S2-C1", team, 6)
    (p,) = routing.proposals("T")
    assert (p.jurisdiction, p.unit, p.kind) == ("T-D1", "T-D1-HOUSING-LIFTS", "refines")


def test_a_thin_or_divided_history_proposes_nothing(case_city: dict[str, Any]) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 5)
    assert routing.proposals("T") == []
    handled("T-D1-S1-C1", c["T-D1-housing"], 6)
    assert routing.proposals("T", min_support=3) == []  # 5 of 11 is no rule


def test_old_history_is_left_out(case_city: dict[str, Any]) -> None:
    handled("T-D1-S1-C1", case_city["T-D1-S1-office"], 12, days_ago=400)
    assert routing.proposals("T") == []
    assert len(routing.proposals("T", days=500)) == 1


def test_a_stale_proposal_is_refused(case_city: dict[str, Any]) -> None:
    with pytest.raises(NotFound, match="look at the proposals again"):
        routing.find("T", "0123456789")


# -- the command ------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("routing", "propose", *args, stdout=out)
    return out.getvalue()


def test_the_command_lists_and_accepts(case_city: dict[str, Any]) -> None:
    c = case_city
    handled("T-D1-S1-C1", c["T-D1-S1-office"], 12)
    listed = run("--city", "T")
    pid = routing.proposals("T")[0].id
    # One street's office seen at work in its own street: that unit, within that street.
    assert pid in listed and "T-D1-S1-OFFICE" in listed and "within T-D1-S1" in listed
    assert "12/12" in listed
    with pytest.raises(CommandError, match="no proposal nope"):
        run("--city", "T", "--accept", "nope")
    with pytest.raises(CommandError, match="name the city"):
        run("--accept", pid)
    with pytest.raises(CommandError, match="no city"):
        run("--city", "ZZ")
    accepted = run("--city", "T", "--accept", pid, "--reason", "checked with the district")
    assert f"accepted {pid}" in accepted
    entry = ResponsibilityRule.objects.get(jurisdiction__code="T-D1-S1", active=True)
    assert entry.unit == c["T-D1-S1-office"] and entry.level.code == "street"
    assert "no proposals" in run()
