"""Background work on cases: 督办 of overdue cases, warnings, late summonses, auto-closing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services, tasks
from civitas.appeals.models import Appeal, Event, Request, Status, Summons
from civitas.kit import clock, outbox, scheduler
from civitas.kit import tasks as kit_tasks
from civitas.kit.errors import Conflict, Forbidden
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Unit, User
from tests.appeals.conftest import fresh, submit

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
HOUR = timedelta(hours=1)


@pytest.fixture
def people(case_city: dict[str, Any]) -> dict[str, Any]:
    """Contacts: the district dispatcher and the handler by e-mail, the leader by phone."""
    c = case_city
    User.objects.filter(pk=c["d1_dispatcher"].pk).update(email="d1@centre.test")
    User.objects.filter(pk=c["dispatcher"].pk).update(email="city@centre.test")
    User.objects.filter(pk=c["handler"].pk).update(email="handler@housing.test")
    User.objects.filter(pk=c["leader"].pk).update(phone="13900000001")
    User.objects.filter(pk=c["street_handler"].pk).update(email="street@office.test")
    return c


def urgent_case(c: dict[str, Any], at: datetime = T0, **kw: Any) -> Appeal:
    """An urgent case (24 hours to resolve) dispatched to District 1 Housing at ``at``."""
    with clock.frozen(at):
        a = submit(c, urgency="urgent", **kw).appeal
    assert a.lead_unit.code == "T-D1-HOUSING" and a.resolve_due == at + 24 * HOUR
    return a


def messages(topic_prefix: str) -> list[tuple[str, str]]:
    return sorted(
        OutboxMessage.objects.filter(topic__startswith=topic_prefix).values_list(
            "channel", "recipient"
        )
    )


def check(at: datetime) -> dict[str, int]:
    with clock.frozen(at):
        return tasks.check_deadlines()


@pytest.mark.django_db
class TestEscalation:
    def test_an_overdue_case_is_escalated_once_and_the_supervisors_told(
        self, people: dict[str, Any]
    ) -> None:
        a = urgent_case(people)
        assert check(T0 + 23 * HOUR)["escalated"] == 0
        assert check(T0 + 24 * HOUR + timedelta(minutes=1))["escalated"] == 1
        case = fresh(a)
        assert case.escalated_at == T0 + 24 * HOUR + timedelta(minutes=1)
        assert case.status == Status.DISPATCHED  # supervision does not move the case
        event = Event.objects.get(appeal=a, action="escalate")
        assert event.actor == "system" and event.unit.code == "T-D1-CENTRE"
        assert not event.public
        assert AuditEntry.objects.filter(action="appeal.escalate", object_id=a.ticket).count() == 1
        # the centre above the lead unit (District 1's) and the lead unit's leader
        assert messages(f"overdue:{a.pk}") == [("email", "d1@centre.test"), ("sms", "13900000001")]
        subject = OutboxMessage.objects.filter(topic=f"overdue:{a.pk}").first()
        assert subject is not None and "督办" in subject.subject

    def test_running_again_changes_and_sends_nothing(self, people: dict[str, Any]) -> None:
        a = urgent_case(people)
        later = T0 + 25 * HOUR
        check(later)
        before = (OutboxMessage.objects.count(), Event.objects.filter(appeal=a).count())
        assert check(later + HOUR) == {"escalated": 0, "warned": 0, "summons_late": 0}
        assert check(later + 48 * HOUR)["escalated"] == 0
        assert (OutboxMessage.objects.count(), Event.objects.filter(appeal=a).count()) == before

    def test_cases_in_time_or_suspended_are_left_alone(self, people: dict[str, Any]) -> None:
        c = people
        a = urgent_case(c)
        with clock.frozen(T0 + HOUR):
            with transaction.atomic():
                services.accept(actor=c["handler"], appeal=a)
            with transaction.atomic():
                services.request_suspension(actor=c["handler"], appeal=fresh(a), reason="court")
            req = Request.objects.get(appeal=a)
            with transaction.atomic():
                services.decide_request(
                    actor=c["leader"], appeal=fresh(a), request=req, approve=True
                )
        assert fresh(a).status == Status.SUSPENDED
        assert check(T0 + 30 * HOUR)["escalated"] == 0
        assert fresh(a).escalated_at is None

    def test_resolved_cases_are_not_escalated(self, people: dict[str, Any]) -> None:
        c = people
        a = urgent_case(c)
        with clock.frozen(T0 + HOUR):
            with transaction.atomic():
                services.accept(actor=c["handler"], appeal=a)
            with transaction.atomic():
                services.resolve(actor=c["handler"], appeal=fresh(a), result="Fixed")
        assert check(T0 + 30 * HOUR)["escalated"] == 0

    def test_replayed_history_is_not_escalated(self, people: dict[str, Any]) -> None:
        a = urgent_case(people, channel="replay")
        assert check(T0 + 30 * HOUR) == {"escalated": 0, "warned": 0, "summons_late": 0}
        assert fresh(a).escalated_at is None

    def test_the_duty_phone_when_nobody_can_be_reached(self, case_city: dict[str, Any]) -> None:
        Unit.objects.filter(code="T-D1-CENTRE").update(phone="0731-12345")
        a = urgent_case(case_city)
        check(T0 + 25 * HOUR)
        assert messages(f"overdue:{a.pk}") == [("sms", "0731-12345")]

    def test_a_centre_is_supervised_by_the_centre_above(self, case_city: dict[str, Any]) -> None:
        a = urgent_case(case_city)
        assert tasks.supervising_centre(a).code == "T-D1-CENTRE"  # type: ignore[union-attr]
        a.lead_unit = case_city["T-D1-centre"]
        assert tasks.supervising_centre(a).code == "T-CENTRE"  # type: ignore[union-attr]
        a.lead_unit = case_city["centre"]
        assert tasks.supervising_centre(a) is None


@pytest.mark.django_db
class TestWarnings:
    def test_yellow_warns_the_handlers_once(self, people: dict[str, Any], settings: Any) -> None:
        settings.CIVITAS_WARN_SHARE = 0.8
        a = urgent_case(people)
        assert check(T0 + 19 * HOUR)["warned"] == 0  # still green
        assert check(T0 + 20 * HOUR)["warned"] == 1
        assert check(T0 + 21 * HOUR)["warned"] == 0
        assert messages("warn:") == [("email", "handler@housing.test")]
        assert OutboxMessage.objects.get(topic__startswith="warn:").topic.startswith(
            f"warn:{a.pk}:"
        )

    def test_a_new_deadline_may_warn_again(self, people: dict[str, Any]) -> None:
        c = people
        a = urgent_case(c)
        check(T0 + 20 * HOUR)
        with clock.frozen(T0 + 20 * HOUR):
            with transaction.atomic():
                services.accept(actor=c["handler"], appeal=a)
            with transaction.atomic():
                services.request_extension(actor=c["handler"], appeal=fresh(a), days=1, reason="x")
            req = Request.objects.get(appeal=a)
            with transaction.atomic():
                services.decide_request(
                    actor=c["leader"], appeal=fresh(a), request=req, approve=True
                )
        new_due = fresh(a).resolve_due
        assert new_due is not None and new_due > T0 + 24 * HOUR
        assert check(new_due - HOUR)["warned"] == 1
        assert len(messages("warn:")) == 2


@pytest.mark.django_db
class TestSummonses:
    def test_the_summoning_unit_hears_of_a_late_department_once(
        self, people: dict[str, Any]
    ) -> None:
        c = people
        a = urgent_case(c)
        with clock.frozen(T0 + HOUR), transaction.atomic():
            services.whistle(
                actor=c["handler"],
                appeal=a,
                units=[c["T-D1-S1-office"], c["T-D2-housing"]],
                note="Come and see the lift",
                minutes=30,
            )
        on_time = Summons.objects.get(appeal=a, unit=c["T-D1-S1-office"])
        with clock.frozen(T0 + HOUR + timedelta(minutes=20)), transaction.atomic():
            services.report_summons(actor=c["street_handler"], appeal=fresh(a), summons=on_time)
        assert check(T0 + HOUR + timedelta(minutes=29))["summons_late"] == 0
        assert check(T0 + HOUR + timedelta(minutes=31))["summons_late"] == 1
        assert check(T0 + HOUR + timedelta(minutes=40))["summons_late"] == 0
        late = Summons.objects.get(appeal=a, unit=c["T-D2-housing"])
        # the handlers and the leader of District 1 Housing, which blew the whistle
        assert messages(f"summons-late:{late.pk}") == [
            ("email", "handler@housing.test"),
            ("sms", "13900000001"),
        ]
        assert not OutboxMessage.objects.filter(topic=f"summons-late:{on_time.pk}").exists()


def resolved_case(c: dict[str, Any], at: datetime) -> Appeal:
    a = urgent_case(c, at=at)
    with clock.frozen(at + HOUR):
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        with transaction.atomic():
            services.resolve(actor=c["handler"], appeal=fresh(a), result="Fixed")
    return fresh(a)


@pytest.mark.django_db
class TestAutoClose:
    def test_unrated_cases_close_after_the_configured_days(
        self, case_city: dict[str, Any], settings: Any
    ) -> None:
        settings.CIVITAS_AUTO_CLOSE_DAYS = 7
        a = resolved_case(case_city, T0)
        resolved = T0 + HOUR
        with clock.frozen(resolved + timedelta(days=7) - timedelta(minutes=1)):
            assert tasks.auto_close_due() == {"closed": 0}
        at = resolved + timedelta(days=7)
        with clock.frozen(at):
            assert tasks.auto_close_due() == {"closed": 1}
            assert tasks.auto_close_due() == {"closed": 0}
        case = fresh(a)
        assert case.status == Status.CLOSED and case.closed_at == at
        event = Event.objects.get(appeal=a, action="auto_close")
        assert event.actor == "system" and event.public

    def test_rated_cases_are_not_touched(self, case_city: dict[str, Any]) -> None:
        c = case_city
        a = resolved_case(c, T0)
        with clock.frozen(T0 + 2 * HOUR), transaction.atomic():
            services.rate(
                actor=c["resident"],
                appeal=a,
                responded=True,
                solved=True,
                satisfaction="dissatisfied",
            )
        assert fresh(a).status == Status.DISPATCHED  # reopened
        with clock.frozen(T0 + timedelta(days=30)):
            assert tasks.auto_close_due() == {"closed": 0}

    def test_the_service_refuses_too_early_and_non_system_actors(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        a = resolved_case(c, T0)
        with (
            clock.frozen(T0 + timedelta(days=2)),
            pytest.raises(Conflict, match="may still rate"),
            transaction.atomic(),
        ):
            tasks.auto_close(actor="system", appeal=a)
        with clock.frozen(T0 + timedelta(days=20)):
            with pytest.raises(Forbidden), transaction.atomic():
                tasks.auto_close(actor=c["dispatcher"], appeal=a)
            with transaction.atomic():
                tasks.auto_close(actor="system", appeal=a, days=3)
        assert fresh(a).status == Status.CLOSED


@pytest.fixture
def appeal_jobs() -> Iterator[None]:
    """Only the deadline check and the outbox delivery are scheduled."""
    saved = dict(scheduler._registry)
    scheduler._registry.clear()
    scheduler._registry.update({k: saved[k] for k in ("appeals.deadlines", "kit.outbox")})
    outbox.MemoryAdapter.sent.clear()
    yield
    scheduler._registry.clear()
    scheduler._registry.update(saved)
    outbox.MemoryAdapter.sent.clear()


@pytest.mark.django_db
def test_the_worker_escalates_and_delivers(
    people: dict[str, Any], appeal_jobs: None, settings: Any
) -> None:
    """Through the scheduler and the database task queue, as `civitas worker` runs them."""
    settings.CIVITAS_NOTIFY_ADAPTERS = {
        "sms": "civitas.kit.outbox.MemoryAdapter",
        "email": "civitas.kit.outbox.MemoryAdapter",
    }
    a = urgent_case(people)
    now = T0 + 25 * HOUR
    for minute in range(2):
        with clock.frozen(now + timedelta(minutes=minute)):
            assert scheduler.tick() == ["appeals.deadlines", "kit.outbox"]
            assert kit_tasks.run_ready(worker_id="test") == 2
    assert fresh(a).escalated_at is not None
    sent = {(m["channel"], m["recipient"]) for m in outbox.MemoryAdapter.sent}
    assert {("email", "d1@centre.test"), ("sms", "13900000001")} <= sent
    assert not OutboxMessage.objects.filter(state="pending").exists()
