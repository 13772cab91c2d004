"""The profile page of a place (一格一档): each part shown only to those allowed to see it,
shared data counted only inside the grant's area and logged, in English and Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.hub.models import AccessLog, Dataset, Grant, GrantStatus
from civitas.kit import clock
from civitas.org.models import Role, User
from civitas.risk.models import Alert, AlertKind, AlertStatus, RiskItem
from tests import factories
from tests.hub import helpers

pytestmark = pytest.mark.django_db

TZ = ZoneInfo(settings.TIME_ZONE)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
C1 = "T-D1-S1-C1"


def submit(at: datetime, *, lat: float = 0.5, lon: float = 0.5, matter: str = "T-M1-1-1") -> Appeal:
    data = intake.AppealIn(
        city="T",
        text="The lift in building 3 is broken again",
        channel="web",
        matter_code=matter,
        lat=lat,
        lon=lon,
        contact=intake.ContactIn(name="Li Lei", phone="13800000001"),
        received_at=at,
    )
    with clock.frozen(at), transaction.atomic():
        return intake.submit(actor="web", data=data, dispatch_now=False).appeal


@pytest.fixture
def place(city: dict[str, Any], settings: Any) -> dict[str, Any]:
    """A population dataset of street S1's office with a grant to the city centre for community
    C1 only; appeals in C1 and elsewhere; an open risk and alerts; people in several roles."""
    made: dict[str, Any] = {"city": city}
    ds = helpers.residents_by_grid(city)
    made["dataset"] = ds
    made["grant"] = Grant.objects.create(
        dataset=ds,
        consumer_unit=city["centre"],
        fields=["grid", "residents"],
        area=city[C1],
        area_path=city[C1].path,
        purpose="Planning services for the elderly",
        legal_basis="Community services regulation",
        expires_at=NOW + timedelta(days=90),
        status=GrantStatus.APPROVED,
        requested_by="test",
    )
    made["analyst"] = factories.member("analyst", Role.ANALYST, city["centre"])
    made["auditor"] = factories.member("auditor", Role.AUDITOR, city["centre"])
    made["d2"] = factories.member("d2", Role.DISPATCHER, city["T-D2-centre"])
    made["handler"] = factories.member("handler", Role.UNIT_HANDLER, city["T-D2-housing"])
    made["street_leader"] = factories.member("sleader", Role.UNIT_LEADER, city["T-D1-S1-office"])
    made["resident"] = factories.member("resident", Role.RESIDENT)
    # appeals: two recent in C1 (one will be overdue), one 100 days ago, one 400 days ago,
    # one in C2
    late = submit(NOW - timedelta(days=40))
    Appeal.objects.filter(pk=late.pk).update(resolve_due=NOW - timedelta(days=5))
    submit(NOW - timedelta(days=2))
    submit(NOW - timedelta(days=100))
    submit(NOW - timedelta(days=400))
    submit(NOW - timedelta(days=3), lon=0.5, lat=1.5)
    street = city["T-D1-S1"]
    base = {
        "city": "T",
        "kind": AlertKind.CLUSTER,
        "category": "T-M1-1-1",
        "matter": city["leaf"],
        "start": NOW.date(),
        "end": NOW.date(),
        "detected_on": NOW.date(),
        "observed": 6,
        "expected": 1.0,
        "status": AlertStatus.NEW,
        "jurisdiction": street,
        "jurisdiction_path": street.path,
    }
    made["alert_in"] = Alert.objects.create(key="in", lat=0.5, lon=0.5, **base)
    made["alert_other"] = Alert.objects.create(key="other", lat=1.5, lon=0.5, **base)
    made["risk"] = RiskItem.objects.create(
        city="T",
        code="T-R-2026-0001",
        title="Lifts failing in Oak 111",
        level="orange",
        owner_unit=city["T-D1-housing"],
        jurisdiction=city[C1],
        jurisdiction_path=city[C1].path,
        deadline=NOW + timedelta(days=10),
        created_by="test",
    )
    return made


def get(user: User, code: str = C1, **extra: Any) -> Any:
    c = Client()
    c.force_login(user)
    with clock.frozen(NOW):
        return c.get(reverse("jurisdiction-profile", args=[code]), **extra)


def data_link(ds: Dataset, query: str) -> str | None:
    try:
        return f"{reverse('hub-data', args=[ds.code])}?{query}"
    except NoReverseMatch:
        return None


def test_an_analyst_of_the_centre_sees_every_part(place: dict[str, Any]) -> None:
    r = get(place["analyst"])
    assert r.status_code == 200
    text = r.content.decode()
    # the place
    assert "Oak 111 Community" in text and "Elm 11 Street" in text and "North 1 District" in text
    assert 'data-src="/city/j/T-D1-S1-C1/map.json"' in text
    # population from the granted dataset, named with its grant
    assert 'data-figure="population">2,034<' in text
    assert "Residents by grid" in text and "City Service Centre" in text
    # appeals: the last 30 days, 365 days, open, overdue, top matter
    assert 'data-figure="appeals-30">1<' in text
    assert 'data-figure="appeals-365">3<' in text
    assert 'data-figure="appeals-open">4<' in text
    assert 'data-figure="appeals-overdue">1<' in text
    assert "Lift out of service" in text
    # risks: the open risk with its level, the alert whose centre is in C1 and not the other
    assert "T-R-2026-0001" in text and "Orange (serious)" in text
    assert reverse("risk-alert", args=[place["alert_in"].pk]) in text
    assert reverse("risk-alert", args=[place["alert_other"].pk]) not in text
    # the shared data: records counted in C1
    assert 'data-dataset="t-population"' in text and 'data-figure="records">2<' in text
    link = data_link(place["dataset"], f"grant={place['grant'].pk}&amp;area={C1}")
    if link is not None:
        assert link in text
    # the read through the grant is logged
    log = AccessLog.objects.get()
    assert log.channel == "profile" and log.rows == 2 and log.user == place["analyst"]
    assert log.grant == place["grant"]


def test_the_street_shows_only_the_granted_community(place: dict[str, Any]) -> None:
    text = get(place["analyst"], "T-D1-S1").content.decode()
    assert 'data-figure="population">2,034<' in text  # not C2's 5,000
    assert "counted in Oak 111 Community only" in text
    # C2 lies outside the grant: no shared data part at all
    text = get(place["analyst"], "T-D1-S1-C2").content.decode()
    assert "Residents by grid" not in text and 'data-figure="population"' not in text
    assert AccessLog.objects.count() == 1  # only the read that used the grant


def test_an_expired_grant_takes_the_dataset_away(place: dict[str, Any]) -> None:
    g = place["grant"]
    g.expires_at = NOW - timedelta(minutes=1)
    g.save(update_fields=["expires_at"])
    text = get(place["analyst"]).content.decode()
    assert "Residents by grid" not in text and "shared-data" not in text
    assert not AccessLog.objects.exists()
    g.expires_at, g.status = NOW + timedelta(days=1), GrantStatus.REVOKED
    g.save(update_fields=["expires_at", "status"])
    assert "Residents by grid" not in get(place["analyst"]).content.decode()


def test_each_role_sees_its_parts(place: dict[str, Any]) -> None:
    # the auditor: appeals and risks over the city, but no grant (no shared data)
    text = get(place["auditor"]).content.decode()
    assert 'id="appeals"' in text and 'id="risks"' in text
    assert 'id="shared-data"' not in text and 'id="people-and-enterprises"' not in text
    # a district 2 dispatcher: appeals in district 2 only; no risks, no data, for C1
    text = get(place["d2"]).content.decode()
    assert 'id="place"' in text and 'id="appeals"' not in text and 'id="risks"' not in text
    assert 'id="shared-data"' not in text
    text = get(place["d2"], "T-D2-S1-C1").content.decode()
    assert 'id="appeals"' in text and 'data-figure="appeals-30">0<' in text
    # a handler of a unit: the place only
    text = get(place["handler"]).content.decode()
    assert 'id="place"' in text
    for part in ("appeals", "risks", "shared-data", "people-and-enterprises"):
        assert f'id="{part}"' not in text
    # the owner unit's leader: its own data, whole and unlogged
    text = get(place["street_leader"], "T-D1-S1").content.decode()
    assert 'data-figure="population">7,034<' in text and "your unit's own data" in text
    assert not AccessLog.objects.exists()


def test_residents_are_refused_and_unknown_places_are_404(place: dict[str, Any]) -> None:
    r = get(place["resident"])
    assert r.status_code == 403
    assert "Residents by grid" not in r.content.decode()
    assert not AccessLog.objects.exists()
    assert get(place["analyst"], "NOPE").status_code == 404
    anonymous = Client().get(reverse("jurisdiction-profile", args=[C1]))
    assert anonymous.status_code == 302


def test_the_jurisdiction_page_links_to_the_profile_for_staff(place: dict[str, Any]) -> None:
    url = reverse("jurisdiction-profile", args=[C1])
    c = Client()
    c.force_login(place["handler"])
    assert url in c.get(reverse("jurisdiction", args=[C1])).content.decode()
    c.force_login(place["resident"])
    assert url not in c.get(reverse("jurisdiction", args=[C1])).content.decode()


def test_the_profile_in_chinese(place: dict[str, Any]) -> None:
    r = get(place["analyst"], HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = r.content.decode()
    assert r.status_code == 200
    assert "橡树111社区" in text and "社区" in text and "网格人口" in text
    assert "榆树11街道" in text and "电梯故障" in text
    assert "Oak 111 Community" not in text and "Residents by grid" not in text


def test_the_data_link_opens_the_granted_rows_of_the_place(place: dict[str, Any]) -> None:
    link = data_link(place["dataset"], f"grant={place['grant'].pk}&area={C1}")
    if link is None:
        pytest.skip("the hub's data page is not there")
    assert link.replace("&", "&amp;") in get(place["analyst"]).content.decode()
    c = Client()
    c.force_login(place["analyst"])
    with clock.frozen(NOW):
        r = c.get(link)
    assert r.status_code == 200
    text = r.content.decode()
    assert "1200" in text.replace(",", "") and "834" in text and "5000" not in text


def test_a_figure_the_grant_gives_withheld_is_not_shown(place: dict[str, Any]) -> None:
    """Residents classed secret: the grant gives them withheld, so the page shows no sum (the
    records API withholds each value) and says why; the owner's leader still sees it."""
    place["dataset"].schema.fields.filter(name="residents").update(sensitivity="secret")
    text = get(place["analyst"]).content.decode()
    assert "2,034" not in text and "2034" not in text and 'data-figure="population"' not in text
    assert "only masked or withheld" in text
    assert 'data-figure="records">2<' in text  # the records are still counted
    assert (
        'data-figure="population">7,034<' in get(place["street_leader"], "T-D1-S1").content.decode()
    )
    g = place["grant"]
    g.clear_fields = ["residents"]  # the owner decided to give it in clear
    g.save(update_fields=["clear_fields"])
    assert 'data-figure="population">2,034<' in get(place["analyst"]).content.decode()


def test_dates_do_not_break_across_lines(place: dict[str, Any]) -> None:
    text = get(place["analyst"]).content.decode()
    until = (NOW + timedelta(days=90)).strftime("%Y-%m-%d")
    assert f'until <span class="nowrap">{until}</span>' in text
    deadline = (NOW + timedelta(days=10)).strftime("%Y-%m-%d")
    assert f'<td class="nowrap">{deadline}</td>' in text
    css = Client().get("/static/web/civitas.css")
    body = b"".join(css.streaming_content) if css.streaming else css.content  # type: ignore[attr-defined]
    assert css.status_code == 200 and b".nowrap { white-space: nowrap; }" in body
