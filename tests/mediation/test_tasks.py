"""The periodic jobs: deadlines passed move a dispute up once; follow-ups due are announced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from civitas.kit import clock, scheduler
from civitas.kit.models import OutboxMessage
from civitas.mediation import services, tasks
from civitas.mediation.models import Event, FollowUp, Stage, Status, Tier
from tests.mediation.helpers import register

pytestmark = pytest.mark.django_db


def test_jobs_are_registered() -> None:
    names = {j.name: j.target for j in scheduler.jobs()}
    assert names["mediation.escalate_overdue"] == "civitas.mediation.tasks.escalate_overdue"
    assert names["mediation.remind_follow_ups"] == "civitas.mediation.tasks.remind_follow_ups"


def test_a_passed_deadline_moves_the_dispute_up_once(med: dict[str, Any]) -> None:
    d = register(med)
    on_time = register(med)
    assert tasks.escalate_overdue() == {"overdue": 0, "moved": 0}
    later = clock.now() + timedelta(days=16)
    with clock.frozen(later):
        assert tasks.escalate_overdue() == {"overdue": 2, "moved": 2}
        assert tasks.escalate_overdue() == {"overdue": 0, "moved": 0}
    d.refresh_from_db()
    assert (d.tier, d.status, d.escalation_count) == (Tier.STREET, Status.REGISTERED, 1)
    stages = list(Stage.objects.filter(dispute=d).order_by("pk"))
    assert [s.result for s in stages] == [Stage.Result.OVERDUE, ""]
    assert stages[1].due_at == later + timedelta(days=30)
    ev = Event.objects.get(dispute=d, action="escalate")
    assert ev.actor == services.SYSTEM and ev.data["result"] == "overdue"
    # a dispute withdrawn in time is left alone
    services.withdraw(actor=med["mediator_s"], dispute=d, reason="settled")
    services.accept(actor=med["mediator_s"], dispute=on_time.__class__.objects.get(pk=on_time.pk))
    with clock.frozen(later + timedelta(days=60)):
        assert tasks.escalate_overdue()["moved"] == 1
    assert Stage.objects.filter(dispute=d).count() == 2


def test_at_the_city_the_deadline_reminds_once(med: dict[str, Any]) -> None:
    med["mediator_city"].email = "city@example.org"
    med["mediator_city"].save()
    d = register(med, amount=20_000_000)
    assert d.tier == Tier.CITY
    with clock.frozen(clock.now() + timedelta(days=46)):
        tasks.escalate_overdue()
        tasks.escalate_overdue()
    d.refresh_from_db()
    assert d.tier == Tier.CITY and d.escalation_count == 0
    assert (
        OutboxMessage.objects.filter(
            recipient="city@example.org", subject__contains="past its deadline"
        ).count()
        == 1
    )


def test_agreed_disputes_do_not_escalate(med: dict[str, Any]) -> None:
    d = services.accept(actor=med["mediator_c"], dispute=register(med))
    services.record_agreement(
        actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=clock.today()
    )
    with clock.frozen(clock.now() + timedelta(days=40)):
        assert tasks.escalate_overdue()["moved"] == 0


def test_follow_ups_due_are_announced_once(med: dict[str, Any]) -> None:
    med["mediator_c"].email = "c@example.org"
    med["mediator_c"].save()
    d = services.accept(actor=med["mediator_c"], dispute=register(med))
    services.record_agreement(
        actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=clock.today()
    )
    f = FollowUp.objects.get(dispute=d)
    assert tasks.remind_follow_ups() == {"reminders": 0}
    with clock.frozen(clock.now() + timedelta(days=8)):
        assert tasks.remind_follow_ups() == {"reminders": 1}
        assert tasks.remind_follow_ups() == {"reminders": 0}
    msg = OutboxMessage.objects.get(subject__contains="Follow-up visit due")
    assert msg.recipient == "c@example.org" and f.due_on.isoformat() in msg.body
