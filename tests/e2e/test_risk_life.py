"""A risk's whole life in a real browser (issue 6): an alert stored as the detectors store it
is opened, its appeals are seen on the map, it becomes a yellow risk, measures are set, the
risk is reviewed, spreads to another district and rises to orange, and is closed with an
outcome; the timeline shows every step, and the pages read in Chinese too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.kit import audit
from civitas.risk.models import AlertStatus, Level, RiskItem, RiskStatus
from tests.risk import register_setup
from tests.risk.register_setup import RESIDENT_NAME, RESIDENT_PHONE, cluster

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
reg_city = register_setup.reg_city
PASSWORD = "correct horse battery staple"


def _login(page: Any, base: str, username: str, then: str) -> None:
    page.goto(f"{base}/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then) + "$"))


def _no_error(page: Any) -> None:
    errors = page.locator(".messages .error")
    assert errors.count() == 0, errors.first.inner_text()


def _send(page: Any, form: str) -> None:
    """Send one of the risk page's forms; htmx swaps the live part, carrying a new version."""
    version = page.get_attribute("#risk-live", "data-version")
    page.evaluate("window.stillHere = true")
    page.click(f"#{form} button[type=submit]")
    page.wait_for_function(
        "v => { const l = document.querySelector('#risk-live');"
        " return (l && l.dataset.version !== v) || document.querySelector('.messages .error'); }",
        arg=version,
    )
    assert page.evaluate("window.stillHere === true")  # swapped in place, not reloaded
    _no_error(page)


def _timeline(page: Any) -> list[str]:
    return [str(li.get_attribute("data-action")) for li in page.locator("#timeline li").all()]


def test_a_risk_from_alert_to_closure(
    reg_city: dict[str, Any], page: Any, live_server: Any, screenshots: Path
) -> None:
    c = reg_city
    alert = cluster(c, n=5, step=0.04)  # far enough apart to see each dot
    tickets = list(alert.links.values_list("appeal__ticket", flat=True))
    base = live_server.url
    _login(page, base, "analyst", "/risk/alerts/")

    # The queue: the new alert, opened.
    row = page.locator("table.alerts tbody tr").first
    assert "Space-time cluster" in row.inner_text() and "New" in row.inner_text()
    row.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/risk/alerts/{alert.pk}/$"))
    why = page.locator("#why").inner_text()
    assert "5 appeals of “Lift out of service”" in why and "within 400 m" in why
    assert "p = 0.0010" in why and "log-likelihood ratio" in why
    # Its appeals, listed and on the map (the points drawn on the district boundaries).
    listed = page.locator("table.appeals-behind tbody").inner_text()
    assert all(t in listed for t in tickets)
    page.wait_for_selector("#risk-map[data-ready=true] canvas")
    assert page.get_attribute("#risk-map", "data-points") == "5"
    main = page.locator("main").inner_text()
    assert RESIDENT_NAME not in main and RESIDENT_PHONE not in main
    page.screenshot(path=str(screenshots / "risk-alert.png"), full_page=True)

    # Made a yellow risk owned by District 1's housing bureau.
    form = page.locator("#promote-form")
    form.locator("#p-title").fill("Lifts failing in Elm 11")
    form.locator("#p-level").select_option("yellow")
    form.locator("#p-owner").select_option(c["T-D1-housing"].code)
    form.locator("#p-measures").fill("Inspect every lift of the estate")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/risk/risks/T-R-\d{4}-0001/$"))
    _no_error(page)
    risk = RiskItem.objects.get()
    assert page.locator("#risk-level .level").inner_text() == "Yellow (elevated)"
    assert page.get_attribute("#risk-level .level", "data-level") == "yellow"

    # Measures set.
    page.fill("#u-measures", "Inspect every lift; the contractor replaces failed parts")
    _send(page, "form-update")
    assert "contractor replaces" in page.locator("#risk-measures").inner_text()

    # Reviewed.
    page.fill("#rv-note", "Three lifts repaired, two waiting for parts")
    _send(page, "form-review")
    assert "The review is recorded." in page.locator(".messages").inner_text()

    # It spreads to District 2: escalated to orange.
    page.select_option("#s-district", "T-D2")
    page.fill("#s-note", "The same contractor's lifts fail in North 2 District")
    _send(page, "form-spread")
    assert page.locator("#risk-level .level").inner_text() == "Orange (serious)"
    assert "escalated" in page.locator("#risk-level").inner_text()
    assert "North 2 District" in page.locator("#risk-districts").inner_text()
    page.wait_for_selector("#risk-map[data-ready=true] canvas")
    assert page.get_attribute("#risk-map", "data-points") == "5"

    # The register shows it orange, in colour and in words.
    page.goto(f"{base}/risk/risks/")
    cell = page.locator(f"tr[data-code='{risk.code}'] .level")
    assert cell.inner_text() == "Orange (serious)"
    assert "level-orange" in str(cell.get_attribute("class"))
    page.screenshot(path=str(screenshots / "risk-register.png"), full_page=True)

    # Closed with an outcome.
    page.goto(f"{base}/risk/risks/{risk.code}/")
    page.select_option("#c-outcome", "resolved")
    page.fill("#c-note", "All failed lifts replaced; no new reports for two weeks")
    _send(page, "form-close")
    assert "Closed" in page.locator("#risk-level").inner_text()
    assert "Dealt with" in page.locator("#risk-level").inner_text()
    steps = _timeline(page)
    assert steps == ["create", "alert", "measures", "review", "spread", "escalate", "close"]
    timeline = page.locator("#timeline").inner_text()
    assert "Yellow (elevated) → Orange (serious)" in timeline
    assert "Three lifts repaired" in timeline and "All failed lifts replaced" in timeline
    assert "Spread to another district North 2 District" in timeline
    assert "Zhou" in timeline and "user:" not in timeline  # people by name
    page.screenshot(path=str(screenshots / "risk-closed.png"), full_page=True)

    # Once in Chinese.
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.locator("#risk-level .level").inner_text() == "橙色（较大）"
    zh_timeline = page.locator("#timeline").inner_text()
    assert "升级" in zh_timeline and "蔓延至其他区" in zh_timeline and "研判复核" in zh_timeline
    page.goto(f"{base}/risk/alerts/{alert.pk}/")
    assert "触发原因" in page.locator("#why").inner_text()
    page.wait_for_selector("#risk-map[data-ready=true] canvas")
    page.screenshot(path=str(screenshots / "risk-alert-zh.png"), full_page=True)
    with page.expect_navigation():
        page.select_option("#language-select", "en")

    risk.refresh_from_db()
    alert.refresh_from_db()
    assert risk.status == RiskStatus.CLOSED and risk.level == Level.ORANGE
    assert risk.districts == ["T-D1", "T-D2"] and alert.status == AlertStatus.PROMOTED
    assert audit.verify().ok
    assert page.problems.items == []
