"""Two people moving one dispute at the same moment never corrupt it nor open two stages.

Threads need separate connections with row locks (PostgreSQL); they skip on SQLite."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from civitas.kit import audit, clock
from civitas.mediation import services, tasks
from civitas.mediation.models import Dispute, Event, Stage, Status, Tier
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.helpers import register
from tests.racing import needs_postgres, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def _open_stages(d: Dispute) -> int:
    return Stage.objects.filter(dispute=d, ended_at__isnull=True).count()


def test_two_mediators_accept_at_once(med: dict[str, Any]) -> None:
    other = member("med-c111b", Role.MEDIATOR, med["T-D1-S1-C1-med"])
    d = register(med)
    results = race(
        lambda: services.accept(actor=med["mediator_c"], dispute=d.pk),
        lambda: services.accept(actor=other, dispute=d.pk),
    )
    assert sorted(results) == ["IllegalMove", "ok"]
    d.refresh_from_db()
    assert (d.status, d.version) == (Status.ACCEPTED, 2)
    assert Event.objects.filter(dispute=d, action="accept").count() == 1
    assert audit.verify().ok


def test_two_escalations_from_the_same_version(med: dict[str, Any]) -> None:
    d = register(med)
    results = race(
        lambda: services.escalate(actor=med["mediator_c"], dispute=d.pk, reason="a", version=1),
        lambda: services.escalate(actor=med["dispatcher"], dispute=d.pk, reason="b", version=1),
    )
    assert sorted(results) == ["StaleDispute", "ok"]
    d.refresh_from_db()
    assert (d.tier, d.escalation_count, d.version) == (Tier.STREET, 1, 2)
    assert Stage.objects.filter(dispute=d).count() == 2 and _open_stages(d) == 1


def test_escalate_against_accept(med: dict[str, Any]) -> None:
    d = register(med)
    results = race(
        lambda: services.accept(actor=med["mediator_c"], dispute=d.pk, version=1),
        lambda: services.escalate(actor=med["dispatcher"], dispute=d.pk, reason="b", version=1),
    )
    assert sorted(results) == ["StaleDispute", "ok"]
    d.refresh_from_db()
    assert _open_stages(d) == 1 and d.version == 2


def test_two_workers_run_the_deadline_job_at_once(med: dict[str, Any]) -> None:
    d = register(med)
    with clock.frozen(clock.now() + timedelta(days=16)):
        results = race(tasks.escalate_overdue, tasks.escalate_overdue)
    assert results == ["ok", "ok"]
    d.refresh_from_db()
    assert (d.tier, d.escalation_count) == (Tier.STREET, 1)
    assert Stage.objects.filter(dispute=d).count() == 2 and _open_stages(d) == 1


def test_numbers_stay_unique_when_registered_at_once(med: dict[str, Any]) -> None:
    results = race(*[(lambda: register(med)) for _ in range(3)])
    assert results == ["ok"] * 3
    assert Dispute.objects.values("code").distinct().count() == 3
