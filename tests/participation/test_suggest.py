"""Suggestions: proposing, the responsible unit, support and the threshold, the public
answer, closing, reassigning, late answers, and the concurrent crossing of the threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from civitas.kit import clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import ApiKey, Role
from civitas.participation import suggestions
from civitas.participation.models import Suggestion, Support
from tests.factories import member
from tests.participation.suggest_helpers import propose, residents
from tests.racing import needs_postgres, race

S = Suggestion.Status
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def _small_threshold(settings: Any) -> None:
    settings.CIVITAS_SUGGESTION_THRESHOLD = 3
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def mail(part: dict[str, Any]) -> dict[str, Any]:
    for key in ("leader", "handler"):
        part[key].email = f"{key}@office.example"
        part[key].save(update_fields=["email"])
    return part


def audits(action: str, code: str) -> int:
    return AuditEntry.objects.filter(action=action, object_id=code).count()


# -- proposing -----------------------------------------------------------------------------


def test_propose_stores_threshold_unit_and_an_audit_entry(part: dict[str, Any]) -> None:
    author = part["residents"][0]
    s = propose(author, part["T-D1-S1-C1"])
    assert s.code == f"SG-{s.pk:06d}"
    assert s.status == S.OPEN and s.support_count == 0 and s.threshold == 3
    assert s.unit == part["T-D1-S1-office"]
    assert s.city == "T" and s.jurisdiction_path == part["T-D1-S1-C1"].path
    assert audits("suggestion.propose", s.code) == 1


def test_threshold_is_kept_per_suggestion(part: dict[str, Any], settings: Any) -> None:
    first = propose(part["residents"][0], part["T-D1-S1-C1"])
    settings.CIVITAS_SUGGESTION_THRESHOLD = 50
    second = propose(part["residents"][0], part["T-D1-S1-C1"])
    first.refresh_from_db()
    assert (first.threshold, second.threshold) == (3, 50)


def test_unit_is_the_district_centre_without_a_street(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D2"])
    assert s.unit == part["T-D2-centre"]
    assert suggestions.responsible_unit(part["T-D2-S1-C2"]) == part["T-D2-S1-office"]
    assert suggestions.responsible_unit(part["T"]) == part["centre"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"text": ""}, "text"),
        ({"title": "x" * 201}, "title"),
        ({"text": "x" * 5001}, "text"),
    ],
)
def test_propose_names_the_bad_field(
    part: dict[str, Any], fields: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        propose(part["residents"][0], part["T-D1-S1-C1"], **fields)
    assert err.value.details["field"] == field
    assert not Suggestion.objects.exists()


def test_propose_needs_a_place(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        propose(part["residents"][0], None)
    assert err.value.details["field"] == "place"


def test_a_point_finds_the_place_or_is_refused(part: dict[str, Any]) -> None:
    r = part["residents"][0]
    s = propose(r, None, lat=0.5, lon=0.5)
    assert s.jurisdiction == part["T-D1-S1-C1"]
    narrowed = propose(r, part["T-D1"], lat=1.5, lon=0.5)
    assert narrowed.jurisdiction == part["T-D1-S1-C2"]
    with pytest.raises(InvalidInput) as err:
        propose(r, part["T-D2"], lat=0.5, lon=0.5)
    assert err.value.details["field"] == "lat"
    with pytest.raises(InvalidInput) as err:
        propose(r, None, lat=50.0, lon=50.0)
    assert err.value.details["field"] == "lat"
    with pytest.raises(InvalidInput) as err:
        propose(r, part["T-D1"], lat=0.5)
    assert err.value.details["field"] == "lon"


def test_only_signed_in_people_propose(part: dict[str, Any]) -> None:
    from django.contrib.auth.models import AnonymousUser

    for actor in (AnonymousUser(), None, ApiKey(pk=1, name="k")):
        with pytest.raises(Forbidden):
            propose(actor, part["T-D1-S1-C1"])


# -- support and the threshold -------------------------------------------------------------


def test_support_counts_once_and_not_ones_own(part: dict[str, Any]) -> None:
    author, other, _ = part["residents"]
    s = propose(author, part["T-D1-S1-C1"])
    with pytest.raises(Forbidden) as err:
        suggestions.support(author, s)
    assert err.value.code == "own_suggestion"
    s = suggestions.support(other, s)
    assert s.support_count == 1 and suggestions.supports(other, s)
    with pytest.raises(Conflict) as conflict:
        suggestions.support(other, s)
    assert conflict.value.code == "already_supported"
    s.refresh_from_db()
    assert s.support_count == 1 and Support.objects.filter(suggestion=s).count() == 1


def test_crossing_the_threshold_makes_it_due_once_and_tells_the_unit(
    mail: dict[str, Any],
) -> None:
    s = propose(mail["residents"][0], mail["T-D1-S1-C1"])
    people = residents(5)
    with clock.frozen(MONDAY):
        for p in people[:2]:
            s = suggestions.support(p, s)
        assert s.status == S.OPEN and s.answer_due is None
        s = suggestions.support(people[2], s)
    assert s.status == S.DUE and s.support_count == 3
    assert s.threshold_reached_at == MONDAY
    # 15 working days from Monday 2 March 2026, at the same local time.
    assert s.answer_due == datetime(2026, 3, 23, 2, 0, tzinfo=UTC)
    told = set(
        OutboxMessage.objects.filter(topic="participation.suggestion_due").values_list(
            "recipient", flat=True
        )
    )
    assert told == {"leader@office.example", "handler@office.example"}
    # Support keeps counting while due; the threshold is not crossed again.
    for p in people[3:]:
        s = suggestions.support(p, s)
    assert s.support_count == 5 and s.status == S.DUE
    assert audits("suggestion.threshold", s.code) == 1
    assert OutboxMessage.objects.filter(topic="participation.suggestion_due").count() == 2


def test_no_support_once_answered_closed_or_hidden(part: dict[str, Any]) -> None:
    from civitas.participation import moderation

    author, other, third = part["residents"]
    s = propose(author, part["T-D1-S1-C1"])
    s = suggestions.answer(part["handler"], s, version=s.version, text="We will add two.")
    with pytest.raises(Conflict) as err:
        suggestions.support(other, s)
    assert err.value.code == "illegal"
    closed = suggestions.close(part["handler"], s, version=s.version, reason="done")
    with pytest.raises(Conflict):
        suggestions.support(other, closed)
    hidden = propose(author, part["T-D1-S1-C1"])
    moderation.hide(part["leader"], target="suggestion", target_id=hidden.pk, reason="abuse")
    with pytest.raises(Conflict):
        suggestions.support(third, hidden)
    assert not Support.objects.exists()


# -- answering, closing, reassigning -------------------------------------------------------


def test_the_unit_answers_publicly_and_the_author_hears(part: dict[str, Any]) -> None:
    author = part["residents"][0]
    author.email = "author@home.example"
    author.save(update_fields=["email"])
    s = propose(author, part["T-D1-S1-C1"])
    with pytest.raises(InvalidInput) as err:
        suggestions.answer(part["handler"], s, version=s.version, text=" ")
    assert err.value.details["field"] == "answer"
    with pytest.raises(Conflict) as stale:
        suggestions.answer(part["handler"], s, version=s.version + 1, text="Yes.")
    assert stale.value.code == "stale"
    s = suggestions.answer(part["handler"], s, version=s.version, text="Two benches in May.")
    assert s.status == S.ANSWERED and s.answer == "Two benches in May." and s.answered_at
    assert audits("suggestion.answer", s.code) == 1
    assert OutboxMessage.objects.filter(
        recipient="author@home.example", topic="participation.suggestion_answered"
    ).exists()
    with pytest.raises(Conflict):
        suggestions.answer(part["handler"], s, version=s.version, text="Again.")


def test_a_due_suggestion_is_answered(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    for p in residents(3):
        s = suggestions.support(p, s)
    assert s.status == S.DUE
    s = suggestions.answer(part["leader"], s, version=s.version, text="Agreed.")
    assert s.status == S.ANSWERED


@pytest.mark.parametrize("who", ["other_street", "community", "residents"])
def test_only_the_unit_or_its_area_answers(part: dict[str, Any], who: str) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    actor = part[who][1] if who == "residents" else part[who]
    with pytest.raises(Forbidden):
        suggestions.answer(actor, s, version=s.version, text="No.")
    with pytest.raises(Forbidden):
        suggestions.close(actor, s, version=s.version, reason="No.")
    s.refresh_from_db()
    assert s.status == S.OPEN


def test_district_dispatcher_over_the_area_may_answer(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    s = suggestions.answer(part["dispatcher"], s, version=s.version, text="The city will act.")
    assert s.status == S.ANSWERED


def test_close_moves_and_refusals(part: dict[str, Any]) -> None:
    h = part["handler"]
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    with pytest.raises(InvalidInput) as err:
        suggestions.close(h, s, version=s.version, reason="")
    assert err.value.details["field"] == "reason"
    s = suggestions.close(h, s, version=s.version, reason="duplicate of SG-000001")
    assert s.status == S.CLOSED
    entry = AuditEntry.objects.get(action="suggestion.close", object_id=s.code)
    assert entry.reason == "duplicate of SG-000001"
    with pytest.raises(Conflict):
        suggestions.close(h, s, version=s.version, reason="again")
    # A due suggestion must be answered before it is closed.
    due = propose(part["residents"][0], part["T-D1-S1-C1"])
    for p in residents(3):
        due = suggestions.support(p, due)
    with pytest.raises(Conflict) as owed:
        suggestions.close(h, due, version=due.version, reason="out of scope")
    assert owed.value.code == "answer_owed"
    due = suggestions.answer(h, due, version=due.version, text="Out of our scope: the province.")
    due = suggestions.close(h, due, version=due.version, reason="out of scope")
    assert due.status == S.CLOSED


def test_reassign_with_a_reason(mail: dict[str, Any]) -> None:
    other = member("s2-lead", Role.UNIT_LEADER, mail["T-D1-S2-office"], email="s2@office.example")
    s = propose(mail["residents"][0], mail["T-D1-S1-C1"])
    for p in residents(3):
        s = suggestions.support(p, s)
    with pytest.raises(InvalidInput) as err:
        suggestions.reassign(
            mail["leader"], s, version=s.version, unit=mail["T-D1-S2-office"], reason=""
        )
    assert err.value.details["field"] == "reason"
    with pytest.raises(InvalidInput) as same:
        suggestions.reassign(
            mail["leader"], s, version=s.version, unit=mail["T-D1-S1-office"], reason="x"
        )
    assert same.value.details["field"] == "unit"
    with pytest.raises(Forbidden):
        suggestions.reassign(
            mail["residents"][1], s, version=s.version, unit=mail["T-D1-S2-office"], reason="x"
        )
    s = suggestions.reassign(
        mail["leader"], s, version=s.version, unit=mail["T-D1-S2-office"], reason="their square"
    )
    assert s.unit == mail["T-D1-S2-office"]
    assert OutboxMessage.objects.filter(recipient=other.email).exists()
    assert audits("suggestion.reassign", s.code) == 1


def test_late_answers_are_flagged_once_to_the_leader(mail: dict[str, Any]) -> None:
    s = propose(mail["residents"][0], mail["T-D1-S1-C1"])
    with clock.frozen(MONDAY):
        for p in residents(3):
            s = suggestions.support(p, s)
    assert s.answer_due is not None
    assert suggestions.flag_overdue(s.answer_due - timedelta(minutes=1)) == {"flagged": 0}
    later = s.answer_due + timedelta(hours=1)
    assert suggestions.flag_overdue(later) == {"flagged": 1}
    assert suggestions.flag_overdue(later + timedelta(days=1)) == {"flagged": 0}
    late = OutboxMessage.objects.filter(topic="participation.suggestion_overdue")
    assert list(late.values_list("recipient", flat=True)) == ["leader@office.example"]
    assert suggestions.is_overdue(s, later)
    s = suggestions.answer(mail["leader"], s, version=s.version, text="Sorry for the delay.")
    assert not suggestions.is_overdue(s, later)


# -- at the same moment ---------------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_supports_lose_no_count_and_cross_once(
    part: dict[str, Any], settings: Any
) -> None:
    settings.CIVITAS_SUGGESTION_THRESHOLD = 4
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    people = residents(8)
    results = race(*(lambda p=p: suggestions.support(p, s) for p in people))
    assert results == ["ok"] * 8
    s.refresh_from_db()
    assert s.support_count == 8 == Support.objects.filter(suggestion=s).count()
    assert s.status == S.DUE
    assert audits("suggestion.threshold", s.code) == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_person_twice_at_once_counts_once(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    p = part["residents"][1]
    results = race(lambda: suggestions.support(p, s), lambda: suggestions.support(p, s))
    assert sorted(results) == ["Conflict", "ok"]
    s.refresh_from_db()
    assert s.support_count == 1


def test_the_late_answer_check_is_scheduled() -> None:
    from civitas.kit import scheduler

    job = scheduler.job("participation.suggestions_overdue")
    assert job is not None and job.target == "civitas.participation.suggestions.flag_overdue"
