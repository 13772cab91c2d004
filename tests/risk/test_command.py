"""The command centre page on a hand-built city: every figure is counted by hand.

Now is Monday 30 November 2026, 10:00 in Shanghai. Appeals about the lift (District 1 and 2):

- today: 3 in Elm 11 Street (08:00 web, 09:00 web, 09:30 hotline);
- yesterday 15:00: 2 in Elm 12 Street;
- Monday 23 November (a week ago) 08:30 and 15:00: 2 in Elm 11 Street;
- Friday 20 November: 1 in Elm 21 Street; Wednesday 21 October: 1 in Elm 22 Street (overdue);
- Monday 2 November 09:00-09:03: cases A-D of the assessment's hand-checked month (Elm 11):
  A, B, C accepted in time, resolved and rated (satisfied, satisfied, basically satisfied);
  D accepted late, rated dissatisfied and not solved, reopened and still open.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client

from civitas.appeals import intake
from civitas.appeals.models import Appeal, Channel
from civitas.kit import clock
from civitas.org.models import Role
from civitas.risk import command
from civitas.risk.models import Alert, AlertKind, AlertStatus, Level, RiskItem, RiskStatus
from tests.appeals.conftest import case_city, fresh, submit  # noqa: F401
from tests.assessment.conftest import month, refresh  # noqa: F401
from tests.factories import member

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=TZ)
LIFT = "The lift in building 3 is broken again"
STREET_LON = {"T-D1-S1": 0.5, "T-D1-S2": 1.5, "T-D2-S1": 2.5, "T-D2-S2": 3.5}


def appeal_at(c: dict[str, Any], when: datetime, street: str, channel: str = "") -> Appeal:
    with clock.frozen(when):
        if channel:
            data = intake.AppealIn(
                city="T",
                text=LIFT,
                channel=channel,
                lat=0.5,
                lon=STREET_LON[street],
                contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
            )
            with transaction.atomic():
                return intake.submit(actor=c["operator"], data=data).appeal
        return submit(c, LIFT, lon=STREET_LON[street]).appeal


def alert(
    c: dict[str, Any], street: str, status: str, *, snoozed: datetime | None = None, n: int = 0
) -> Alert:
    j = c[street]
    return Alert.objects.create(
        city="T",
        kind=AlertKind.BURST,
        matter=c["leaf"],
        category=c["leaf"].code,
        jurisdiction=j,
        jurisdiction_path=j.path,
        start=date(2026, 11, 29),
        end=date(2026, 11, 30),
        detected_on=date(2026, 11, 30),
        detected_at=NOW - timedelta(minutes=60 - n),
        observed=8 + n,
        expected=1.5,
        p_value=0.001,
        key=f"{street}-{status}-{n}",
        status=status,
        snoozed_until=snoozed,
    )


def risk(c: dict[str, Any], code: str, street: str, level: str, status: str = "open") -> RiskItem:
    j = c[street]
    return RiskItem.objects.create(
        city="T",
        code=code,
        title=f"Lifts failing in {j.name_en}",
        level=level,
        status=status,
        owner_unit=c["T-D1-housing"],
        jurisdiction=j,
        jurisdiction_path=j.path,
        deadline=NOW + timedelta(days=7),
        created_by="analyst",
    )


@pytest.fixture(autouse=True)
def _no_kept_figures() -> Any:
    """The command centre keeps past days' figures a few minutes; tests start without."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scene(month: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    c = month
    day = NOW.replace(hour=0)
    appeal_at(c, day.replace(hour=8), "T-D1-S1")
    appeal_at(c, day.replace(hour=9), "T-D1-S1")
    appeal_at(c, day.replace(hour=9, minute=30), "T-D1-S1", channel=Channel.HOTLINE)
    for _ in range(2):
        appeal_at(c, day - timedelta(hours=9), "T-D1-S2")
    appeal_at(c, day - timedelta(days=7) + timedelta(hours=8, minutes=30), "T-D1-S1")
    appeal_at(c, day - timedelta(days=7) + timedelta(hours=15), "T-D1-S1")
    appeal_at(c, day - timedelta(days=10) + timedelta(hours=11), "T-D2-S1")
    c["late"] = appeal_at(c, day - timedelta(days=40) + timedelta(hours=11), "T-D2-S2")
    alert(c, "T-D1-S1", AlertStatus.NEW, n=1)
    alert(c, "T-D1-S2", AlertStatus.DISMISSED, n=2)
    alert(c, "T-D2-S2", AlertStatus.ACKNOWLEDGED, n=3)
    alert(c, "T-D2-S1", AlertStatus.SNOOZED, snoozed=NOW + timedelta(days=1), n=4)
    alert(c, "T-D2-S1", AlertStatus.SNOOZED, snoozed=NOW - timedelta(hours=1), n=5)
    risk(c, "R-1", "T-D1-S1", Level.RED)
    risk(c, "R-2", "T-D1-S1", Level.YELLOW)
    risk(c, "R-3", "T-D2-S1", Level.BLUE)
    risk(c, "R-4", "T-D1-S2", Level.ORANGE, status=RiskStatus.CLOSED)
    with clock.frozen(NOW):
        refresh()
    c["d1_analyst"] = member("d1-analyst", Role.ANALYST, c["T-D1-centre"])
    return c


