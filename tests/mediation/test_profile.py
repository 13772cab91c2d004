"""The disputes part of a place's profile (/city/j/CODE/profile/): shown to those who may read
disputes over the place, counted in the place only, never naming a party."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from civitas.kit import clock
from civitas.mediation.models import DisputeType, Outcome, Party, Status, Tier
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.figures_data import NOW, dispute

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(med: dict[str, Any]) -> dict[str, Any]:
    w = dict(med)
    day = timedelta(days=1)
    w["X"] = dispute(
        med,
        "T-D1-S1-C1",
        received=NOW - 10 * day,
        due=NOW - day,
        tier=Tier.COMMUNITY,
        unit="T-D1-S1-C1-med",
        title="Noise from the workshop at night",
    )
    Party.objects.create(
        dispute=w["X"], side="applicant", kind="person", name="王小明", phone="13900000001"
    )
    w["Y"] = dispute(
        med,
        "T-D1-S1-C2",
        received=NOW - 100 * day,
        type=DisputeType.LABOUR,
        status=Status.CLOSED,
        outcome=Outcome.RESOLVED,
        agreed=NOW - 57 * day,
        closed=NOW - 50 * day,
        title="Unpaid wages at the bakery",
    )
    w["Z"] = dispute(
        med,
        "T-D1-S1-C1",
        received=NOW - 400 * day,
        type=DisputeType.FAMILY,
        status=Status.CLOSED,
        outcome=Outcome.RESOLVED,
        closed=NOW - 380 * day,
        title="An old family quarrel",
    )
    w["W"] = dispute(med, "T-D2-S1-C1", received=NOW - 5 * day, title="Parking in district 2")
    w["street2_analyst"] = member("analyst-s21", Role.ANALYST, med["T-D2-S1-office"])
    w["steward"] = member("steward-city", Role.DATA_STEWARD, med["centre"])
    return w


def page(user: Any, code: str) -> str:
    cl = Client(HTTP_ACCEPT_LANGUAGE="en")
    cl.force_login(user)
    with clock.frozen(NOW):
        r = cl.get(f"/city/j/{code}/profile/")
    assert r.status_code == 200
    return r.content.decode()


def section(html: str) -> str:
    start = html.index('id="disputes"')
    return html[start : html.index("</section>", start)]


def test_the_disputes_of_a_street(place: dict[str, Any]) -> None:
    part = section(page(place["analyst"], "T-D1-S1"))
    assert 'data-figure="disputes-open">1<' in part
    assert 'data-figure="disputes-overdue">1<' in part
    assert 'data-figure="disputes-365">2<' in part  # X and Y; Z is older
    assert 'data-figure="disputes-resolved-365">1<' in part  # Y
    assert 'data-key="neighbour"><td>Neighbours</td><td class="num">1<' in part
    assert 'data-key="labour"><td>Labour and wages</td><td class="num">1<' in part
    assert 'data-key="family"' not in part
    codes = [place[k].code for k in ("X", "Y", "Z")]
    positions = [part.index(f'data-code="{c}"') for c in codes]
    assert positions == sorted(positions)  # the latest first
    assert f'href="/mediation/d/{place["X"].code}/"' in part
    assert "Noise from the workshop at night" in part
    assert place["W"].code not in part  # district 2


def test_no_party_is_named(place: dict[str, Any]) -> None:
    html = page(place["analyst"], "T-D1-S1-C1")
    assert 'id="disputes"' in html
    assert "王小明" not in html and "13900000001" not in html


def test_a_community(place: dict[str, Any]) -> None:
    part = section(page(place["analyst"], "T-D1-S1-C2"))
    assert 'data-figure="disputes-open">0<' in part
    assert 'data-figure="disputes-365">1<' in part
    assert place["Y"].code in part and place["X"].code not in part


def test_figures_link_for_an_area_of_the_figures(place: dict[str, Any]) -> None:
    assert 'href="/mediation/figures/?area=T-D1"' in section(page(place["analyst"], "T-D1"))
    assert "/mediation/figures/" not in section(page(place["analyst"], "T-D1-S1"))


def test_shown_only_over_ones_area(place: dict[str, Any]) -> None:
    who = place["street2_analyst"]
    part = section(page(who, "T-D2-S1"))
    assert place["W"].code in part and 'data-figure="disputes-open">1<' in part
    assert 'id="disputes"' not in page(who, "T-D1-S1")


def test_hidden_without_disputes_read(place: dict[str, Any]) -> None:
    html = page(place["steward"], "T-D1-S1")
    assert 'id="place"' in html
    assert 'id="disputes"' not in html
    assert place["X"].code not in html
