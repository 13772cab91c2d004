"""Group appeals, repeat appellants and spread across districts: found on planted data, quiet
on clean data, and prospective."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.risk import live, tasks
from civitas.risk.detectors import build_events
from civitas.risk.models import Alert, AlertKind
from civitas.risk.scan.events import Events, Projection
from tests.risk.test_detectors import NOW, submit

TZ = ZoneInfo(settings.TIME_ZONE)
DAY0 = date(2026, 3, 1)
PROJ = Projection(30.0, 120.0)


class Rows:
    """Appeal-like rows for build_events, in time order."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []

    def add(
        self,
        day: int,
        hour: float = 10.0,
        *,
        matter: str | None = "WATER",
        place: int = 1,
        phone: str = "",
        resident: int | None = None,
        channel: str = "web",
        dup: int | None = None,
        district: str = "D1",
        lat: float = 30.0,
        lon: float = 120.0,
    ) -> int:
        pk = len(self.rows) + 1
        at = datetime.combine(DAY0, datetime.min.time(), tzinfo=TZ) + timedelta(
            days=day, hours=hour
        )
        path = f"/C/{district}/{district}-S1/"
        self.rows.append(
            (pk, at, matter, lat, lon, channel, resident, phone, path, place, dup, None, "")
        )
        return pk

    def events(self) -> Events:
        rows = sorted(self.rows, key=lambda r: (r[1], r[0]))
        return build_events(rows, day0=DAY0, projection=PROJ)


def background(rows: Rows, days: int = 40, seed: int = 3) -> None:
    """Ordinary life: a few appeals a day, many matters and places, each from someone new."""
    rng = random.Random(seed)
    for day in range(days):
        for _ in range(rng.randint(3, 8)):
            rows.add(
                day,
                rng.uniform(7, 21),
                matter=rng.choice(["WATER", "NOISE", "ROAD", "LIFT", "LITTER"]),
                place=rng.randint(1, 40),
                phone=f"139{rng.randrange(10**8):08d}",
                district=rng.choice(["D1", "D2", "D3"]),
                lat=30 + rng.uniform(-0.05, 0.05),
                lon=120 + rng.uniform(-0.05, 0.05),
            )