def client_for(user: Any, language: str = "en") -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.cookies["civitas_language"] = language
    return client


def get(user: Any, url: str = "/command/", language: str = "en") -> Any:
    with clock.frozen(NOW):
        return client_for(user, language).get(url)


def row(html: str, code: str) -> list[str]:
    """The figures of one place's table row."""
    m = re.search(rf'<tr data-place="{re.escape(code)}">(.*?)</tr>', html, re.S)
    assert m, f"no row for {code}"
    return re.findall(r'<td class="num">([^<]*)</td>', m[1])


@pytest.mark.django_db
class TestFigures:
    def test_city_places(self, scene: dict[str, Any]) -> None:
        with clock.frozen(NOW):
            o = command.overview(scene["analyst"])
        assert o.area.code == "T"
        by = {p.code: p for p in o.places}
        assert list(by) == ["T-D1", "T-D2"]
        assert by["T-D1"].appeals == {"today": 3, "week": 5, "month": 11}
        assert by["T-D2"].appeals == {"today": 0, "week": 0, "month": 1}
        # Red 4 + yellow 2 and one new alert; blue 1, one acknowledged alert and one whose
        # snooze ran out (the dismissed one and the one still snoozed do not count).
        assert (by["T-D1"].risk_weight, by["T-D1"].alerts, by["T-D1"].risk_score) == (6, 1, 7)
        assert (by["T-D2"].risk_weight, by["T-D2"].alerts, by["T-D2"].risk_score) == (1, 2, 3)
        assert by["T-D1"].has_children

    def test_intake_against_the_same_weekday(self, scene: dict[str, Any]) -> None:
        with clock.frozen(NOW):
            i = command.intake(scene["analyst"], scene["T"], clock.now())
        assert i.today == 3
        # Mondays before: 23 Nov (1 by 10:00 of 2), 16 and 9 Nov (none), 2 Nov (A-D by 09:03).
        assert i.average == pytest.approx((1 + 4) / 4)
        assert i.average_day == pytest.approx((2 + 4) / 4)
        assert i.change == pytest.approx(140.0)
        channels = {ch["code"]: (ch["today"], ch["average"]) for ch in i.channels}
        assert channels == {"web": (2, 1.25), "hotline": (1, 0.0)}

    def test_three_rates_as_the_assessment_counts_them(self, scene: dict[str, Any]) -> None:
        with clock.frozen(NOW):
            r = command.three_rates(scene["analyst"], scene["T"], clock.now())
        assert r.period.label == "2026-11"
        assert r.counts["dispatched"] == 12  # A-D, 20 Nov, 23 Nov ×2, yesterday ×2, today ×3
        assert r.counts["awaiting"] == 5  # today's and yesterday's, inside the 24 h
        assert r.response == pytest.approx(round(100 * 3 / 7, 1))  # A, B, C of 12 − 5
        assert r.resolution == pytest.approx(75.0)  # 3 solved of 4 ratings
        assert r.satisfaction == pytest.approx(70.0)  # (2 + 0.8) / 4

    def test_overdue_by_unit(self, scene: dict[str, Any]) -> None:
        d = fresh(scene["cases"]["D"])
        late = fresh(scene["late"])
        assert late.resolve_due < NOW and late.status in command.OPEN_STATUSES
        d_overdue = d.resolve_due is not None and d.resolve_due < NOW
        with clock.frozen(NOW):
            o = command.overdue(scene["analyst"], scene["T"], clock.now())
        units = {u["name"]: u["count"] for u in o.units}
        assert units["District 2 Housing Bureau"] == 1
        assert o.total == 1 + d_overdue
        assert units.get("District 1 Housing Bureau", 0) == d_overdue

    def test_top_matters_and_trend(self, scene: dict[str, Any]) -> None:
        with clock.frozen(NOW):
            (t,) = command.top_matters(scene["analyst"], scene["T"], clock.now())
        assert t.matter.code == "T-M1-1-1"
        assert (t.last7, t.prev7, t.weekly28) == (5, 3, 1.75)  # 28 days before: 2 + 1 + 4
        assert t.daily[-1] == 3 and t.daily[-2] == 2 and len(t.daily) == 28
        assert t.direction == "up"

    def test_open_risks_and_alerts(self, scene: dict[str, Any]) -> None:
        with clock.frozen(NOW):
            s = command.open_risks(scene["analyst"], scene["T"])
            live = command.live_alerts(scene["analyst"], scene["T"], clock.now())
        assert [(x["level"], x["count"]) for x in s.by_level] == [
            ("red", 1),
            ("orange", 0),
            ("yellow", 1),
            ("blue", 1),
        ]
        assert [r.code for r in s.items] == ["R-1", "R-2", "R-3"]
        assert [a.key for a in live] == [
            "T-D2-S1-snoozed-5",
            "T-D2-S2-acknowledged-3",
            "T-D1-S1-new-1",
        ]


