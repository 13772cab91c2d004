"""Storing findings as alerts: the appeals behind them, their place, deduplication, and what
snoozed, dismissed and promoted alerts do when the same thing is found again."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection

from civitas.kit import clock
from civitas.kit.models import AuditEntry
from civitas.risk import alerts, detectors
from civitas.risk.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Level,
    RiskEvent,
    RiskItem,
    RiskStatus,
)
from civitas.risk.scan.events import Events, Found
from tests.risk.test_detectors import NOW, submit


def finding(
    events: Events, rows: list[int], *, lat: float = 0.5, lon: float = 0.5, **extra: Any
) -> Found:
    x, y = events.projection.to_xy(np.array([lat]), np.array([lon]))
    day = int(events.day[rows].max())
    return Found(
        kind=extra.pop("kind", AlertKind.CLUSTER),
        category="T-M1-1-1",
        detected_on=day,
        start=int(events.day[rows].min()),
        end=day,
        observed=len(rows),
        expected=0.8,
        p_value=0.002,
        score=11.5,
        x=float(x[0]),
        y=float(y[0]),
        radius_m=400.0,
        rows=np.array(rows, dtype=np.int64),
        numbers={"llr": 11.5, "replicas": 999},
        **extra,
    )


@pytest.fixture
def stream(city: dict[str, Any]) -> tuple[list[Any], Events]:
    appeals = [submit(NOW - timedelta(hours=72 - 12 * i), phone=f"1380000000{i}") for i in range(6)]
    with clock.frozen(NOW):
        return appeals, detectors.city_events("T")


@pytest.mark.django_db
def test_a_finding_is_stored_with_its_appeals_place_and_numbers(
    stream: tuple[list[Any], Events],
) -> None:
    appeals, events = stream
    with clock.frozen(NOW):
        alert = alerts.record("T", finding(events, [0, 1, 2]), events)
    assert alert is not None
    assert alert.status == AlertStatus.NEW and alert.times_seen == 1
    assert set(alert.appeals.values_list("pk", flat=True)) == {a.pk for a in appeals[:3]}
    # the point (0.5, 0.5) lies in street T-D1-S1 of district T-D1
    assert alert.jurisdiction is not None and alert.jurisdiction.code == "T-D1-S1"
    assert alert.jurisdiction_path == "/T/T-D1/T-D1-S1/"
    assert alert.lat == pytest.approx(0.5) and alert.lon == pytest.approx(0.5)
    assert alert.matter is not None and alert.matter.code == "T-M1-1-1"
    assert alert.numbers["llr"] == 11.5 and len(alert.numbers["seen"]) == 1
    assert (alert.observed, alert.expected, alert.p_value) == (3, 0.8, 0.002)
    entry = AuditEntry.objects.get(action="risk.alert.raise", object_id=str(alert.pk))
    assert entry.summary["after"]["appeals"] == 3


@pytest.mark.django_db
def test_found_again_updates_the_open_alert(stream: tuple[list[Any], Events]) -> None:
    _, events = stream
    with clock.frozen(NOW):
        first = alerts.record("T", finding(events, [0, 1, 2]), events)
        again = alerts.record("T", finding(events, [1, 2, 3, 4]), events)
        # a centre 300 m away (in another 1 km cell, maybe) is the same cluster
        near = alerts.record("T", finding(events, [5], lat=0.5027, lon=0.5), events)
    assert first is not None and again is not None and near is not None
    assert first.pk == again.pk == near.pk
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.times_seen == 3
    assert alert.appeals.count() == 6
    assert alert.end == events.date_of(int(events.day[5]))
    assert len(alert.numbers["seen"]) == 3
    assert AuditEntry.objects.filter(action="risk.alert.raise").count() == 1
    # another kind, or the same kind far away, is another alert
    with clock.frozen(NOW):
        surge = alerts.record("T", finding(events, [0], kind=AlertKind.SURGE), events)
        far = alerts.record("T", finding(events, [0], lat=1.5, lon=1.5), events)
    assert surge is not None and far is not None
    assert len({alert.pk, surge.pk, far.pk}) == 3


@pytest.mark.django_db
def test_snoozed_stays_quiet_until_the_snooze_ends(stream: tuple[list[Any], Events]) -> None:
    _, events = stream
    with clock.frozen(NOW):
        alert = alerts.record("T", finding(events, [0, 1]), events)
    assert alert is not None
    Alert.objects.filter(pk=alert.pk).update(
        status=AlertStatus.SNOOZED, snoozed_until=NOW + timedelta(days=2)
    )
    with clock.frozen(NOW + timedelta(days=1)):
        quiet = alerts.record("T", finding(events, [0, 1, 2]), events)
    assert quiet is not None and quiet.pk == alert.pk
    assert quiet.status == AlertStatus.SNOOZED and quiet.times_seen == 2
    with clock.frozen(NOW + timedelta(days=3)):
        back = alerts.record("T", finding(events, [0, 1, 2, 3]), events)
    assert back is not None and back.pk == alert.pk
    assert back.status == AlertStatus.NEW and back.snoozed_until is None
    assert AuditEntry.objects.filter(action="risk.alert.reopen", object_id=str(alert.pk)).exists()


@pytest.mark.django_db
def test_dismissed_is_not_raised_again_within_the_quiet_period(
    stream: tuple[list[Any], Events], settings: Any
) -> None:
    settings.CIVITAS_RISK_DISMISS_QUIET_DAYS = 10
    _, events = stream
    with clock.frozen(NOW):
        alert = alerts.record("T", finding(events, [0, 1]), events)
    assert alert is not None
    Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.DISMISSED, updated_at=NOW)
    with clock.frozen(NOW + timedelta(days=9)):
        assert alerts.record("T", finding(events, [0, 1, 2]), events) is None
    assert Alert.objects.count() == 1
    with clock.frozen(NOW + timedelta(days=11)):
        fresh = alerts.record("T", finding(events, [0, 1, 2]), events)
    assert fresh is not None and fresh.pk != alert.pk and fresh.status == AlertStatus.NEW


@pytest.mark.django_db
def test_promoted_alert_takes_new_appeals_to_its_risk(
    stream: tuple[list[Any], Events], city: dict[str, Any]
) -> None:
    _, events = stream
    with clock.frozen(NOW):
        alert = alerts.record("T", finding(events, [0, 1]), events)
    assert alert is not None
    risk = RiskItem.objects.create(
        city="T",
        code="T-R-1",
        title="Lifts failing in Oak 111",
        level=Level.YELLOW,
        owner_unit=city["T-D1-housing"],
        jurisdiction=city["T-D1"],
        jurisdiction_path=city["T-D1"].path,
        deadline=NOW + timedelta(days=10),
        created_by="test",
    )
    Alert.objects.filter(pk=alert.pk).update(status=AlertStatus.PROMOTED, risk=risk)
    with clock.frozen(NOW + timedelta(hours=1)):
        same = alerts.record("T", finding(events, [0, 1, 2, 3]), events)
    assert same is not None and same.pk == alert.pk and same.status == AlertStatus.PROMOTED
    assert same.appeals.count() == 4
    event = RiskEvent.objects.get(risk=risk, action="appeals_linked")
    assert len(event.data["appeals"]) == 2
    # once the risk is closed, the same finding is a new alert
    RiskItem.objects.filter(pk=risk.pk).update(status=RiskStatus.CLOSED)
    with clock.frozen(NOW + timedelta(hours=2)):
        new = alerts.record("T", finding(events, [4, 5]), events)
    assert new is not None and new.pk != alert.pk and new.status == AlertStatus.NEW


@pytest.mark.django_db
def test_acknowledged_alert_found_after_a_quiet_gap_is_new_again(
    stream: tuple[list[Any], Events],
) -> None:
    _, events = stream
    with clock.frozen(NOW):
        alert = alerts.record("T", finding(events, [0]), events)
    assert alert is not None
    Alert.objects.filter(pk=alert.pk).update(
        status=AlertStatus.ACKNOWLEDGED, end=alert.end - timedelta(days=30)
    )
    with clock.frozen(NOW):
        again = alerts.record("T", finding(events, [5]), events)
    assert again is not None and again.pk == alert.pk and again.status == AlertStatus.NEW


@pytest.mark.django_db(transaction=True)
def test_two_workers_recording_one_finding_make_one_alert(city: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (row locks, partial unique index)")
    for i in range(3):
        submit(NOW - timedelta(hours=5 - i), phone=f"1380000000{i}")
    with clock.frozen(NOW):
        events = detectors.city_events("T")
    spec_found = finding(events, [0, 1, 2])
    errors: list[BaseException] = []
    got: list[int] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            with clock.frozen(NOW):
                alert = alerts.record("T", spec_found, events)
            assert alert is not None
            got.append(alert.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(got)) == 1
    alert = Alert.objects.get()
    assert alert.times_seen == 2
    assert alert.appeals.count() == 3
    assert AuditEntry.objects.filter(action="risk.alert.raise").count() == 1
