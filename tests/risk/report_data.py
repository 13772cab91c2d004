"""A hand-built set for the judgment report tests: every figure is known.

Week 47 of 2026 (Monday 16 – Sunday 22 November) in the small test city:

- lift (T-M1-1-1) at one point of Elm 11 Street (lon 0.5, lat 0.5), hotline:
  6 this week (Mon 2, Tue 3, Wed 1), 2 in week 46, 1 in week 44 → recurs (3 of 8 weeks);
  this week's led by District 1 Housing Bureau 4 times, by Street 11 Office twice; the
  responsibility list names the street office.
- water (T-M1-1-2), web form:
  4 this week (Thursday, the busiest day) at a point of Elm 21 Street (lon 2.5, lat 1.5)
  — only this week: one-off;
  6 in week 46 and 1 in week 45 at a point of Elm 22 Street (lon 3.5, lat 0.5) — not this
  week: not listed;
  1 each in weeks 41, 43 and 47 located only to Elm 22 Street (no point) → recurs by street.
- a year earlier, week 47 of 2025: 5 water appeals in Elm 12 Street.

So week 47: 11 appeals (hotline 6, web 5); week 46: 8 (+37.5%); a year ago: 5 (+120%).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from civitas.appeals.models import Appeal, Contact
from civitas.assessment.models import UnitDay
from civitas.geo.models import Jurisdiction
from civitas.org import services as org_services
from civitas.org.models import Role
from civitas.risk.models import Alert, RiskItem
from tests import factories

SECRET_NAME = "Zhang Sanfeng"
SECRET_PHONE = "13800138000"
SECRET_ADDRESS = "88 Hidden Lane"
SECRET_TEXT = "my neighbour Li Wei broke the lift"

_seq = count(1)


def local(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=ZoneInfo(settings.TIME_ZONE))


def monday(week: int, year: int = 2026) -> date:
    return date.fromisocalendar(year, week, 1)


def appeal(
    c: dict[str, Any],
    when: datetime,
    matter: Any,
    *,
    street: str,
    lon: float | None,
    lat: float | None,
    channel: str,
    unit: Any = None,
) -> Appeal:
    i = next(_seq)
    j: Jurisdiction = c[street]
    a = Appeal.objects.create(
        ticket=f"RPT{i:06d}",
        token_hash=f"{i:064x}",
        city="T",
        channel=channel,
        title=f"Lift broken at {SECRET_NAME}'s home",
        text=SECRET_TEXT,
        address=SECRET_ADDRESS,
        matter=matter,
        lat=lat,
        lon=lon,
        jurisdiction=j,
        jurisdiction_path=j.path,
        status="closed",
        lead_unit=unit,
        received_at=when,
    )
    Contact.objects.create(appeal=a, name=SECRET_NAME, phone=SECRET_PHONE)
    return a


def build(c: dict[str, Any]) -> dict[str, Any]:
    water = factories.water_matter(c)
    lift = c["leaf"]
    housing, office = c["T-D1-housing"], c["T-D1-S1-office"]
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=lift,
            level=c["levels"]["street"],
            city="T",
            unit_type="street_office",
        )
        w47, w46 = monday(47), monday(46)
        leads = iter([housing, housing, housing, housing, office, office, office, housing, office])
        lift_days = [w47, w47, w47 + timedelta(1), w47 + timedelta(1), w47 + timedelta(1)]
        lift_days += [w47 + timedelta(2), w46, w46 + timedelta(3), monday(44)]
        for d in lift_days:
            appeal(
                c,
                local(d),
                lift,
                street="T-D1-S1",
                lon=0.5,
                lat=0.5,
                channel="hotline",
                unit=next(leads),
            )
        for k in range(4):
            appeal(
                c,
                local(w47 + timedelta(3), 9 + k),
                water,
                street="T-D2-S1",
                lon=2.5,
                lat=1.5,
                channel="web",
            )
        for d in [w46 + timedelta(k % 5) for k in range(6)] + [monday(45)]:
            appeal(c, local(d), water, street="T-D2-S2", lon=3.5, lat=0.5, channel="web")
        for week in (41, 43, 47):
            appeal(
                c,
                local(monday(week) + timedelta(4)),
                water,
                street="T-D2-S2",
                lon=None,
                lat=None,
                channel="web",
            )
        for k in range(5):
            appeal(
                c,
                local(monday(47, 2025) + timedelta(k)),
                water,
                street="T-D1-S2",
                lon=1.5,
                lat=0.5,
                channel="web",
            )
        # Alerts: a cluster and a surge this week, a burst the week before, and one in the
        # other district.
        alert_common = {"city": "T", "observed": 6, "expected": 1.2}
        Alert.objects.create(
            kind="cluster",
            matter=lift,
            jurisdiction=c["T-D1-S1"],
            jurisdiction_path=c["T-D1-S1"].path,
            lat=0.5,
            lon=0.5,
            radius_m=300,
            start=w47,
            end=w47 + timedelta(1),
            detected_on=w47 + timedelta(1),
            p_value=0.003,
            score=9.5,
            key="a1",
            **alert_common,
        )
        Alert.objects.create(
            kind="surge",
            matter=water,
            jurisdiction=c["T-D2"],
            jurisdiction_path=c["T-D2"].path,
            start=w47,
            end=w47 + timedelta(3),
            detected_on=w47 + timedelta(3),
            key="a2",
            **alert_common,
        )
        Alert.objects.create(
            kind="burst",
            matter=water,
            jurisdiction=c["T-D2-S2"],
            jurisdiction_path=c["T-D2-S2"].path,
            start=w46,
            end=w46,
            detected_on=w46,
            key="a3",
            **alert_common,
        )
        # Risks: red, new this week, deadline passed before the end; blue, open since week 45;
        # one closed in week 46 (not open at the end); one in District 2.
        risk_common = {"city": "T", "created_by": "analyst"}
        RiskItem.objects.create(
            code="R-1",
            title="Lifts failing in Elm 11",
            level="red",
            owner_unit=housing,
            jurisdiction=c["T-D1-S1"],
            jurisdiction_path=c["T-D1-S1"].path,
            deadline=local(w47 + timedelta(4)),
            created_at=local(w47 + timedelta(1)),
            **risk_common,
        )
        RiskItem.objects.create(
            code="R-2",
            title="Ageing lifts",
            level="blue",
            owner_unit=office,
            jurisdiction=c["T-D1"],
            jurisdiction_path=c["T-D1"].path,
            deadline=local(date(2026, 12, 31)),
            created_at=local(monday(45)),
            **risk_common,
        )
        RiskItem.objects.create(
            code="R-3",
            title="Water pressure",
            level="orange",
            owner_unit=c["T-D2-housing"],
            jurisdiction=c["T-D2"],
            jurisdiction_path=c["T-D2"].path,
            status="closed",
            deadline=local(w46 + timedelta(5)),
            created_at=local(monday(45)),
            closed_at=local(w46 + timedelta(2)),
            outcome="resolved",
            **risk_common,
        )
        RiskItem.objects.create(
            code="R-4",
            title="Pipes in Elm 22",
            level="orange",
            owner_unit=c["T-D2-housing"],
            jurisdiction=c["T-D2-S2"],
            jurisdiction_path=c["T-D2-S2"].path,
            deadline=local(date(2026, 12, 10)),
            created_at=local(w47 + timedelta(2)),
            **risk_common,
        )
        # Assessment roll-ups for the week: two street offices, one perfect, one at half.
        good = dict.fromkeys(
            (
                "dispatched",
                "responded_on_time",
                "resolved",
                "resolved_on_time",
                "resolved_ever",
                "rated",
                "solved",
                "satisfied",
            ),
            10,
        )
        half = {**good, "responded_on_time": 5, "resolved_on_time": 5, "solved": 5, "satisfied": 5}
        UnitDay.objects.create(
            unit=office, city="T", jurisdiction_path=c["T-D1-S1"].path, day=w47, **good
        )
        UnitDay.objects.create(
            unit=c["T-D2-S1-office"], city="T", jurisdiction_path=c["T-D2-S1"].path, day=w47, **half
        )
    c["water"] = water
    c["city_dispatcher"] = factories.member("city-dispatcher", Role.DISPATCHER, c["centre"])
    c["d1_dispatcher"] = factories.member("d1-dispatcher", Role.DISPATCHER, c["T-D1-centre"])
    c["handler"] = factories.member("handler", Role.UNIT_HANDLER, office)
    c["leader"] = factories.member("housing-leader", Role.UNIT_LEADER, housing)
    return c
