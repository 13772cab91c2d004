"""The alert and risk register pages through Django's test client: both languages, who sees
what, forms that act, and no resident's personal data."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from civitas.risk import services
from civitas.risk.models import AlertStatus, Level, RiskItem
from tests.risk import register_setup
from tests.risk.register_setup import (
    RESIDENT_ADDRESS,
    RESIDENT_NAME,
    RESIDENT_PHONE,
    cluster,
    later,
)

pytestmark = pytest.mark.django_db
reg_city = register_setup.reg_city


def _client(user: Any, lang: str = "en") -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE=lang)
    c.force_login(user)
    return c


def _risk(c: dict[str, Any], **over: Any) -> RiskItem:
    data = services.RiskIn(
        title="Lifts failing",
        level=over.pop("level", Level.YELLOW),
        owner_unit=c["T-D1-housing"],
        deadline=later(7),
        measures="Inspect every lift",
        jurisdiction=over.pop("jurisdiction", c["T-D1-S1"]),
    )
    return services.create_risk(actor=c["analyst"], city="T", data=data)


def test_alert_pages_say_why_and_hide_personal_data(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    client = _client(c["analyst"])
    listing = client.get(reverse("risk-alerts"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert reverse("risk-alert", args=[a.pk]) in body and "Space-time cluster" in body
    page = client.get(reverse("risk-alert", args=[a.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Why it fired" in html
    assert "4 appeals of “Lift out of service”" in html and "within 400 m" in html
    assert "1.5 were expected" in html and "p = 0.0010" in html
    assert "log-likelihood ratio" in html and "12.4" in html
    tickets = list(a.links.values_list("appeal__ticket", flat=True))
    assert len(tickets) == 4 and all(t in html for t in tickets)
    for secret in (RESIDENT_NAME, RESIDENT_PHONE, RESIDENT_ADDRESS):
        assert secret not in html
    data = client.get(reverse("risk-alert-map", args=[a.pk])).json()
    assert {p["ticket"] for p in data["points"]} == set(tickets)
    assert data["centre"] == {"lat": 0.5, "lon": 0.5, "radius_m": 400.0}
    assert {f["properties"]["name"] for f in data["geo"]["features"]} == {"T", "T-D1", "T-D2"}
    assert RESIDENT_NAME not in str(data) and RESIDENT_PHONE not in str(data)


def test_chinese_pages(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    risk = _risk(c, level=Level.ORANGE)
    client = _client(c["analyst"], "zh-hans")
    html = client.get(reverse("risk-alert", args=[a.pk])).content.decode()
    assert 'lang="zh-hans"' in html
    assert "预警" in html and "触发原因" in html
    register = client.get(reverse("risk-risks")).content.decode()
    assert "风险台账" in register and "橙色" in register
    assert ">等级</th>" in register and "层级" not in register
    assert ">受理时间</th>" in html
    detail = client.get(reverse("risk-risk", args=[risk.code])).content.decode()
    assert "防范化解措施" in detail and "办理过程" in detail and "风险处置" in detail


def test_register_shows_level_words_with_colours_and_overdue(reg_city: dict[str, Any]) -> None:
    c = reg_city
    red = _risk(c, level=Level.RED)
    blue = _risk(c, level=Level.BLUE)
    html = _client(c["analyst"]).get(reverse("risk-risks")).content.decode()
    assert 'class="level level-red" data-level="red">Red (major)<' in html
    assert 'class="level level-blue" data-level="blue">Blue (general)<' in html
    assert html.index(red.code) < html.index(blue.code)  # the most serious first
    from datetime import timedelta

    from civitas.kit import clock

    with clock.frozen(clock.now() + timedelta(days=2)):
        overdue = _client(c["analyst"]).get(reverse("risk-risks") + "?review_overdue=1")
    body = overdue.content.decode()
    assert red.code in body and blue.code not in body and "review overdue" in body


def test_who_may_see_and_act(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    risk = _risk(c)
    for who in ("handler", "resident"):
        client = _client(c[who])
        assert client.get(reverse("risk-alerts")).status_code == 403
        assert client.get(reverse("risk-risk", args=[risk.code])).status_code == 403
    auditor = _client(c["auditor"])
    page = auditor.get(reverse("risk-alert", args=[a.pk])).content.decode()
    assert "Why it fired" in page and 'id="alert-actions"' not in page
    assert (
        'id="risk-actions"'
        not in auditor.get(reverse("risk-risk", args=[risk.code])).content.decode()
    )
    refused = auditor.post(
        reverse("risk-alert-act", args=[a.pk, "dismiss"]), {"reason": "x"}, follow=True
    )
    assert "You may not take this action." in refused.content.decode()
    a.refresh_from_db()
    assert a.status == AlertStatus.NEW
    assert (
        _client(c["analyst"])
        .get(reverse("risk-alert", args=[a.pk]))
        .content.decode()
        .count('id="alert-actions"')
        == 1
    )
    # The nav shows the register only to readers.
    assert reverse("risk-risks") in _client(c["auditor"]).get(reverse("home")).content.decode()
    assert reverse("risk-risks") not in _client(c["handler"]).get(reverse("home")).content.decode()


def test_forms_promote_then_act_on_the_risk(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    client = _client(c["analyst"])
    done = client.post(
        reverse("risk-alert-act", args=[a.pk, "promote"]),
        {
            "status": "new",
            "title": "Lifts failing in Elm 11",
            "level": "yellow",
            "owner_unit": c["T-D1-housing"].code,
            "measures": "Inspect",
            "deadline": later(5).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    risk = RiskItem.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("risk-risk", args=[risk.code])
    act = reverse("risk-risk-act", args=[risk.code, "review"])
    client.post(act, {"version": risk.version, "note": "checked the lifts"})
    stale = client.post(act, {"version": risk.version, "note": "again"}, follow=True)
    assert "Someone else acted first" in stale.content.decode()
    risk.refresh_from_db()
    spread = client.post(
        reverse("risk-risk-act", args=[risk.code, "spread"]),
        {"version": risk.version, "district": "T-D2", "note": "same contractor"},
        follow=True,
    )
    html = spread.content.decode()
    assert "The spread is recorded." in html
    assert 'data-level="orange">Orange (serious)' in html
    for step in ("Opened", "Alert joined", "Reviewed", "Spread to another district", "Escalated"):
        assert step in html, step
    empty = client.post(
        reverse("risk-risk-act", args=[risk.code, "close"]),
        {"version": risk.version + 2, "outcome": "resolved", "note": ""},
        follow=True,
    )
    assert "say in words how the risk ended" in empty.content.decode()


def test_open_a_risk_directly(reg_city: dict[str, Any]) -> None:
    c = reg_city
    client = _client(c["analyst"])
    assert client.get(reverse("risk-new")).status_code == 200
    bad = client.post(reverse("risk-new"), {"city": "T", "title": "", "level": "blue"})
    assert bad.status_code == 422 and "give the risk a title" in bad.content.decode()
    ok = client.post(
        reverse("risk-new"),
        {
            "city": "T",
            "title": "Festival crowds",
            "level": "blue",
            "jurisdiction": "T-D2",
            "owner_unit": c["T-D2-CENTRE".replace("-CENTRE", "-centre")].code,
            "deadline": later(3).date().isoformat(),
        },
    )
    risk = RiskItem.objects.get(title="Festival crowds")
    assert ok["Location"] == reverse("risk-risk", args=[risk.code]) and risk.districts == ["T-D2"]
    assert _client(c["auditor"]).get(reverse("risk-new")).status_code == 403


def test_admin_shows_alerts_and_risks_read_only(reg_city: dict[str, Any]) -> None:
    from civitas.org.models import User

    c = reg_city
    a = cluster(c)
    risk = _risk(c)
    boss = User.objects.create_superuser("boss", password="correct horse battery staple")
    client = _client(boss)
    assert str(a.pk) in client.get("/admin/risk/alert/").content.decode()
    page = client.get(f"/admin/risk/riskitem/{risk.pk}/change/")
    assert page.status_code == 200 and risk.code in page.content.decode()
    assert client.get("/admin/risk/riskitem/add/").status_code == 403
    shown = client.get(f"/admin/risk/alert/{a.pk}/change/")
    assert shown.status_code == 200 and "links-0-appeal" not in shown.content.decode()
    assert client.post(f"/admin/risk/alert/{a.pk}/delete/", {"post": "yes"}).status_code == 403


def test_an_alert_without_a_point_reads_in_words_and_maps_the_city(
    reg_city: dict[str, Any],
) -> None:
    from django.db import transaction

    from civitas.kit import clock
    from civitas.risk.models import Alert, AlertKind

    c = reg_city
    today = clock.now().date()
    with transaction.atomic():
        a = Alert.objects.create(
            city="T",
            kind=AlertKind.SURGE,
            category="T-M1-1-1",
            matter=c["leaf"],
            jurisdiction=c["T-D2"],
            jurisdiction_path=c["T-D2"].path,
            start=today,
            end=today,
            detected_on=today,
            observed=19,
            expected=6.2,
            p_value=None,
            score=4.1,
            numbers={"z": 4.1, "baseline_days": 56},
            key="surge-T-D2",
        )
    html = _client(c["analyst"]).get(reverse("risk-alert", args=[a.pk])).content.decode()
    assert "Surge above the baseline" in html
    assert "19 appeals of “Lift out of service” from" in html and "6.2 were expected" in html
    assert "within" not in html.split('id="why"')[1].split("</p>")[0]  # no radius claimed
    assert "days of baseline" in html and "56" in html and "baseline_days" not in html
    data = _client(c["analyst"]).get(reverse("risk-alert-map", args=[a.pk])).json()
    assert data["centre"] is None and data["points"] == []
    assert _client(c["d1_analyst"]).get(reverse("risk-alert", args=[a.pk])).status_code == 404


def test_new_appeals_found_for_a_promoted_alert_show_on_the_risk(
    reg_city: dict[str, Any],
) -> None:
    from tests.risk.register_setup import store_alert, submit

    c = reg_city
    a = cluster(c, key="c1")
    risk = services.promote(
        actor=c["analyst"],
        alerts=[a],
        data=services.RiskIn(
            title="Lifts", level="yellow", owner_unit=c["T-D1-housing"], deadline=later(5)
        ),
    )
    more = [submit(c, f"Lift {i} stuck between floors", 0.52, 0.52 + i * 0.001) for i in (1, 2)]
    old = list(a.links.values_list("appeal", flat=True))
    from civitas.appeals.models import Appeal

    store_alert(c, [*Appeal.objects.filter(pk__in=old), *more], lat=0.5, lon=0.5, key="c1")
    html = _client(c["analyst"]).get(reverse("risk-risk", args=[risk.code])).content.decode()
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    assert "New appeals found by the detectors" in timeline and "2 appeals" in timeline
    assert all(p.ticket in html for p in more)


def test_an_imminent_harm_alert_says_which_words(reg_city: dict[str, Any]) -> None:
    from django.db import transaction

    from civitas.kit import clock
    from civitas.risk.models import Alert, AlertAppeal, AlertKind
    from tests.risk.register_setup import submit

    c = reg_city
    appeal = submit(c, "Someone on the roof says he will jump off the building", 0.5, 0.5)
    # Intake flags it (risk.harm); where that step is not installed, store what it would.
    a = Alert.objects.filter(kind=AlertKind.HARM, links__appeal=appeal).first()
    if a is None:
        today = clock.now().date()
        with transaction.atomic():
            a = Alert.objects.create(
                city="T",
                kind=AlertKind.HARM,
                category="self_harm",
                jurisdiction=appeal.jurisdiction,
                jurisdiction_path=appeal.jurisdiction_path,
                lat=appeal.lat,
                lon=appeal.lon,
                start=today,
                end=today,
                detected_on=today,
                observed=1,
                expected=0.0,
                numbers={"classes": ["self_harm"], "terms": ["jump off the building"]},
                key=f"harm|appeal|{appeal.pk}",
            )
            AlertAppeal.objects.create(alert=a, appeal=appeal)
    html = _client(c["analyst"]).get(reverse("risk-alert", args=[a.pk])).content.decode()
    why = html.split('id="why"')[1].split("</p>")[0]
    assert f"reads as imminent harm ({a.category})" in why and a.numbers["terms"]
    assert all(str(t) in why for t in a.numbers["terms"])
    assert "were expected" not in why and appeal.ticket in html
    assert RESIDENT_NAME not in html and RESIDENT_PHONE not in html


def test_alert_queue_filters_by_area_and_refuses_bad_dates(reg_city: dict[str, Any]) -> None:
    c = reg_city
    d1 = cluster(c, key="c1")
    d2 = cluster(c, lat=0.5, lon=2.5, key="c2")
    client = _client(c["analyst"])
    page = client.get(reverse("risk-alerts") + "?area=T-D2").content.decode()
    assert '<option value="T-D2" selected>North 2 District</option>' in page
    assert reverse("risk-alert", args=[d2.pk]) in page
    assert reverse("risk-alert", args=[d1.pk]) not in page
    zh = _client(c["analyst"], "zh-hans").get(reverse("risk-alerts") + "?since=yesterday")
    assert "不是有效日期，请按 YYYY-MM-DD 格式填写" in zh.content.decode()
    bad = client.get(reverse("risk-alerts") + "?since=yesterday")
    assert bad.status_code == 422
    assert "is not a date; write it as YYYY-MM-DD" in bad.content.decode()
    risk = _risk(c)
    odd = client.get(reverse("risk-risks") + "?level=purple")
    body = odd.content.decode()
    assert odd.status_code == 422 and "unknown level purple; choose from red" in body
    assert risk.code in body  # the register is still shown, unfiltered
