"""The live detectors' input: a city's appeals as Events, and running detectors on them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings
from django.db import transaction

from civitas.appeals import intake
from civitas.appeals.models import Appeal, Channel
from civitas.kit import clock
from civitas.risk import detectors
from civitas.risk.models import Alert, AlertAppeal
from civitas.risk.scan.events import Detector, Events, Found
from tests.factories import member

TZ = ZoneInfo(settings.TIME_ZONE)
NOW = datetime(2026, 5, 20, 15, 0, tzinfo=TZ)


def submit(
    at: datetime,
    *,
    text: str = "The lift in building 3 is broken again",
    phone: str = "13800000001",
    channel: str = Channel.WEB,
    lat: float | None = 0.5,
    lon: float | None = 0.5,
    matter: str = "T-M1-1-1",
    resident: Any = None,
) -> Appeal:
    data = intake.AppealIn(
        city="T",
        text=text,
        channel=channel,
        matter_code=matter,
        lat=lat,
        lon=lon,
        contact=intake.ContactIn(name="Li Lei", phone=phone),
        received_at=at,
    )
    with clock.frozen(at), transaction.atomic():
        return intake.submit(
            actor=resident or "web", data=data, resident=resident, dispatch_now=False
        ).appeal


@pytest.mark.django_db
def test_city_events_columns(city: dict[str, Any]) -> None:
    resident = member("resident", "resident")
    a = submit(NOW - timedelta(days=2), phone="138-0000-0001")
    b = submit(NOW - timedelta(days=1), phone="13800000001", lat=0.5, lon=2.5)
    c = submit(NOW - timedelta(hours=3), phone="13900000009", channel=Channel.GRID)
    d = submit(NOW - timedelta(hours=2), resident=resident, lat=None, lon=None)
    unclassified = submit(NOW - timedelta(hours=1), text="Something odd happened here", matter="")
    old = submit(NOW - timedelta(days=400))
    later = submit(NOW + timedelta(hours=1))
    with clock.frozen(NOW):
        ev = detectors.city_events("T")
        every = detectors.city_events("T", with_unclassified=True)
    assert list(ev.ids) == [a.pk, b.pk, c.pk, d.pk]  # not the old, the later, the unclassified
    assert unclassified.pk in every.ids and every.categories[every.cat[-1]] == ""
    assert old.pk not in every.ids and later.pk not in every.ids
    assert ev.categories == ["T-M1-1-1"]
    # the same phone written two ways is one reporter; an account is its id; no phone digits
    assert ev.reporter[0] == ev.reporter[1] != ev.reporter[2]
    assert ev.reporter[3] == resident.pk
    assert all(str(r).find("13800000001") < 0 for r in ev.reporter)
    assert list(ev.staff) == [False, False, True, False]
    assert [ev.areas[i] for i in ev.area[:3]] == ["T-D1", "T-D2", "T-D1"]
    d.refresh_from_db()
    expected = d.jurisdiction_path.split("/")[2] if d.jurisdiction_id else None
    assert (ev.areas[ev.area[3]] if ev.area[3] >= 0 else None) == expected
    assert np.isnan(ev.x[3]) and not np.isnan(ev.x[0])
    # days are local days counted from day0; today is the last
    assert ev.date_of(int(ev.day[-1])) == NOW.date()
    assert ev.date_of(int(ev.day[0])) == (NOW - timedelta(days=2)).date()
    assert 0 <= ev.t[-1] - 24 * ev.day[-1] < 24
    # the projection is centred on the city: a point 2 degrees of longitude apart is ~222 km
    assert 200_000 < ev.x[1] - ev.x[0] < 230_000
    assert list(ev.extra["place"][:2]) == [a.jurisdiction_id, b.jurisdiction_id]


class Spy(Detector):
    """Finds one thing per run over every row it was shown, and remembers what it saw."""

    kind = "cluster"

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def run(self, events: Events, day: int) -> list[Found]:
        self.seen.append((day, int(events.day.max())))
        rows = np.arange(len(events))
        return [
            Found(
                kind=self.kind,
                category=events.categories[0],
                detected_on=day,
                start=int(events.day.min()),
                end=day,
                observed=len(events),
                expected=1.5,
                p_value=0.001,
                score=9.0,
                x=float(np.nanmean(events.x)),
                y=float(np.nanmean(events.y)),
                radius_m=300.0,
                rows=rows,
                numbers={"llr": 9.0},
            )
        ]


class Broken(Detector):
    kind = "surge"

    def run(self, events: Events, day: int) -> list[Found]:
        raise RuntimeError("no baseline")


@pytest.mark.django_db
def test_run_is_prospective_and_stores_what_it_finds(city: dict[str, Any]) -> None:
    first = submit(NOW - timedelta(days=1, hours=2))
    second = submit(NOW - timedelta(hours=5))
    spy = Spy()
    yesterday = (NOW - timedelta(days=1)).date()
    with clock.frozen(NOW):
        outcome = detectors.run("T", yesterday, [spy, Broken()])
    day, latest = spy.seen[0]
    assert latest <= day  # it never saw today's appeal
    assert outcome.found == {"cluster": 1}
    assert "surge" in outcome.failed
    alert = Alert.objects.get(pk=outcome.alerts[0])
    assert set(AlertAppeal.objects.filter(alert=alert).values_list("appeal_id", flat=True)) == {
        first.pk
    }
    assert alert.detected_on == yesterday
    with clock.frozen(NOW):
        detectors.run("T", NOW.date(), [spy])
    alert.refresh_from_db()
    assert alert.times_seen == 2
    assert set(alert.appeals.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_unknown_detector_paths_are_skipped(settings: Any) -> None:
    settings.CIVITAS_RISK_DETECTORS = {
        "daily": ["civitas.risk.live.GroupDetector", "civitas.risk.scan.nothing.Here"]
    }
    loaded = detectors.load_detectors("daily")
    assert [d.kind for d in loaded] == ["group"]


def test_reporter_keys_of_phones_never_meet_account_ids() -> None:
    assert detectors.reporter_key(None, "13800000001") > 10**18
    assert detectors.reporter_key(None, "13800000001") == detectors.reporter_key(
        None, "138 0000 0001"
    )
    assert detectors.reporter_key(None, "13800000001") != detectors.reporter_key(
        None, "13800000002"
    )
    assert detectors.reporter_key(7, "13800000001") == 7
    assert detectors.reporter_key(None, "") == -1


def test_build_events_empty() -> None:
    ev = detectors.build_events([], day0=date(2026, 1, 1), projection=detectors.Projection(0, 0))
    assert len(ev) == 0 and ev.categories == []
