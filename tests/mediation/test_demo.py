"""The demo's mediation step on the small test city: every state and level, made once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from civitas.citypacks.demo import mediation as demo
from civitas.kit import clock
from civitas.mediation.models import Dispute, FollowUp, Stage, Status, Tier
from civitas.risk.models import RiskItem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_makes_disputes_in_every_state_once(med: dict[str, Any]) -> None:
    UserFactory(username="admin", is_superuser=True)
    said: list[str] = []
    lines = demo.setup(said.append, city="T")
    assert lines and any("mediator-community" in line for line in lines)
    assert Dispute.objects.count() == len(demo.SCENARIOS)
    statuses = Counter(Dispute.objects.values_list("status", flat=True))
    assert set(statuses) == set(Status.values)
    tiers = set(Dispute.objects.values_list("tier", flat=True))
    assert tiers == set(Tier.values)
    assert Dispute.objects.filter(cross_district=True, tier=Tier.CITY).exists()
    assert RiskItem.objects.count() == 1
    assert Dispute.objects.filter(risk__isnull=False, tier=Tier.DISTRICT).count() == 1
    assert Stage.objects.filter(result=Stage.Result.OVERDUE).count() == 1
    today = clock.now().date()
    due = FollowUp.objects.filter(done_at__isnull=True, due_on__lte=today)
    assert due.count() >= 2
    assert Dispute.objects.filter(received_at__lt=clock.now() - clock_days(80)).exists()
    # again: nothing new
    before = (Dispute.objects.count(), Stage.objects.count(), RiskItem.objects.count())
    again = demo.setup(said.append, city="T")
    assert again == lines
    assert (Dispute.objects.count(), Stage.objects.count(), RiskItem.objects.count()) == before
    assert "disputes: already there" in said


def clock_days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)
