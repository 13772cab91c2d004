"""The small test city with people who read and manage risks, appeals from residents, and
alerts stored the way the detectors store them (``risk.alerts.store`` when present)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.risk.models import Alert, AlertAppeal, AlertKind
from tests.factories import Role as Roles
from tests.factories import member

RESIDENT_NAME = "Li Lei"
RESIDENT_PHONE = "13800000000"
RESIDENT_ADDRESS = "Flat 1204, Building 3, Peony Garden"


@pytest.fixture
def reg_city(city: dict[str, Any], settings: Any) -> dict[str, Any]:
    city["analyst"] = member("analyst", Roles.ANALYST, city["centre"], display_name="Zhou")
    city["d1_analyst"] = member("d1-analyst", Roles.ANALYST, city["T-D1-centre"])
    city["auditor"] = member("auditor", Roles.AUDITOR, city["centre"])
    city["handler"] = member("handler", Roles.UNIT_HANDLER, city["T-D1-housing"])
    city["leader"] = member("leader", Roles.UNIT_LEADER, city["T-D1-housing"])
    city["resident"] = member("resident", Roles.RESIDENT)
    return city


def submit(city: dict[str, Any], text: str, lat: float, lon: float) -> Appeal:
    data = intake.AppealIn(
        city="T",
        text=text,
        lat=lat,
        lon=lon,
        address=RESIDENT_ADDRESS,
        contact=intake.ContactIn(name=RESIDENT_NAME, phone=RESIDENT_PHONE),
    )
    with transaction.atomic():
        done = intake.submit(actor=city["resident"], data=data, resident=city["resident"])
    return Appeal.objects.select_related("jurisdiction").get(pk=done.appeal.pk)


def store_alert(
    city: dict[str, Any],
    appeals: list[Appeal],
    *,
    lat: float,
    lon: float,
    key: str = "cluster-1",
    detected_on: date | None = None,
) -> Alert:
    """A space-time cluster over ``appeals``, stored as a detector stores it."""
    today = detected_on or clock.now().date()
    from civitas.geo.locate import locate

    place = locate(lat, lon)
    from civitas.geo.models import Jurisdiction

    jurisdiction = (
        Jurisdiction.objects.get(code=place.jurisdiction.code) if place is not None else city["T"]
    )
    numbers = {"llr": 12.4, "replicas": 999, "days": 3, "recurrence_days": 2740.0}
    fields: dict[str, Any] = {
        "city": "T",
        "kind": AlertKind.CLUSTER,
        "category": city["leaf"].code,
        "lat": lat,
        "lon": lon,
        "radius_m": 400.0,
        "start": today - timedelta(days=2),
        "end": today,
        "detected_on": today,
        "observed": len(appeals),
        "expected": 1.5,
        "p_value": 0.001,
        "score": 12.4,
        "numbers": numbers,
        "jurisdiction": jurisdiction,
        "matter": city["leaf"],
    }
    try:
        from civitas.risk import alerts as stored
    except ImportError:  # the detectors' store has not landed: write the row it would write
        stored = None
    if stored is not None and hasattr(stored, "Spec"):
        spec = stored.Spec(key=key, near=[], appeal_ids=[a.pk for a in appeals], **fields)
        found = stored.store(spec)
        assert found is not None
        return Alert.objects.get(pk=found.pk)
    with transaction.atomic():
        a = Alert.objects.create(
            key=key, jurisdiction_path=jurisdiction.path, detected_at=clock.now(), **fields
        )
        AlertAppeal.objects.bulk_create([AlertAppeal(alert=a, appeal=p) for p in appeals])
    return a


def cluster(
    city: dict[str, Any],
    *,
    lat: float = 0.5,
    lon: float = 0.5,
    n: int = 4,
    key: str = "c1",
    step: float = 0.001,
) -> Alert:
    appeals = [
        submit(city, f"The lift in building {i} is broken again", lat + i * step, lon + i * step)
        for i in range(n)
    ]
    return store_alert(city, appeals, lat=lat, lon=lon, key=key)


def later(days: float = 3) -> datetime:
    return clock.now() + timedelta(days=days)
