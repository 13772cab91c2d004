"""Shared datasets feeding the risk detectors: records of a ``feeds_risk`` dataset with a date
and a point become rows of their own category beside appeals, seen prospectively, and an alert
on them is named by the dataset's title in both languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from civitas.hub.models import Dataset, Domain
from civitas.kit import clock
from civitas.org.models import Role
from civitas.risk import detectors, reports
from civitas.risk.models import Alert, AlertAppeal
from civitas.risk.scan.events import Detector, Events, Found
from civitas.risk.scan.stp import ClusterDetector, ScanConfig
from tests.factories import member
from tests.hub import helpers
from tests.risk.test_detectors import submit

pytestmark = pytest.mark.django_db

TZ = ZoneInfo(settings.TIME_ZONE)
DAY = date(2026, 5, 19)  # the cluster's last day
NOW = datetime(2026, 5, 20, 15, 0, tzinfo=TZ)
ACCIDENT_FIELDS = [
    ("occurred", "date", "internal", "date", True),
    ("lat", "decimal", "internal", "latitude", True),
    ("lon", "decimal", "internal", "longitude", True),
    ("severity", "string", "internal", "", False),
]


def accidents(city: dict[str, Any], code: str = "t-accidents", *, feeds: bool = True) -> Dataset:
    ds = helpers.make_dataset(
        code=code,
        owner=city["T-D1-housing"],
        area=city["T"],
        fields=ACCIDENT_FIELDS,
        domain=Domain.TRAFFIC,
        feeds_risk=feeds,
    )
    ds.title_en, ds.title_zh = "Traffic accidents", "交通事故"
    ds.save(update_fields=["title_en", "title_zh"])
    return ds


def accident_rows(seed: int = 7) -> list[dict[str, Any]]:
    """Sixty days of accidents scattered over about 20 km around (0.5, 0.5), three a day,
    and six a day within about 150 m of (0.5, 0.5) on the last three days up to DAY; then
    eight more right there the day after DAY (which a run for DAY must not see)."""
    rng = np.random.default_rng(seed)
    rows = []
    for back in range(60, 0, -1):
        d = DAY - timedelta(days=back - 1)
        for _ in range(3):
            lat, lon = 0.4 + 0.2 * rng.random(), 0.4 + 0.2 * rng.random()
            rows.append({"occurred": d.isoformat(), "lat": lat, "lon": lon, "severity": "minor"})
    for back in range(3):
        d = DAY - timedelta(days=back)
        for _ in range(6):
            r, a = 0.0013 * np.sqrt(rng.random()), rng.random() * 2 * np.pi
            rows.append(
                {
                    "occurred": d.isoformat(),
                    "lat": 0.5 + r * np.sin(a),
                    "lon": 0.5 + r * np.cos(a),
                    "severity": "serious",
                }
            )
    after = DAY + timedelta(days=1)
    for i in range(8):
        rows.append(
            {"occurred": after.isoformat(), "lat": 0.5 + i * 1e-4, "lon": 0.5, "severity": "x"}
        )
    return rows


def scan() -> ClusterDetector:
    return ClusterDetector(ScanConfig(replicas=199, alpha=0.01))


def test_records_become_rows_of_their_own_category_seen_prospectively(
    city: dict[str, Any],
) -> None:
    ds = accidents(city)
    quiet = accidents(city, "t-quiet", feeds=False)
    stored = helpers.put_records(ds, accident_rows())
    helpers.put_records(quiet, accident_rows())
    appeal = submit(NOW - timedelta(days=2))
    until = detectors.local_day_end(DAY)
    with clock.frozen(NOW):
        ev = detectors.city_events("T", until=until, with_hub=True)
        plain = detectors.city_events("T", until=until)
    assert ev.categories == ["T-M1-1-1", "hub:t-accidents"]  # not the dataset without the flag
    hub = ev.cat == ev.categories.index("hub:t-accidents")
    seen = {-int(i) for i in ev.ids[hub]}
    dated = {r.pk: r.occurred_on for r in stored}
    assert seen == {pk for pk, d in dated.items() if d <= DAY}  # none dated after DAY
    assert appeal.pk in ev.ids and (ev.ids[hub] < 0).all()
    assert list(plain.ids) == [appeal.pk]
    # at noon local time of their date, residents' rows, each a reporter of its own
    assert np.allclose(ev.t[hub] - 24 * ev.day[hub], 12.0)
    assert not ev.staff[hub].any()
    assert len(set(ev.reporter[hub].tolist())) == int(hub.sum())
    assert appeal.resident_id is None and ev.reporter[~hub][0] not in set(ev.reporter[hub])
    assert np.all(np.diff(ev.t) >= 0)
    assert {ev.areas[a] for a in ev.area[hub]} == {"T-D1"}


def test_a_cluster_of_records_is_an_alert_of_the_dataset(city: dict[str, Any]) -> None:
    ds = accidents(city)
    quiet = accidents(city, "t-quiet", feeds=False)
    helpers.put_records(ds, accident_rows())
    helpers.put_records(quiet, accident_rows(seed=8))
    appeal = submit(NOW - timedelta(days=2))
    with clock.frozen(NOW):
        outcome = detectors.run("T", DAY, [scan()])
    made = Alert.objects.filter(pk__in=outcome.alerts)
    assert {a.category for a in made} == {"hub:t-accidents"}
    alert = made.get()
    assert alert.kind == "cluster" and alert.matter is None
    assert alert.end == DAY and alert.observed >= 10
    assert alert.jurisdiction is not None and alert.jurisdiction.code == "T-D1-S1"
    assert abs(alert.lat - 0.5) < 0.01 and abs(alert.lon - 0.5) < 0.01
    # records are never taken for appeals
    assert not AlertAppeal.objects.filter(alert=alert).exists()
    assert appeal.pk  # the appeal is in the stream but not in this category

    # the alert names the dataset in words, in both languages, on its page and in the queue
    analyst = member("riskanalyst", Role.ANALYST, city["centre"])
    client = Client()
    client.force_login(analyst)
    page = client.get(reverse("risk-alert", args=[alert.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Traffic accidents" in text and "hub:t-accidents" not in text
    assert f"{alert.observed} records of the shared dataset “Traffic accidents”" in text
    assert reverse("hub-dataset", args=["t-accidents"]) in text
    queue = client.get(reverse("risk-alerts"))
    assert "Traffic accidents" in queue.content.decode()
    zh = client.get(reverse("risk-alert", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "交通事故" in zh.content.decode()
    assert alert.category_names() == ("Traffic accidents", "交通事故")
    assert reports.Named(*alert.category_names()).name_zh == "交通事故"


def test_without_the_flag_or_with_the_feed_off_no_records_are_seen(
    city: dict[str, Any], settings: Any
) -> None:
    ds = accidents(city, feeds=False)
    helpers.put_records(ds, accident_rows())
    with clock.frozen(NOW):
        outcome = detectors.run("T", DAY, [scan()])
    assert outcome.alerts == []
    ds.feeds_risk = True
    ds.save(update_fields=["feeds_risk"])
    settings.CIVITAS_RISK_HUB_FEED = False
    with clock.frozen(NOW):
        ev = detectors.city_events("T", until=detectors.local_day_end(DAY), with_hub=True)
        outcome = detectors.run("T", DAY, [scan()])
    assert len(ev) == 0 and outcome.alerts == []
    settings.CIVITAS_RISK_HUB_FEED = True
    with clock.frozen(NOW):
        outcome = detectors.run("T", DAY, [scan()])
    assert [a.category for a in Alert.objects.filter(pk__in=outcome.alerts)] == ["hub:t-accidents"]


class Spy(Detector):
    """Remembers the categories and the last day it was shown."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen: list[tuple[list[str], int]] = []

    def run(self, events: Events, day: int) -> list[Found]:
        cats = sorted({events.categories[c] for c in events.cat})
        self.seen.append((cats, int(events.day.max()) if len(events) else -1))
        return []


def test_only_the_scan_detectors_see_records_and_never_later_days(city: dict[str, Any]) -> None:
    ds = accidents(city)
    helpers.put_records(ds, accident_rows())
    submit(NOW - timedelta(days=2))
    scan_spy, group_spy = Spy("burst"), Spy("group")
    with clock.frozen(NOW):
        detectors.run("T", DAY, [scan_spy, group_spy])
    ((cats, last),) = scan_spy.seen
    assert cats == ["T-M1-1-1", "hub:t-accidents"]
    assert last == (DAY - detectors.city_events("T", until=NOW).day0).days
    assert group_spy.seen[0][0] == ["T-M1-1-1"]  # people's detectors: appeals only
    assert detectors.takes_hub_records(ClusterDetector())
    from civitas.risk.live import GroupDetector, RepeatDetector

    assert not detectors.takes_hub_records(GroupDetector())
    assert not detectors.takes_hub_records(RepeatDetector())
