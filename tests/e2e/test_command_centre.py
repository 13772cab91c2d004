"""The command centre in a real browser, on a wall screen (1920×1080) and a laptop (1366×768):
the map is drawn from the figures, a district opens its streets and leads back, the live
alerts list takes in a new alert without a reload, and the page reads in Chinese."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from civitas.kit import clock
from civitas.risk.models import Alert, AlertKind
from tests.appeals.conftest import case_city  # noqa: F401
from tests.assessment.conftest import month  # noqa: F401
from tests.risk.test_command import NOW, scene  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
WALL = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _no_kept_figures() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ready(scene: dict[str, Any], settings: Any) -> Any:  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = scene["analyst"]
    user.set_password(PASSWORD)
    user.save()
    with clock.frozen(NOW):
        yield scene


def open_page(browser: Any, viewport: dict[str, int], locale: str = "en-GB") -> Any:
    from tests.e2e.conftest import Problems

    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.problems = Problems()
    page.problems.watch(page)
    return page


def sign_in(page: Any, base: str, then: str) -> None:
    page.goto(f"{base}/login/?next={then}")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/command/"))


def map_ready(page: Any, *, look: bool = False) -> dict[str, Any]:
    """The map's state; ``look`` also counts painted pixels (once a page: reading a canvas
    back more often makes Chromium warn)."""
    page.wait_for_selector("#command-map[data-ready=true] canvas")
    info: dict[str, Any] = page.evaluate(
        """(look) => {
          const el = document.getElementById('command-map');
          const c = el.querySelector('canvas');
          let painted = 0;
          if (look) {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4 * 50) { if (d[i] > 0) painted++; }
          }
          const s = window.civitasCommandChart.getOption().series[0];
          return {
            count: Number(el.dataset.seriesCount), metric: el.dataset.metric, painted: painted,
            names: s.data.map(x => x.name), values: s.data.map(x => x.value),
            width: c.getBoundingClientRect().width, height: c.getBoundingClientRect().height
          };
        }""",
        look,
    )
    return info


def click_map_at(page: Any, lon: float, lat: float) -> None:
    xy = page.evaluate(
        "([lon, lat]) => window.civitasCommandChart.convertToPixel({seriesIndex: 0}, [lon, lat])",
        [lon, lat],
    )
    box = page.locator("#command-map canvas").first.bounding_box()
    page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])


def no_horizontal_scroll(page: Any) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


class TestCommandCentre:
    def test_wall_screen_map_drill_down_and_live_alerts(
        self, live_server: Any, browser: Any, ready: dict[str, Any], screenshots: Path
    ) -> None:
        page = open_page(browser, WALL)
        sign_in(page, live_server.url, "/command/%3Fwall%3D1%26every%3D2")
        info = map_ready(page, look=True)
        assert page.locator(".command.wall").count() == 1
        assert info["count"] == 2 and info["names"] == ["T-D1", "T-D2"]
        assert info["values"] == [3, 0] and info["metric"] == "today"
        assert info["painted"] > 100 and info["width"] > 600
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(screenshots / "command-wall.png"), full_page=False)

        # Colour by risk without a reload: the same figures as the table.
        page.click(".cc-switch a[data-metric=risk]")
        page.wait_for_selector("#command-map[data-metric=risk]")
        assert map_ready(page)["values"] == [7, 3]
        assert "show=risk" in page.url
        assert (
            page.locator(".cc-switch a[aria-current=true]").get_attribute("data-metric") == "risk"
        )

        # Drill down: District 1, then its first street, then back.
        click_map_at(page, 1.0, 1.0)
        page.wait_for_url(re.compile(r"area=T-D1&"))
        info = map_ready(page)
        assert info["names"] == ["T-D1-S1", "T-D1-S2"] and info["values"] == [7, 0]
        assert "wall=1" in page.url  # the wall view is kept
        click_map_at(page, 0.5, 1.5)
        page.wait_for_url(re.compile(r"area=T-D1-S1&"))
        info = map_ready(page)
        assert info["names"] == ["T-D1-S1-C1", "T-D1-S1-C2"]
        page.screenshot(path=str(screenshots / "command-street.png"), full_page=False)
        page.click("a.cc-up")
        page.wait_for_url(re.compile(r"area=T-D1&"))
        assert map_ready(page)["count"] == 2
        assert "North 1 District" in page.locator("h1").inner_text()

        # A new alert is stored: the list takes it in at the next poll, without a reload.
        items = page.locator("#live-alerts li.cc-alert")
        before = items.count()
        assert before == 1
        page.evaluate("() => { window.__notReloaded = true; }")
        j = ready["T-D1-S2"]
        Alert.objects.create(
            city="T",
            kind=AlertKind.HARM,
            category="fire",
            jurisdiction=j,
            jurisdiction_path=j.path,
            start=date(2026, 11, 30),
            end=date(2026, 11, 30),
            detected_on=date(2026, 11, 30),
            detected_at=NOW + timedelta(minutes=1),
            observed=1,
            key="harm-fire",
        )
        page.wait_for_function(
            "n => document.querySelectorAll('#live-alerts li.cc-alert').length === n",
            arg=before + 1,
            timeout=10_000,
        )
        assert "fire" in items.first.inner_text()
        assert page.evaluate("() => window.__notReloaded") is True
        assert page.problems.items == []
        page.context.close()

    def test_laptop_and_chinese(
        self, live_server: Any, browser: Any, ready: dict[str, Any], screenshots: Path
    ) -> None:
        page = open_page(browser, LAPTOP)
        sign_in(page, live_server.url, "/command/")
        info = map_ready(page, look=True)
        assert info["count"] == 2 and info["painted"] > 100
        assert no_horizontal_scroll(page)
        # The map and the live alerts share the first screen.
        live = page.locator(".cc-live").bounding_box()
        assert live is not None and live["y"] < LAPTOP["height"]
        page.screenshot(path=str(screenshots / "command-laptop.png"), full_page=True)

        # The no-JavaScript way down: the table's link.
        page.click("table.cc-places >> text=North 2 District")
        page.wait_for_url(re.compile(r"area=T-D2"))
        assert map_ready(page)["names"] == ["T-D2-S1", "T-D2-S2"]

        page.select_option("#language-select", "zh-hans")
        page.click("form.lang button[type=submit]")
        page.wait_for_selector("html[lang=zh-hans]")
        info = map_ready(page)
        assert info["count"] == 2
        assert "指挥中心" in page.locator("h1").inner_text()
        assert "北2区" in page.locator("h1").inner_text()
        text = page.locator("main").inner_text()
        assert "今日受理" in text and "实时预警" in text
        page.screenshot(path=str(screenshots / "command-zh.png"), full_page=True)
        assert page.problems.items == []
        page.context.close()