def test_group_of_distinct_residents_on_one_issue_and_place_is_found() -> None:
    rows = Rows()
    background(rows)
    planted = [
        rows.add(38 + i // 4, 9 + i, matter="GAS", place=77, phone=f"1370000000{i}")
        for i in range(6)
    ]
    ev = rows.events()
    found = live.GroupDetector().run(ev, 39)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "group" and f.category == "GAS"
    assert f.observed == 6 and f.numbers["residents"] == 6
    assert sorted(int(i) for i in ev.ids[f.rows]) == planted
    assert f.numbers["dedup"] == "p77"


def test_group_detector_is_quiet_on_clean_data_and_one_noisy_resident() -> None:
    rows = Rows()
    background(rows)
    for i in range(8):  # one resident, eight times
        rows.add(39, 8 + i, matter="GAS", place=77, phone="13700000000")
    for i in range(12):  # a staff batch
        rows.add(39, 14 + i / 60, matter="GAS", place=77, phone=f"1360000{i:04d}", channel="grid")
    ev = rows.events()
    assert all(live.GroupDetector().run(ev, d) == [] for d in range(7, 40))


def test_duplicates_join_appeals_from_different_places() -> None:
    rows = Rows()
    first = rows.add(10, 8, matter="NOISE", place=5, phone="13500000001")
    for i in range(4):
        rows.add(10, 9 + i, matter="NOISE", place=6 + i, phone=f"1350000001{i}", dup=first)
    ev = rows.events()
    found = live.GroupDetector().run(ev, 10)
    assert len(found) == 1 and found[0].observed == 5
    assert found[0].numbers["duplicates_linked"] == 4


def test_group_detector_is_prospective() -> None:
    rows = Rows()
    for i in range(4):
        rows.add(20, 8 + i, matter="GAS", place=3, phone=f"1370000000{i}")
    rows.add(21, 8, matter="GAS", place=3, phone="13700000009")
    ev = rows.events()
    assert live.GroupDetector().run(ev, 20) == []  # the fifth resident called the next day
    assert len(live.GroupDetector().run(ev, 21)) == 1


def test_repeat_appellant_whose_appeals_multiply() -> None:
    rows = Rows()
    background(rows)
    mine = [rows.add(day, 9, matter="NOISE", phone="13811112222") for day in (5, 26, 31, 35, 39)]
    ev = rows.events()
    found = live.RepeatDetector(texts=lambda ids: {}).run(ev, 39)
    assert len(found) == 1
    f = found[0]
    assert f.kind == "repeat" and f.category == "NOISE"
    assert f.observed == 4  # the four within 28 days
    assert set(mine[1:]) <= {int(i) for i in ev.ids[f.rows]}
    assert f.numbers["weeks"] >= 2


def test_repeat_appellant_whose_words_escalate() -> None:
    rows = Rows()
    background(rows)
    a = rows.add(30, 9, matter="LIFT", phone="13822223333")
    b = rows.add(39, 9, matter="LIFT", phone="13822223333")
    texts = {
        a: "电梯又坏了，请尽快维修",
        b: "电梯坏了一个月没人管，再不解决我就去省里上访，找媒体曝光",
    }
    ev = rows.events()
    found = live.RepeatDetector(texts=lambda ids: {i: texts.get(i, "") for i in ids}).run(ev, 39)
    assert len(found) == 1
    assert {"上访", "找媒体", "曝光"} <= set(found[0].numbers["escalation"])
    # the same two appeals without the escalation are nothing
    calm = {a: texts[a], b: "电梯还是坏的，请再派人看看"}
    assert (
        live.RepeatDetector(texts=lambda ids: {i: calm.get(i, "") for i in ids}).run(ev, 39) == []
    )


def test_repeat_detector_is_quiet_on_clean_data() -> None:
    rows = Rows()
    background(rows)
    ev = rows.events()
    detector = live.RepeatDetector(texts=lambda ids: dict.fromkeys(ids, "路灯不亮"))
    assert all(detector.run(ev, d) == [] for d in range(28, 40))


@pytest.mark.django_db
def test_live_run_finds_group_repeat_and_spread_on_planted_appeals(city: dict[str, Any]) -> None:
    # A group: six residents on the lift in one community of district 1 within two days.
    for i in range(6):
        submit(NOW - timedelta(hours=30 - 5 * i), phone=f"1370000000{i}", lat=0.5, lon=0.5)
    # The same matter in district 2: five residents, another group.
    for i in range(5):
        submit(NOW - timedelta(hours=20 - 3 * i), phone=f"1360000000{i}", lat=0.5, lon=2.5)
    # A repeat appellant escalating (unclassified texts count for a person).
    submit(NOW - timedelta(days=12), phone="13811112222", text="Our stairwell light is out again")
    submit(
        NOW - timedelta(hours=2),
        phone="13811112222",
        text="Still no light; if nothing happens I will go to the media and a lawyer",
        matter="",
    )
    with clock.frozen(NOW):
        outcome = tasks.run_now("T", NOW.date(), "daily")
    assert not outcome.failed or set(outcome.failed) <= {"cluster", "surge"}, outcome.failed
    groups = Alert.objects.filter(kind=AlertKind.GROUP)
    assert groups.count() == 2
    assert {g.jurisdiction_path.split("/")[2] for g in groups} == {"T-D1", "T-D2"}
    assert all(g.appeals.count() in (5, 6) for g in groups)
    repeat = Alert.objects.get(kind=AlertKind.REPEAT)
    assert {"the media", "lawyer"} <= set(repeat.numbers["escalation"])
    assert repeat.appeals.count() == 2
    assert "13811112222" not in repeat.key
    spread = Alert.objects.get(kind=AlertKind.SPREAD)
    assert [d["code"] for d in spread.numbers["districts"]] == ["T-D1", "T-D2"]
    assert spread.category == "T-M1-1-1" and spread.jurisdiction_path == "/T/"
    assert spread.appeals.count() == 11
    # running again the same day finds the same things: no new alerts
    before = Alert.objects.count()
    with clock.frozen(NOW + timedelta(minutes=15)):
        tasks.run_now("T", NOW.date(), "daily")
    assert Alert.objects.count() == before


@pytest.mark.django_db
def test_live_run_is_quiet_on_clean_appeals(city: dict[str, Any]) -> None:
    rng = random.Random(5)
    for i in range(15):
        submit(
            NOW - timedelta(days=rng.uniform(0, 20)),
            phone=f"1390000{i:04d}",
            lat=rng.uniform(0.1, 1.9),
            lon=rng.uniform(0.1, 3.9),
        )
    with clock.frozen(NOW):
        tasks.run_now("T", NOW.date(), "daily")
    assert not Alert.objects.filter(
        kind__in=[AlertKind.GROUP, AlertKind.REPEAT, AlertKind.SPREAD]
    ).exists()
    assert Appeal.objects.count() == 15


def test_a_place_that_always_reports_the_matter_is_not_a_group_appeal() -> None:
    rows = Rows()
    for week in range(9):
        for i in range(6):  # six residents every week, for nine weeks
            rows.add(week * 7 + i + 1, 9, matter="LITTER", place=12, phone=f"135{week:02d}{i:06d}")
    ev = rows.events()
    assert int(((ev.day > 55) & (ev.day <= 62)).sum()) == 6  # this week too, today included
    assert live.GroupDetector().run(ev, 62) == []
    assert len(live.GroupDetector(alpha=1.0).run(ev, 62)) == 1  # only the baseline held it
    # twenty in one week at the same place is unusual there
    for i in range(14):
        rows.add(62, 10 + i / 2, matter="LITTER", place=12, phone=f"13400{i:06d}")
    found = live.GroupDetector().run(rows.events(), 62)
    assert len(found) == 1
    assert found[0].expected == pytest.approx(6.0)
    assert found[0].p_value is not None and found[0].p_value < 1e-3
