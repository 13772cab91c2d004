"""The small door into the risk register for internal callers (risk.services.create_risk
with ``system=True``), as mediation uses it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from civitas.kit import clock
from civitas.kit.errors import Forbidden
from civitas.kit.models import AuditEntry
from civitas.risk import services as risk_services
from civitas.risk.models import Level, RiskEvent, RiskItem

pytestmark = pytest.mark.django_db


def _data(med: dict[str, Any]) -> risk_services.RiskIn:
    return risk_services.RiskIn(
        title="Group wage dispute",
        level=Level.ORANGE,
        owner_unit=med["T-D1-centre"],
        deadline=clock.now() + timedelta(days=30),
        jurisdiction=med["T-D1-S1-C1"],
    )


def test_a_person_without_risk_manage_is_refused(med: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        risk_services.create_risk(actor=med["mediator_c"], city="T", data=_data(med))
    assert not RiskItem.objects.exists()


def test_the_system_opens_a_risk_and_is_named_as_its_author(med: dict[str, Any]) -> None:
    risk = risk_services.create_risk(
        actor="system:mediation", city="T", data=_data(med), system=True
    )
    assert risk.created_by == "system:mediation"
    assert RiskEvent.objects.get(risk=risk, action="create").actor == "system:mediation"
    entry = AuditEntry.objects.get(action="risk.create", object_id=risk.code)
    assert entry.actor == "system:mediation"


def test_the_system_door_takes_no_person_and_no_alerts(med: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        risk_services.create_risk(actor=med["mediator_c"], city="T", data=_data(med), system=True)
    with pytest.raises(ValueError):
        risk_services.create_risk(
            actor="system:mediation", city="T", data=_data(med), alerts=[1], system=True
        )
    assert not RiskItem.objects.exists()
