"""Every move of the transition table: allowed from each source status for the right party,
refused from every other status (409) and for the wrong party (403); and the behaviours the
table stands for (returns, arbitration, first receiver, extension, suspension, whistle,
reopening, duplicates)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from civitas.appeals import deadlines, intake, services
from civitas.appeals import workflow as wf
from civitas.appeals.models import (
    Appeal,
    Assignment,
    Event,
    Request,
    Status,
    Summons,
)
from civitas.appeals.parties import parties_of
from civitas.kit import audit, clock, outbox
from civitas.kit.errors import Conflict, Forbidden
from civitas.kit.models import AuditEntry, CalendarDay, OutboxMessage
from civitas.kit.outbox import MemoryAdapter
from tests.appeals.conftest import fresh, submit

S = Status
ALL_PARTIES = frozenset(
    {
        wf.CENTRE,
        wf.OPERATOR,
        wf.LEAD,
        wf.LEADER,
        wf.CO,
        wf.SUMMONED,
        wf.RESIDENT,
        wf.SYSTEM,
        wf.APP,
    }
)
ZONE = ZoneInfo(settings.TIME_ZONE)


def atomic(fn: Callable[..., Any], /, **kw: Any) -> Any:
    with transaction.atomic():
        return fn(**kw)


# -- bringing a case to each status through the real services ---------------------------------


def bring(c: dict[str, Any], status: str) -> Appeal:
    """A case in ``status``, reached the way people reach it."""
    if status == S.RECEIVED:
        data = intake.AppealIn(
            city="T",
            text="The lift in building 3 is broken again",
            lat=0.5,
            lon=0.5,
            contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
        )
        return atomic(
            intake.submit,
            actor=c["resident"],
            data=data,
            resident=c["resident"],
            dispatch_now=False,
        ).appeal
    if status == S.TRIAGE:
        a = submit(c, lat=None, lon=None).appeal  # no place: the centre must locate it
        assert a.status == S.TRIAGE
        return a
    a = submit(c).appeal
    assert a.status == S.DISPATCHED
    if status == S.DISPATCHED:
        return a
    if status == S.RETURNED:
        return atomic(services.return_case, actor=c["handler"], appeal=a, reason="not ours")
    a = atomic(services.accept, actor=c["handler"], appeal=a)
    if status == S.ACCEPTED:
        return a
    if status == S.WAITING_RESIDENT:
        return atomic(services.request_info, actor=c["handler"], appeal=a, question="Which floor?")
    if status == S.SUSPENDED:
        atomic(services.request_suspension, actor=c["handler"], appeal=a, reason="court case")
        req = a.requests.get()
        return atomic(
            services.decide_request, actor=c["leader"], appeal=a, request=req, approve=True
        )
    a = atomic(services.resolve, actor=c["handler"], appeal=a, result="Repaired")
    if status == S.RESOLVED:
        return a
    if status == S.CLOSED:
        return _rate(c, a, "satisfied")
    if status == S.REVIEW:
        with override_settings(CIVITAS_DISSATISFIED="review"):
            return _rate(c, a, "dissatisfied")
    raise AssertionError(status)


def _rate(c: dict[str, Any], a: Appeal, satisfaction: str, actor: Any = None) -> Appeal:
    return atomic(
        services.rate,
        actor=actor or c["resident"],
        appeal=a,
        responded=True,
        solved=satisfaction != "dissatisfied",
        satisfaction=satisfaction,
    )


# -- each action, performed by a given actor (with any setup it needs) ------------------------


def _system_move(action: str) -> Callable[[dict[str, Any], Appeal, Any], Appeal]:
    def move(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
        return atomic(
            wf.transition, appeal=a, action=action, actor=actor, parties=parties_of(actor, a)
        )

    return move


def _co_part(c: dict[str, Any], a: Appeal) -> None:
    Assignment.objects.create(
        appeal=a,
        unit=c["T-D2-housing"],
        role=Assignment.Role.CO,
        part="the water pump",
        dispatched_at=clock.now(),
    )


def _pending(c: dict[str, Any], a: Appeal, kind: str) -> Request:
    return Request.objects.create(
        appeal=a,
        kind=kind,
        unit=c["T-D1-housing"],
        reason="needs time",
        days=3,
        requested_by="test",
        requested_at=clock.now(),
    )


def _summons(c: dict[str, Any], a: Appeal) -> Summons:
    return Summons.objects.create(
        appeal=a,
        by_unit=a.lead_unit or c["centre"],
        unit=c["T-D2-housing"],
        summoned_at=clock.now(),
        due_at=clock.now() + timedelta(minutes=30),
    )


def _dispatch(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
    if a.jurisdiction_id is None:
        atomic(services.relocate, actor=c["dispatcher"], appeal=a, jurisdiction=c["T-D1-S1-C1"])
    return atomic(services.dispatch, actor=actor, appeal=a, unit=c["T-D1-housing"], reason="")


def _co_done(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
    _co_part(c, a)
    return atomic(services.co_done, actor=actor, appeal=a, unit=c["T-D2-housing"], note="done")


def _decide(kind: str) -> Callable[[dict[str, Any], Appeal, Any], Appeal]:
    def decide(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
        req = _pending(c, a, kind)
        return atomic(services.decide_request, actor=actor, appeal=a, request=req, approve=True)

    return decide


def _report(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
    s = _summons(c, a)
    return atomic(services.report_summons, actor=actor, appeal=a, summons=s, note="on site")


def _rate_as(satisfaction: str) -> Callable[[dict[str, Any], Appeal, Any], Appeal]:
    return lambda c, a, actor: _rate(c, a, satisfaction, actor)


def _rate_review(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
    with override_settings(CIVITAS_DISSATISFIED="review"):
        return _rate(c, a, "dissatisfied", actor)


def _duplicate(c: dict[str, Any], a: Appeal, actor: Any) -> Appeal:
    first = submit(c, "The lift in building 3 stopped this morning").appeal
    return atomic(services.mark_duplicate, actor=actor, appeal=a, of=first)


Perform = Callable[[dict[str, Any], Appeal, Any], Appeal]

# action -> (who may, how)
MOVES: dict[str, tuple[str, Perform]] = {
    "hold_for_triage": ("dispatcher", _system_move("hold_for_triage")),
    "dispatch": ("dispatcher", _dispatch),
    "redispatch": (
        "dispatcher",
        lambda c, a, actor: atomic(
            services.dispatch, actor=actor, appeal=a, unit=c["T-D1-S1-office"], reason="street"
        ),
    ),
    "accept": ("handler", lambda c, a, actor: atomic(services.accept, actor=actor, appeal=a)),
    "return": (
        "handler",
        lambda c, a, actor: atomic(services.return_case, actor=actor, appeal=a, reason="not ours"),
    ),
    "arbitrate": (
        "dispatcher",
        lambda c, a, actor: atomic(
            services.arbitrate, actor=actor, appeal=a, unit=c["T-D1-housing"], reason="yours"
        ),
    ),
    "add_co_handler": (
        "dispatcher",
        lambda c, a, actor: atomic(
            services.add_co_handler, actor=actor, appeal=a, unit=c["T-D2-housing"], part="pump"
        ),
    ),
    "co_done": ("other_handler", _co_done),
    "progress": (
        "handler",
        lambda c, a, actor: atomic(services.progress, actor=actor, appeal=a, note="parts ordered"),
    ),
    "internal_note": (
        "dispatcher",
        lambda c, a, actor: atomic(services.internal_note, actor=actor, appeal=a, note="call back"),
    ),
    "request_info": (
        "handler",
        lambda c, a, actor: atomic(services.request_info, actor=actor, appeal=a, question="Floor?"),
    ),
    "resident_info": (
        "resident",
        lambda c, a, actor: atomic(services.resident_info, actor=actor, appeal=a, answer="7th"),
    ),
    "reply": (
        "handler",
        lambda c, a, actor: atomic(services.reply, actor=actor, appeal=a, text="On our way"),
    ),
    "request_extension": (
        "handler",
        lambda c, a, actor: atomic(
            services.request_extension, actor=actor, appeal=a, days=3, reason="parts"
        ),
    ),
    "decide_extension": ("leader", _decide(Request.Kind.EXTENSION)),
    "request_suspension": (
        "handler",
        lambda c, a, actor: atomic(
            services.request_suspension, actor=actor, appeal=a, reason="court"
        ),
    ),
    "decide_suspension": ("leader", _decide(Request.Kind.SUSPENSION)),
    "suspend": ("system", _system_move("suspend")),
    "resume": ("handler", lambda c, a, actor: atomic(services.resume, actor=actor, appeal=a)),
    "whistle": (
        "handler",
        lambda c, a, actor: atomic(
            services.whistle, actor=actor, appeal=a, units=[c["T-D2-housing"]], note="come"
        ),
    ),
    "report_summons": ("other_handler", _report),
    "resolve": (
        "handler",
        lambda c, a, actor: atomic(services.resolve, actor=actor, appeal=a, result="Repaired"),
    ),
    "rate_closed": ("resident", _rate_as("satisfied")),
    "rate_reopen": ("resident", _rate_as("dissatisfied")),
    "rate_review": ("resident", _rate_review),
    "reopen": (
        "dispatcher",
        lambda c, a, actor: atomic(services.reopen, actor=actor, appeal=a, reason="not fixed"),
    ),
    "close_review": (
        "dispatcher",
        lambda c, a, actor: atomic(services.close_review, actor=actor, appeal=a, reason="fine"),
    ),
    "auto_close": ("system", _system_move("auto_close")),
    "escalate": (
        "dispatcher",
        lambda c, a, actor: atomic(services.escalate, actor=actor, appeal=a),
    ),
    "mark_duplicate": ("dispatcher", _duplicate),
    "relocate": (
        "dispatcher",
        lambda c, a, actor: atomic(
            services.relocate, actor=actor, appeal=a, jurisdiction=c["T-D1-S1-C2"]
        ),
    ),
    "reclassify": (
        "dispatcher",
        lambda c, a, actor: atomic(services.reclassify, actor=actor, appeal=a, matter=c["leaf"]),
    ),
    "comment": (
        "resident",
        lambda c, a, actor: atomic(services.comment, actor=actor, appeal=a, note="It got worse"),
    ),
}

# action -> people who must be refused (the co-handler of T-D2 exists on every case here)
WRONG: dict[str, tuple[str, ...]] = {
    "hold_for_triage": ("handler",),
    "dispatch": ("handler", "resident"),
    "redispatch": ("handler",),
    "accept": ("resident", "other_handler", "street_handler"),
    "return": ("street_handler", "other_handler"),
    "arbitrate": ("handler",),
    "add_co_handler": ("resident", "street_handler"),
    "co_done": ("handler",),
    "progress": ("resident", "street_handler"),
    "internal_note": ("resident",),
    "request_info": ("other_handler",),
    "resident_info": ("handler",),
    "reply": ("other_handler",),
    "request_extension": ("other_handler",),
    "decide_extension": ("handler",),
    "request_suspension": ("other_handler",),
    "decide_suspension": ("handler",),
    "suspend": ("leader",),
    "resume": ("resident",),
    "whistle": ("other_handler",),
    "report_summons": ("handler",),
    "resolve": ("other_handler", "street_handler", "resident"),
    "rate_closed": ("handler",),
    "rate_reopen": ("handler",),
    "rate_review": ("handler",),
    "reopen": ("handler",),
    "close_review": ("handler",),
    "auto_close": ("resident",),
    "escalate": ("handler",),
    "mark_duplicate": ("handler",),
    "relocate": ("handler",),
    "reclassify": ("handler",),
    "comment": ("other_handler", "handler"),
}


def _who(c: dict[str, Any], key: str) -> Any:
    return "system" if key == "system" else c[key]


ALLOWED = [(name, src) for name, move in wf.TRANSITIONS.items() for src in move.sources]
WRONG_CASES = [(name, who) for name, people in WRONG.items() for who in people]


def test_every_action_of_the_table_is_covered_here() -> None:
    assert set(MOVES) == set(wf.TRANSITIONS) == set(WRONG)


@pytest.mark.django_db
class TestAllowedMoves:
    @pytest.mark.parametrize(("action", "source"), ALLOWED, ids=[f"{a}-{s}" for a, s in ALLOWED])
    def test_the_right_party_may_move_from_each_source(
        self, case_city: dict[str, Any], action: str, source: str
    ) -> None:
        c = case_city
        a = bring(c, source)
        assert fresh(a).status == source
        entries = AuditEntry.objects.filter(action=f"appeal.{action}").count()
        who, perform = MOVES[action]
        perform(c, fresh(a), _who(c, who))
        event = Event.objects.filter(appeal=a, action=action).latest("id")
        target = wf.TRANSITIONS[action].target
        assert event.from_status == source
        assert event.to_status == (target or source)
        assert event.public == wf.TRANSITIONS[action].public
        assert AuditEntry.objects.filter(action=f"appeal.{action}").count() == entries + 1
        assert audit.verify().ok


@pytest.mark.django_db
class TestRefusedFromOtherStatuses:
    @pytest.mark.parametrize("status", list(S.values))
    def test_every_action_not_allowed_from_the_status_is_illegal(
        self, case_city: dict[str, Any], status: str
    ) -> None:
        a = bring(case_city, status)
        refused = [n for n, m in wf.TRANSITIONS.items() if status not in m.sources]
        assert refused or status == S.RECEIVED
        events = Event.objects.filter(appeal=a).count()
        for name in refused:
            with pytest.raises(wf.IllegalMove) as exc, transaction.atomic():
                wf.transition(appeal=fresh(a), action=name, actor="test", parties=ALL_PARTIES)
            assert exc.value.status == 409 and exc.value.details["action"] == name
        assert Event.objects.filter(appeal=a).count() == events
        assert fresh(a).status == status

    def test_a_real_service_says_so_too(self, case_city: dict[str, Any]) -> None:
        a = bring(case_city, S.RESOLVED)
        with pytest.raises(wf.IllegalMove, match="cannot accept"):
            atomic(services.accept, actor=case_city["handler"], appeal=a)


@pytest.mark.django_db
class TestRefusedForTheWrongParty:
    @pytest.mark.parametrize(
        ("action", "who"), WRONG_CASES, ids=[f"{a}-{w}" for a, w in WRONG_CASES]
    )
    def test_the_wrong_party_is_forbidden(
        self, case_city: dict[str, Any], action: str, who: str
    ) -> None:
        c = case_city
        a = bring(c, wf.TRANSITIONS[action].sources[0])
        _co_part(c, a)  # T-D2's handler co-handles every case here
        before = fresh(a)
        with pytest.raises(Forbidden) as exc:
            MOVES[action][1](c, fresh(a), _who(c, who))
        assert exc.value.status == 403
        after = fresh(a)
        assert (after.status, after.version) == (before.status, before.version)


def _at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ZONE)


@pytest.mark.django_db
class TestReturnWindow:
    def test_a_unit_may_return_within_the_window_only(self, case_city: dict[str, Any]) -> None:
        c = case_city
        t0 = _at(2026, 3, 2)
        with clock.frozen(t0):
            early, late = submit(c).appeal, submit(c, "Lift stuck between floors").appeal
        with clock.frozen(t0 + timedelta(hours=23)):
            atomic(services.return_case, actor=c["handler"], appeal=early, reason="not ours")
        with clock.frozen(t0 + timedelta(hours=25)), pytest.raises(Conflict) as exc:
            atomic(services.return_case, actor=c["handler"], appeal=late, reason="not ours")
        assert exc.value.code == "return_window_closed"
        assert (fresh(early).status, fresh(late).status) == (S.RETURNED, S.DISPATCHED)


@pytest.mark.django_db
class TestArbitrationBinds:
    def test_an_arbitrated_case_can_no_longer_be_returned(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = bring(c, S.RETURNED)
        atomic(
            services.arbitrate,
            actor=c["dispatcher"],
            appeal=a,
            unit=c["T-D1-housing"],
            reason="the list says so",
        )
        case = fresh(a)
        assert case.arbitrated and case.status == S.DISPATCHED
        assert services.lead_assignment(case).binding  # type: ignore[union-attr]
        for status in (S.DISPATCHED, S.ACCEPTED):
            if status == S.ACCEPTED:
                atomic(services.accept, actor=c["handler"], appeal=fresh(a))
            with pytest.raises(Conflict) as exc:
                atomic(services.return_case, actor=c["handler"], appeal=fresh(a), reason="again")
            assert exc.value.code == "arbitrated"

    def test_the_ruling_survives_a_reopening(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = bring(c, S.RETURNED)
        atomic(
            services.arbitrate,
            actor=c["dispatcher"],
            appeal=a,
            unit=c["T-D1-housing"],
            reason="yours",
        )
        atomic(services.accept, actor=c["handler"], appeal=fresh(a))
        atomic(services.resolve, actor=c["handler"], appeal=fresh(a), result="done")
        _rate(c, fresh(a), "dissatisfied")
        with pytest.raises(Conflict):
            atomic(services.return_case, actor=c["handler"], appeal=fresh(a), reason="again")


@pytest.mark.django_db
class TestFirstReceiver:
    def test_the_lead_stays_after_a_return_until_reassigned(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = bring(c, S.RETURNED)
        case = fresh(a)
        assert case.lead_unit == c["T-D1-housing"] == case.first_unit
        assert case.return_count == 1
        assert parties_of(c["handler"], case) >= {wf.LEAD}
        # still the lead: the unit keeps the case on its desk and may note on it
        atomic(services.internal_note, actor=c["handler"], appeal=case, note="waiting for centre")
        atomic(
            services.arbitrate,
            actor=c["dispatcher"],
            appeal=fresh(a),
            unit=c["T-D2-housing"],
            reason="river side",
        )
        case = fresh(a)
        assert case.lead_unit == c["T-D2-housing"] and case.first_unit == c["T-D1-housing"]

    def test_a_redispatch_reassigns_formally(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = bring(c, S.RETURNED)
        atomic(
            services.dispatch,
            actor=c["dispatcher"],
            appeal=a,
            unit=c["T-D1-S1-office"],
            reason="street matter",
        )
        case = fresh(a)
        assert case.lead_unit == c["T-D1-S1-office"] and case.first_unit == c["T-D1-housing"]
        states = dict(case.assignments.values_list("unit__code", "state"))
        assert states == {"T-D1-HOUSING": "withdrawn", "T-D1-S1-OFFICE": "dispatched"}


@pytest.mark.django_db
class TestExtension:
    def test_an_approved_extension_moves_the_deadline_by_working_days(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = bring(c, S.ACCEPTED)
        Appeal.objects.filter(pk=a.pk).update(resolve_due=_at(2026, 3, 9))  # a Monday
        CalendarDay.objects.create(calendar="T", day=_at(2026, 3, 11).date(), kind="holiday")
        from civitas.kit import calendar

        calendar.invalidate("T")
        atomic(
            services.request_extension,
            actor=c["handler"],
            appeal=fresh(a),
            days=5,
            reason="parts from abroad",
        )
        assert fresh(a).resolve_due == _at(2026, 3, 9)  # nothing moves before approval
        atomic(
            services.decide_request,
            actor=c["leader"],
            appeal=fresh(a),
            request=a.requests.get(),
            approve=True,
        )
        # Tue 10, (Wed 11 holiday), Thu 12, Fri 13, (weekend), Mon 16, Tue 17
        assert fresh(a).resolve_due == _at(2026, 3, 17)

    def test_a_refused_extension_changes_nothing_and_needs_a_reason(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = bring(c, S.ACCEPTED)
        due = fresh(a).resolve_due
        atomic(services.request_extension, actor=c["handler"], appeal=a, days=5, reason="x")
        req = a.requests.get()
        from civitas.kit.errors import InvalidInput

        with pytest.raises(InvalidInput):
            atomic(
                services.decide_request,
                actor=c["leader"],
                appeal=fresh(a),
                request=req,
                approve=False,
            )
        atomic(
            services.decide_request,
            actor=c["leader"],
            appeal=fresh(a),
            request=req,
            approve=False,
            note="do it now",
        )
        assert fresh(a).resolve_due == due and a.requests.get().state == "refused"


@pytest.mark.django_db
class TestSuspension:
    def test_the_clock_stops_while_suspended(self, case_city: dict[str, Any]) -> None:
        c = case_city
        t0 = _at(2026, 3, 2)
        with clock.frozen(t0):
            a = bring(c, S.SUSPENDED)
        due = fresh(a).resolve_due
        assert fresh(a).status == S.SUSPENDED
        with clock.frozen(t0 + timedelta(days=3, hours=2)):
            atomic(services.resume, actor=c["handler"], appeal=fresh(a))
        case = fresh(a)
        assert case.status == S.ACCEPTED
        assert case.resolve_due == due + timedelta(days=3, hours=2)
        assert case.events.get(action="resume").data["paused_hours"] == 74.0


@pytest.mark.django_db
class TestWhistle:
    def test_two_departments_summoned_one_reports_late(self, case_city: dict[str, Any]) -> None:
        c = case_city
        t0 = _at(2026, 3, 2)
        with clock.frozen(t0):
            a = bring(c, S.ACCEPTED)
            atomic(
                services.whistle,
                actor=c["handler"],
                appeal=fresh(a),
                units=[c["T-D2-housing"], c["T-D1-S1-office"]],
                note="flooded basement",
            )
        on_time = a.summonses.get(unit=c["T-D2-housing"])
        late = a.summonses.get(unit=c["T-D1-S1-office"])
        assert on_time.due_at == t0 + timedelta(minutes=30)
        with clock.frozen(t0 + timedelta(minutes=12)):
            atomic(
                services.report_summons,
                actor=c["other_handler"],
                appeal=fresh(a),
                summons=on_time,
                note="arrived",
            )
        with clock.frozen(t0 + timedelta(minutes=47)):
            atomic(
                services.report_summons,
                actor=c["street_handler"],
                appeal=fresh(a),
                summons=late,
                note="arrived",
            )
        on_time.refresh_from_db()
        late.refresh_from_db()
        assert not on_time.late and late.late
        assert late.reported_at == t0 + timedelta(minutes=47)
        flags = [e.data["late"] for e in a.events.filter(action="report_summons").order_by("id")]
        assert flags == [False, True]
        with pytest.raises(Conflict):
            atomic(
                services.report_summons, actor=c["street_handler"], appeal=fresh(a), summons=late
            )


@pytest.mark.django_db
class TestDissatisfiedReopens:
    def test_reopened_with_new_deadlines(self, case_city: dict[str, Any]) -> None:
        c = case_city
        t0 = _at(2026, 3, 2)
        with clock.frozen(t0):
            a = bring(c, S.RESOLVED)
        t1 = t0 + timedelta(days=4)
        with clock.frozen(t1):
            _rate(c, fresh(a), "dissatisfied")
        case = fresh(a)
        assert case.status == S.DISPATCHED and case.reopen_count == 1
        assert case.resolved_at is None and case.dispatched_at == t1
        assert case.respond_due == deadlines.due(case, t1, "respond")
        assert case.resolve_due == deadlines.due(case, t1, "resolve") > t1 + timedelta(days=14)
        lead = services.lead_assignment(case)
        assert lead is not None and lead.state == "dispatched" and lead.dispatched_at == t1
        atomic(services.accept, actor=c["handler"], appeal=case)
        atomic(services.resolve, actor=c["handler"], appeal=fresh(a), result="Really fixed")
        _rate(c, fresh(a), "satisfied")
        assert list(case.ratings.values_list("round", "satisfaction")) == [
            (1, "dissatisfied"),
            (2, "satisfied"),
        ]
        assert fresh(a).status == S.CLOSED

    def test_review_instead_when_the_city_says_so(self, case_city: dict[str, Any]) -> None:
        a = bring(case_city, S.REVIEW)
        assert fresh(a).reopen_count == 0
        atomic(services.reopen, actor=case_city["dispatcher"], appeal=fresh(a), reason="redo")
        assert fresh(a).reopen_count == 1 and fresh(a).status == S.DISPATCHED


@pytest.mark.django_db
class TestDuplicates:
    def _pair(self, c: dict[str, Any]) -> tuple[Appeal, Appeal]:
        first = submit(c).appeal
        data = intake.AppealIn(
            city="T",
            text="Lift in building 3 broken, my grandmother cannot get out",
            lat=0.5001,
            lon=0.5001,
            contact=intake.ContactIn(name="Han Meimei", phone="13900000000", email="h@example.org"),
        )
        second = atomic(intake.submit, actor="test", data=data).appeal
        assert second.duplicate_candidate == first  # proposed by triage, not decided
        return first, second

    def test_marking_links_and_closes_the_follower(self, case_city: dict[str, Any]) -> None:
        first, second = self._pair(case_city)
        atomic(services.mark_duplicate, actor=case_city["dispatcher"], appeal=second, of=first)
        case = fresh(second)
        assert case.duplicate_of == first and case.status == S.CLOSED
        assert list(first.duplicates.all()) == [case]

    def test_both_residents_hear_when_the_case_moves(
        self, case_city: dict[str, Any], settings: Any
    ) -> None:
        settings.CIVITAS_NOTIFY_ADAPTERS = {
            "sms": "civitas.kit.outbox.MemoryAdapter",
            "email": "civitas.kit.outbox.MemoryAdapter",
        }
        c = case_city
        first, second = self._pair(c)
        atomic(services.mark_duplicate, actor=c["dispatcher"], appeal=second, of=first)
        OutboxMessage.objects.all().delete()
        MemoryAdapter.sent.clear()
        atomic(services.accept, actor=c["handler"], appeal=fresh(first))
        topics = set(OutboxMessage.objects.values_list("topic", flat=True))
        assert topics == {f"appeal:{first.pk}"}
        outbox.deliver_pending()
        got = {(m["channel"], m["recipient"]) for m in MemoryAdapter.sent}
        assert got == {("sms", "13800000000"), ("sms", "13900000000"), ("email", "h@example.org")}
        assert all(
            first.ticket in m["subject"] or second.ticket in m["subject"]
            for m in MemoryAdapter.sent
        )
        MemoryAdapter.sent.clear()

    def test_internal_moves_tell_nobody(self, case_city: dict[str, Any]) -> None:
        c = case_city
        first, second = self._pair(c)
        atomic(services.mark_duplicate, actor=c["dispatcher"], appeal=second, of=first)
        n = OutboxMessage.objects.count()
        atomic(services.internal_note, actor=c["handler"], appeal=fresh(first), note="hm")
        assert OutboxMessage.objects.count() == n


# -- checks made on the locked case, and acting only for one's own unit ------------------------


def _handle_key(unit: Any) -> Any:
    from civitas.org import services as org_services

    with transaction.atomic():
        key, _clear = org_services.create_api_key(
            actor="test", name=f"{unit.code} app", scopes=["appeals:handle"], unit=unit
        )
    return key


@pytest.mark.django_db
class TestChecksOnTheLockedCase:
    """What another transaction committed between a caller's look at the case and the row
    lock is seen by the checks (the meanwhile work runs just before the lock is taken)."""

    def _meanwhile(self, monkeypatch: Any, actor: Any, work: Callable[[], None]) -> None:
        real = services._move

        def racing(who: Any, appeal: Appeal, action: str, **kw: Any) -> Appeal:
            if who is actor and action == "return":
                monkeypatch.setattr(services, "_move", real)
                with transaction.atomic():
                    work()
            return real(who, appeal, action, **kw)

        monkeypatch.setattr(services, "_move", racing)

    def test_a_ruling_that_lands_first_refuses_the_return(
        self, case_city: dict[str, Any], monkeypatch: Any
    ) -> None:
        c = case_city
        a = submit(c).appeal
        seen = fresh(a)  # the handler's page: dispatched to the unit, window open

        def return_and_rule() -> None:
            services.return_case(actor=c["leader"], appeal=fresh(a), reason="not ours")
            services.arbitrate(
                actor=c["dispatcher"], appeal=fresh(a), unit=c["T-D1-housing"], reason="yours"
            )

        self._meanwhile(monkeypatch, c["handler"], return_and_rule)
        # No savepoint of the test's own: what landed meanwhile stays to be checked.
        with pytest.raises(Conflict) as exc:
            services.return_case(actor=c["handler"], appeal=seen, reason="still not ours")
        assert exc.value.code == "arbitrated"
        case = fresh(a)
        assert (case.status, case.return_count, case.arbitrated) == (S.DISPATCHED, 1, True)
        lead = services.lead_assignment(case)
        assert lead is not None and lead.binding and lead.state == Assignment.State.DISPATCHED

    def test_a_reassignment_that_lands_first_refuses_the_return(
        self, case_city: dict[str, Any], monkeypatch: Any
    ) -> None:
        c = case_city
        a = submit(c).appeal
        seen = fresh(a)

        def redispatch() -> None:
            services.dispatch(
                actor=c["dispatcher"], appeal=fresh(a), unit=c["T-D2-housing"], reason="theirs"
            )

        self._meanwhile(monkeypatch, c["handler"], redispatch)
        with pytest.raises(wf.StaleCase):
            services.return_case(actor=c["handler"], appeal=seen, reason="not ours")
        case = fresh(a)
        assert (case.status, case.lead_unit, case.return_count) == (
            S.DISPATCHED,
            c["T-D2-housing"],
            0,
        )
        assert services.lead_assignment(case).state == Assignment.State.DISPATCHED  # type: ignore[union-attr]

    def test_the_window_is_read_on_the_locked_case(self, case_city: dict[str, Any]) -> None:
        c = case_city
        t0 = _at(2026, 3, 2)
        with clock.frozen(t0):
            a = submit(c).appeal
        with clock.frozen(t0 + timedelta(hours=30)), pytest.raises(Conflict) as exc:
            atomic(services.return_case, actor=c["handler"], appeal=a, reason="not ours")
        assert exc.value.code == "return_window_closed"
        assert "ask the centre to reassign it" in exc.value.message


@pytest.mark.django_db
class TestActingForOnesOwnUnit:
    """``co_done`` and ``report_summons`` called directly are as strict as the API: a person
    (or API key) acts only for a unit they work for, even when they are a co-handler or a
    summoned department of the case through another unit."""

    def _two_co_parts(self, c: dict[str, Any]) -> Appeal:
        a = bring(c, S.ACCEPTED)
        for unit in (c["T-D2-housing"], c["T-D1-S1-office"]):
            Assignment.objects.create(
                appeal=a, unit=unit, role=Assignment.Role.CO, part="pump", dispatched_at=clock.now()
            )
        return a

    def _open_parts(self, a: Appeal) -> set[str]:
        return set(
            Assignment.objects.filter(
                appeal=a, role=Assignment.Role.CO, state=Assignment.State.DISPATCHED
            ).values_list("unit__code", flat=True)
        )

    def test_a_person_reports_only_their_own_units_part(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = self._two_co_parts(c)
        version = fresh(a).version
        with pytest.raises(Forbidden) as exc:
            atomic(
                services.co_done,
                actor=c["other_handler"],  # a co-handler, but of T-D2, not of the office
                appeal=fresh(a),
                unit=c["T-D1-S1-office"],
                note="done for them",
            )
        assert "T-D1-S1-OFFICE" in exc.value.message.upper()
        assert fresh(a).version == version
        assert self._open_parts(a) == {"T-D2-HOUSING", "T-D1-S1-OFFICE"}
        atomic(
            services.co_done,
            actor=c["street_handler"],
            appeal=fresh(a),
            unit=c["T-D1-S1-office"],
            note="done",
        )
        assert self._open_parts(a) == {"T-D2-HOUSING"}

    def test_an_api_key_reports_only_its_units_part(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = self._two_co_parts(c)
        key = _handle_key(c["T-D2-housing"])
        with pytest.raises(Forbidden):
            atomic(services.co_done, actor=key, appeal=fresh(a), unit=c["T-D1-S1-office"], note="x")
        atomic(services.co_done, actor=key, appeal=fresh(a), unit=c["T-D2-housing"], note="ok")
        assert self._open_parts(a) == {"T-D1-S1-OFFICE"}

    def test_a_department_reports_only_to_its_own_summons(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = bring(c, S.ACCEPTED)
        atomic(
            services.whistle,
            actor=c["handler"],
            appeal=fresh(a),
            units=[c["T-D2-housing"], c["T-D1-S1-office"]],
            note="flooded basement",
        )
        theirs = a.summonses.get(unit=c["T-D2-housing"])
        mine = a.summonses.get(unit=c["T-D1-S1-office"])
        for actor in (c["street_handler"], _handle_key(c["T-D1-S1-office"])):
            with pytest.raises(Forbidden):
                atomic(
                    services.report_summons,
                    actor=actor,  # summoned too, but for the office, not for T-D2
                    appeal=fresh(a),
                    summons=theirs,
                    note="here",
                )
        theirs.refresh_from_db()
        assert theirs.reported_at is None
        key = _handle_key(c["T-D1-S1-office"])
        atomic(services.report_summons, actor=key, appeal=fresh(a), summons=mine, note="here")
        atomic(
            services.report_summons,
            actor=c["other_handler"],
            appeal=fresh(a),
            summons=theirs,
            note="here",
        )
        assert not a.summonses.filter(reported_at__isnull=True).exists()

    def test_a_second_report_is_refused_under_the_lock(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = bring(c, S.ACCEPTED)
        atomic(
            services.whistle,
            actor=c["handler"],
            appeal=fresh(a),
            units=[c["T-D2-housing"]],
            note="smell of gas",
        )
        stale = a.summonses.get()  # loaded before the first report
        atomic(services.report_summons, actor=c["other_handler"], appeal=fresh(a), summons=stale)
        with pytest.raises(Conflict, match="already reported"):
            atomic(
                services.report_summons, actor=c["other_handler"], appeal=fresh(a), summons=stale
            )
        assert fresh(a).events.filter(action="report_summons").count() == 1