@pytest.mark.django_db
class TestPage:
    def test_the_page_shows_the_figures(self, scene: dict[str, Any]) -> None:
        r = get(scene["analyst"])
        assert r.status_code == 200
        html = r.content.decode()
        assert "Command centre" in html
        assert row(html, "T-D1") == ["3", "5", "11", "2", "1", "7"]
        assert row(html, "T-D2") == ["0", "0", "1", "1", "2", "3"]
        assert 'id="intake-today">3<' in html
        assert re.search(r'data-rate="response"><dt>[^<]+</dt><dd>42\.9%</dd>', html)
        assert re.search(r'data-rate="resolution"><dt>[^<]+</dt><dd>75\.0%</dd>', html)
        assert re.search(r'data-rate="satisfaction"><dt>[^<]+</dt><dd>70\.0%</dd>', html)
        # Levels in colour and in words.
        assert re.search(r'data-level="red">.*?Red \(major\).*?>1</strong>', html, re.S)
        assert html.count('class="cc-alert ') == 3
        # The map's figures and the drill-down link of each district.
        assert 'data-figures="' in html and "?area=T-D1&amp;show=today" in html
        assert "Li Lei" not in html and "13800000000" not in html

    def test_drill_down_to_a_street_and_back(self, scene: dict[str, Any]) -> None:
        html = get(scene["analyst"], "/command/?area=T-D1&show=week").content.decode()
        assert row(html, "T-D1-S1") == ["3", "3", "9", "2", "1", "7"]
        assert row(html, "T-D1-S2") == ["0", "2", "2", "0", "0", "0"]
        assert 'href="?area=T&amp;show=week"' in html  # back to the city
        street = get(scene["analyst"], "/command/?area=T-D1-S1").content.decode()
        # Communities are below the roll-up's depth: counted from the street's appeals.
        assert row(street, "T-D1-S1-C1") == ["3", "3", "9", "0", "0", "0"]
        assert "Back to North 1 District" in street
        assert 'http-equiv="refresh"' not in street
        wall = get(scene["analyst"], "/command/?area=T-D1&wall=1&every=10").content.decode()
        # The wall screen: dark view, reloads every five minutes, alerts every 10 s; links
        # down keep the wall view.
        assert 'class="command wall"' in wall
        assert '<meta http-equiv="refresh" content="300">' in wall
        assert 'hx-trigger="every 10s"' in wall
        assert 'href="?area=T-D1-S1&amp;show=today&amp;wall=1&amp;every=10"' in wall

    def test_map_geojson(self, scene: dict[str, Any]) -> None:
        r = get(scene["analyst"], "/command/map.json?area=T-D1")
        names = [f["properties"]["name"] for f in r.json()["features"]]
        assert names == ["T-D1-S1", "T-D1-S2"]

    def test_alerts_fragment(self, scene: dict[str, Any]) -> None:
        r = get(scene["analyst"], "/command/alerts/?area=T-D1")
        html = r.content.decode()
        assert r.status_code == 200 and "<html" not in html
        assert html.count('class="cc-alert ') == 1
        assert r["Cache-Control"] == "no-store"

    def test_a_district_sees_its_district(self, scene: dict[str, Any]) -> None:
        user = scene["d1_analyst"]
        html = get(user).content.decode()
        assert "North 1 District" in html
        assert row(html, "T-D1-S1")[:3] == ["3", "3", "9"]
        assert 'data-place="T-D2"' not in html
        assert html.count('class="cc-alert ') == 1  # D2's alerts are not theirs
        with clock.frozen(NOW):
            o = command.overview(user)
        assert o.intake.today == 3 and o.risks.total == 2
        assert get(user, "/command/?area=T").status_code == 403
        assert get(user, "/command/?area=T-D2-S1").status_code == 403
        assert get(user, "/command/alerts/?area=T-D2").status_code == 403
        assert get(user, "/command/map.json?area=T").status_code == 403
        assert get(user, "/command/?area=NOPE").status_code == 404

    def test_chinese(self, scene: dict[str, Any]) -> None:
        html = get(scene["analyst"], language="zh-hans").content.decode()
        assert '<html lang="zh-hans">' in html
        assert "指挥中心" in html
        assert "北1区" in html and "今日受理" in html
        assert "红色" in html
        assert row(html, "T-D1") == ["3", "5", "11", "2", "1", "7"]

    def test_risk_read_is_required(self, scene: dict[str, Any]) -> None:
        assert get(scene["handler"]).status_code == 403
        assert get(scene["handler"], "/command/alerts/").status_code == 403
        assert get(scene["resident"]).status_code == 403
        anonymous = Client(HTTP_HOST="localhost").get("/command/")
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
        assert get(scene["dispatcher"]).status_code == 200
