"""A dispatcher's walk through the pages in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.org.models import Role
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/city/")
    assert "/login/" in page.url  # sign-in first
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/city/$"))


@pytest.fixture
def dispatcher(city: dict[str, Any], settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return factories.member(
        "dispatcher", Role.DISPATCHER, city["T-D1-centre"], display_name="Wang Fang"
    )


class TestDispatcherInTheBrowser:
    def test_browse_search_map_and_language(
        self, live_server: Any, page: Any, dispatcher: Any, screenshots: Path
    ) -> None:
        base = live_server.url
        sign_in(page, base, "dispatcher")

        # The city tree.
        assert page.locator("h1").inner_text() == "City"
        assert page.locator("tbody tr").first.inner_text().startswith("City")
        assert page.get_attribute("html", "lang") == "en"
        page.screenshot(path=str(screenshots / "city.png"), full_page=True)

        # Live search through HTMX: results arrive without a page load.
        page.fill("#place-search", "Elm 1")
        results = page.locator("#search-results li")
        results.first.wait_for()
        assert results.count() == 2
        assert "Elm 11 Street" in page.locator("#search-results").inner_text()
        assert page.url.endswith("/city/")

        # Open a jurisdiction from the tree: ECharts draws its map on a canvas.
        page.click("text=Testville")
        page.wait_for_url(re.compile(r"/city/j/T/$"))
        page.click("table >> text=North 1 District")
        page.wait_for_url(re.compile(r"/city/j/T-D1/$"))
        page.wait_for_selector("#map[data-ready=true] canvas")
        box = page.locator("#map canvas").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 200
        painted = page.evaluate(
            """() => {
              const c = document.querySelector('#map canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let i = 3; i < d.length; i += 4 * 50) { if (d[i] > 0) n++; }
              return n;
            }"""
        )
        assert painted > 100, "the map canvas is blank"
        assert "Elm 12 Street" in page.locator("main table").inner_text()
        page.screenshot(path=str(screenshots / "jurisdiction.png"), full_page=True)

        # Locate a point.
        page.goto(f"{base}/city/locate/?lat=0.5&lon=1.5")
        chain = page.locator("ol.chain").inner_text()
        assert "North 1 District" in chain and "Oak 121 Community" in chain

        # Scoped directory: only district 1.
        page.click("nav.main >> text=Units")
        units = page.locator("main table").inner_text()
        assert "District 1 Housing Bureau" in units and "District 2" not in units

        page.click("nav.main >> text=Matters")
        assert "Lift out of service" in page.locator(".matter-tree").inner_text()
        page.screenshot(path=str(screenshots / "matters.png"), full_page=True)
        page.click("a.brand")
        assert "Wang Fang" in page.locator("h1").inner_text()
        assert "Dispatcher" in page.locator("main").inner_text()
        page.screenshot(path=str(screenshots / "home.png"), full_page=True)

        # Switch to Simplified Chinese with the language menu.
        page.goto(f"{base}/city/j/T-D1/")
        page.wait_for_selector("#map[data-ready=true] canvas")
        with page.expect_navigation():
            page.select_option("#language-select", "zh-hans")
        assert page.get_attribute("html", "lang") == "zh-hans"
        assert "北1区" in page.locator("h1").inner_text()  # names follow the language
        page.wait_for_selector("#map[data-ready=true] canvas")
        page.screenshot(path=str(screenshots / "jurisdiction-zh.png"), full_page=True)
        with page.expect_navigation():
            page.select_option("#language-select", "en")
        assert page.get_attribute("html", "lang") == "en"

        assert page.problems.items == []

    def test_auditor_verifies_the_chain(
        self, live_server: Any, page: Any, city: dict[str, Any], settings: Any, screenshots: Path
    ) -> None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        factories.member("auditor", Role.AUDITOR, city["centre"])
        base = live_server.url
        page.goto(f"{base}/login/?next=/audit/")
        page.fill("#id_username", "auditor")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/audit/$"))
        page.click("text=Verify the chain")
        page.locator("#verify-result .ok").wait_for()
        assert "intact" in page.locator("#verify-result").inner_text()
        assert page.url.endswith("/audit/")
        page.screenshot(path=str(screenshots / "audit.png"))
        assert page.problems.items == []

    def test_administrator_edits_the_responsibility_list(
        self, live_server: Any, page: Any, city: dict[str, Any], settings: Any, screenshots: Path
    ) -> None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        factories.member("admin", Role.ADMINISTRATOR, city["centre"])
        base = live_server.url
        page.goto(f"{base}/login/?next=/responsibilities/new/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/responsibilities/new/$"))
        page.select_option("#id_matter", "T-M1-1-1")
        page.select_option("#id_level", "street")
        page.select_option("#id_unit_type", "street_office")
        page.click("main button[type=submit]")
        # No reason: the form says so and nothing is saved.
        assert "This field is required" in page.locator(".has-error").inner_text()
        page.fill("#id_reason", "Streets handle broken lifts (2024 list)")
        page.screenshot(path=str(screenshots / "responsibility-form.png"), full_page=True)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/responsibilities/\d+/$"))
        assert "Streets handle broken lifts (2024 list)" in page.locator(".history").inner_text()
        page.screenshot(path=str(screenshots / "responsibility.png"), full_page=True)
        assert page.problems.items == []
