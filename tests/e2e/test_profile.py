"""An analyst of the city centre opens a community's profile from the city page and sees its
population from a dataset granted by the street office, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from civitas.hub.models import AccessLog, Grant, GrantStatus
from civitas.kit import clock
from civitas.org.models import Role
from tests import factories
from tests.hub import helpers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
C1 = "T-D1-S1-C1"


def test_an_analyst_opens_a_community_profile_from_the_city_page(
    live_server: Any, page: Any, city: dict[str, Any], screenshots: Path
) -> None:
    ds = helpers.residents_by_grid(city)
    Grant.objects.create(
        dataset=ds,
        consumer_unit=city["centre"],
        fields=["grid", "residents"],
        area=city[C1],
        area_path=city[C1].path,
        purpose="Planning services for the elderly",
        legal_basis="Community services regulation",
        expires_at=clock.now() + timedelta(days=90),
        status=GrantStatus.APPROVED,
        requested_by="test",
    )
    factories.member("analyst", Role.ANALYST, city["centre"])

    base = live_server.url
    page.goto(f"{base}/login/?next=/city/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/city/$"))
    page.click("main >> text=Testville")
    page.click("main table >> text=North 1 District")
    page.click("main table >> text=Elm 11 Street")
    page.click("main table >> text=Oak 111 Community")
    page.wait_for_url(re.compile(rf"/city/j/{C1}/$"))
    page.click("text=Profile of this place")
    page.wait_for_url(re.compile(rf"/city/j/{C1}/profile/$"))

    assert page.locator("h1").inner_text().startswith("Profile of Oak 111 Community")
    people = page.locator("#people-and-enterprises")
    assert people.locator("[data-figure=population]").inner_text() == "2,034"
    assert "Residents by grid" in people.inner_text()
    assert "City Service Centre" in people.inner_text()
    shared = page.locator("#shared-data")
    assert shared.locator("[data-figure=records]").inner_text() == "2"
    page.wait_for_selector("#map[data-ready=true]")
    page.screenshot(path=str(screenshots / "profile-community.png"), full_page=True)
    assert page.problems.items == []
    assert AccessLog.objects.filter(channel="profile", rows=2).count() == 1
