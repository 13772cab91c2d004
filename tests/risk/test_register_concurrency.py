"""People acting on the register at the same moment: numbers stay unique, the second of two
clashing edits is told, an alert becomes one risk only.

Threads need separate connections with row locks (PostgreSQL); they skip on SQLite."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import transaction

from civitas.kit import audit, clock
from civitas.risk import services
from civitas.risk.models import Alert, Level, RiskEvent, RiskItem
from tests.racing import needs_postgres, race
from tests.risk import register_setup
from tests.risk.register_setup import cluster, later

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]
reg_city = register_setup.reg_city


def _data(c: dict[str, Any], title: str) -> services.RiskIn:
    return services.RiskIn(
        title=title,
        level=Level.BLUE,
        owner_unit=c["T-D1-housing"],
        deadline=later(5),
        jurisdiction=c["T-D1"],
    )


def test_risks_opened_at_once_get_distinct_numbers(reg_city: dict[str, Any]) -> None:
    c = reg_city
    results = race(
        *[
            (lambda n=n: services.create_risk(actor=c["analyst"], city="T", data=_data(c, n)))
            for n in ("a", "b", "c", "d")
        ]
    )
    assert results == ["ok"] * 4
    year = clock.now().year
    codes = sorted(RiskItem.objects.values_list("code", flat=True))
    assert codes == [f"T-R-{year}-{n:04d}" for n in range(1, 5)]
    assert audit.verify().ok


def test_two_level_changes_from_the_same_version(reg_city: dict[str, Any]) -> None:
    c = reg_city
    risk = services.create_risk(actor=c["analyst"], city="T", data=_data(c, "x"))
    seen = risk.version
    results = race(
        lambda: services.change_level(
            actor=c["analyst"], risk=risk.pk, level="red", reason="a", expected_version=seen
        ),
        lambda: services.change_level(
            actor=c["d1_analyst"], risk=risk.pk, level="yellow", reason="b", expected_version=seen
        ),
    )
    assert sorted(results) == ["StaleRisk", "ok"]
    assert RiskEvent.objects.filter(risk=risk, action="escalate").count() == 1
    assert RiskItem.objects.get(pk=risk.pk).version == seen + 1


def test_one_alert_made_a_risk_twice_at_once(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    results = race(
        lambda: services.promote(actor=c["analyst"], alerts=[a.pk], data=_data(c, "one")),
        lambda: services.promote(actor=c["d1_analyst"], alerts=[a.pk], data=_data(c, "two")),
    )
    assert sorted(results) == ["IllegalMove", "ok"]
    assert RiskItem.objects.count() == 1
    assert audit.verify().ok


def test_joining_an_alert_while_the_detectors_write_to_the_risk(reg_city: dict[str, Any]) -> None:
    """The detectors hold an alert and add a timeline entry to its risk; a person joining that
    alert to the risk at the same moment waits for them instead of deadlocking."""
    c = reg_city
    risk = services.create_risk(actor=c["analyst"], city="T", data=_data(c, "x"))
    a = cluster(c, key="c9")
    held = threading.Event()

    def detector() -> None:
        with transaction.atomic():
            Alert.objects.select_for_update().filter(pk=a.pk).get()
            held.set()
            time.sleep(1.5)  # the person's join is waiting by now
            RiskEvent.objects.create(
                risk_id=risk.pk, at=clock.now(), actor="system", action="appeals_linked"
            )

    def person() -> None:
        held.wait(timeout=10)
        time.sleep(0.3)
        services.add_alert(actor=c["analyst"], risk=risk.pk, alert=a.pk)

    assert race(detector, person) == ["ok", "ok"]
    assert Alert.objects.get(pk=a.pk).risk_id == risk.pk
    assert RiskEvent.objects.filter(risk=risk, action="appeals_linked").count() == 1
