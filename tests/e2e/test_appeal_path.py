"""The whole path of an appeal in a real browser (the "Done when" of issue 3).

A resident submits with a photo and a point clicked on the map; the case is located,
classified and dispatched; the unit returns it; the centre arbitrates; the unit accepts, asks
for an extension, the leader approves, the unit resolves; the resident rates "dissatisfied",
the case reopens, is resolved again and rated "satisfied"; the rankings move. And a whistle
case with two departments, one of which reports late.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from PIL import Image

from civitas.appeals import services
from civitas.appeals.models import Appeal, Rating, Status, Summons
from civitas.kit import clock
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories
from tests.appeals.conftest import submit
from tests.e2e.conftest import Problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def path_city(city: dict[str, Any], settings: Any, tmp_path: Path) -> dict[str, Any]:
    """tests/appeals' case_city, committed (live_server), with a second D1 department."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=city["leaf"],
            level=city["levels"]["district"],
            city="T",
            unit_type="housing",
        )
        city["T-D1-urban"] = org_services.save_unit(
            actor="test",
            code="T-D1-URBAN",
            kind=UnitKind.DEPARTMENT,
            department_type="urban_management",
            name_en="District 1 Urban Management Bureau",
            name_zh="1区城管局",
            jurisdiction=city["T-D1"],
        )
    m = factories.member
    city["dispatcher"] = m("dispatcher", Role.DISPATCHER, city["centre"], display_name="Zhao")
    city["handler"] = m("handler", Role.UNIT_HANDLER, city["T-D1-housing"], display_name="Qian")
    city["leader"] = m("leader", Role.UNIT_LEADER, city["T-D1-housing"], display_name="Sun")
    city["street_handler"] = m("street", Role.UNIT_HANDLER, city["T-D1-S1-office"])
    city["urban_handler"] = m("urban", Role.UNIT_HANDLER, city["T-D1-urban"])
    city["resident"] = m("resident", Role.RESIDENT)
    return city


class People:
    """One browser context per person, each watched for console errors and CSP violations."""

    def __init__(self, browser: Any, base: str) -> None:
        self.browser, self.base = browser, base
        self.contexts: list[Any] = []
        self.problems = Problems()

    def page(self, username: str | None = None, *, mobile: bool = False) -> Any:
        size = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
        context = self.browser.new_context(viewport=size, locale="en-GB", has_touch=mobile)
        self.contexts.append(context)
        pg = context.new_page()
        pg.set_default_timeout(15_000)
        self.problems.watch(pg)
        if username:
            pg.goto(f"{self.base}/login/?next=/work/")
            pg.fill("#id_username", username)
            pg.fill("#id_password", PASSWORD)
            pg.click("main button[type=submit]")
            pg.wait_for_url(re.compile(r"/work/$"))
        return pg

    def close(self) -> None:
        for c in self.contexts:
            c.close()


@pytest.fixture
def people(browser: Any, live_server: Any) -> Iterator[People]:
    p = People(browser, live_server.url)
    yield p
    p.close()


def png(path: Path, colour: str) -> Path:
    Image.new("RGB", (64, 48), colour).save(path, format="PNG")
    return path


def act(page: Any, action: str, **fields: str) -> None:
    """Open an action's panel on the case page, fill it, send it, wait for the swap."""
    panel = page.locator(f"#act-{action}")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    for name, value in fields.items():
        page.fill(f"#f-{action}-{name}", value)
    version = page.locator(f"#act-{action} input[name=version]").input_value()
    page.click(f"#act-{action} button[data-action={action}]")
    # HTMX swaps the case in place; the new forms carry the next version.
    page.wait_for_function(
        "v => { const i = document.querySelector('#case-live input[name=version]');"
        " return !i || i.value !== v || document.querySelector('.messages .error'); }",
        arg=version,
    )
    errors = page.locator("#case-live .messages .error")
    assert errors.count() == 0, errors.first.inner_text()


def status_of(page: Any) -> str:
    return str(page.locator("#case-status").inner_text())


def open_case(page: Any, base: str, ticket: str) -> None:
    page.goto(f"{base}/case/{ticket}/")
    assert page.locator("h1 .ticket").inner_text() == ticket


def rate(page: Any, link: str, satisfaction: str, solved: bool, comment: str) -> None:
    page.goto(link)
    page.check("#id_responded_0")
    page.check("#id_solved_0" if solved else "#id_solved_1")
    page.check(f"input[name=satisfaction][value={satisfaction}]")
    page.fill("#id_comment", comment)
    page.click("text=Send my rating")
    page.wait_for_selector(".messages li")


def ranking_row(page: Any, base: str, unit_name: str) -> str | None:
    """The unit's line on the assessment page (None when the page does not exist)."""
    try:
        reverse("assessment")
    except NoReverseMatch:
        return None
    from civitas.assessment import services as assessment

    with transaction.atomic():
        assessment.refresh()
    page.goto(f"{base}/assessment/?group=departments")
    row = page.locator("tr", has_text=unit_name)
    return str(row.first.inner_text()) if row.count() else ""


class TestTheWholePath:
    def test_submit_return_arbitrate_extend_resolve_rate_reopen_rate(
        self, people: People, path_city: dict[str, Any], tmp_path: Path, screenshots: Path
    ) -> None:
        base = people.base

        # -- a resident on a phone, without an account -----------------------------------
        res = people.page(mobile=True)
        res.goto(f"{base}/appeal/new/")
        res.wait_for_selector("#pick-map[data-ready=true] canvas")
        xy = res.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('pick-map'))"
            ".convertToPixel('geo', [0.5, 0.5])"
        )
        res.locator("#pick-map").scroll_into_view_if_needed()
        box = res.locator("#pick-map").bounding_box()
        res.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        res.wait_for_function(
            "() => document.getElementById('pick-result').textContent.includes('Oak 111')"
        )
        assert "North 1 District" in res.locator("#pick-result").inner_text()
        res.fill("#id_text", "The lift in building 3 is broken again; old people are stuck")
        res.fill("#id_address", "Building 3, Oak estate")
        res.set_input_files("#id_photos", str(png(tmp_path / "lift.png", "red")))
        res.fill("#id_name", "Li Lei")
        res.fill("#id_phone", "13800000000")
        res.screenshot(path=str(screenshots / "appeal-new-phone.png"), full_page=True)
        res.click("form.appeal-form button[type=submit]")
        res.wait_for_url(re.compile(r"/appeal/submitted/"))
        ticket = res.locator("#ticket").inner_text()
        link = res.locator("#track-link").get_attribute("href")
        assert link and "/track/" in link
        assert "Keep this link" in res.locator("main").inner_text()

        a = Appeal.objects.get(ticket=ticket)
        assert abs(a.lat - 0.5) < 0.05 and abs(a.lon - 0.5) < 0.05  # one pixel of a phone map
        assert a.jurisdiction.code == "T-D1-S1-C1"  # located
        assert a.matter.code == "T-M1-1-1"  # classified from the text
        assert a.status == Status.DISPATCHED and a.lead_unit.code == "T-D1-HOUSING"
        assert a.attachments.filter(purpose="photo").count() == 1
        res.goto(link)
        assert res.locator("#status").inner_text() == "Dispatched"

        # -- the housing bureau returns it -------------------------------------------------
        handler = people.page("handler")
        row = handler.locator("table.cases tr", has_text=ticket)
        assert "On time" in row.inner_text()
        row.locator("a.ticket").click()
        handler.wait_for_url(re.compile(rf"/case/{ticket}/$"))
        assert "13800000000" in handler.locator("#contact").inner_text()
        act(handler, "return", reason="Lifts in private estates are the property manager's")
        assert status_of(handler) == "Returned by the unit"

        # -- the centre arbitrates: the bureau must handle it ------------------------------
        centre = people.page("dispatcher")
        centre.goto(f"{base}/desk/?queue=returned")
        assert centre.locator("#tab-returned .count").inner_text() == "1"
        centre.locator("table.cases a.ticket", has_text=ticket).click()
        centre.wait_for_url(re.compile(rf"/case/{ticket}/$"))
        centre.locator("#act-arbitrate summary").click()
        centre.select_option("#f-arbitrate-unit", "T-D1-HOUSING")
        act(centre, "arbitrate", reason="Lift safety is the housing bureau's duty (list 2024)")
        assert status_of(centre) == "Dispatched"
        assert "binding" in centre.locator("#assignments").inner_text()

        # -- the bureau accepts and asks for more time; the leader approves ----------------
        open_case(handler, base, ticket)
        assert handler.locator("#act-return").count() == 0  # the ruling binds
        act(handler, "accept")
        assert status_of(handler) == "Accepted"
        act(handler, "request_extension", days="5", reason="The spare part comes from Shanghai")
        assert "Pending" in handler.locator("#requests").inner_text()
        due_before = Appeal.objects.get(ticket=ticket).resolve_due

        leader = people.page("leader")
        open_case(leader, base, ticket)
        leader.click("#requests button[value=approve]")
        leader.wait_for_function(
            "() => document.querySelector('#requests').textContent.includes('Approved')"
        )
        assert Appeal.objects.get(ticket=ticket).resolve_due > due_before

        # -- the bureau resolves with evidence ----------------------------------------------
        open_case(handler, base, ticket)
        handler.locator("#act-resolve summary").click()
        handler.set_input_files("#f-resolve-evidence", str(png(tmp_path / "fixed.png", "green")))
        act(handler, "resolve", result="The motor was replaced; the lift runs again")
        assert status_of(handler) == "Resolved"
        assert Appeal.objects.get(ticket=ticket).attachments.filter(purpose="evidence").count() == 1
        handler.screenshot(path=str(screenshots / "case.png"), full_page=True)

        # -- the resident is not satisfied: the case is handled again ----------------------
        rate(res, link, "dissatisfied", solved=False, comment="It broke again the next day")
        assert res.locator("#status").inner_text() == "Dispatched"
        a = Appeal.objects.get(ticket=ticket)
        assert a.reopen_count == 1 and a.lead_unit.code == "T-D1-HOUSING"
        res.screenshot(path=str(screenshots / "track-phone.png"), full_page=True)
        before = ranking_row(centre, base, "District 1 Housing Bureau")

        open_case(handler, base, ticket)
        act(handler, "accept")
        act(handler, "resolve", result="The whole control board was replaced")
        assert status_of(handler) == "Resolved"

        rate(res, link, "satisfied", solved=True, comment="Works now, thank you")
        assert res.locator("#status").inner_text() == "Closed"
        ratings = list(Rating.objects.filter(appeal__ticket=ticket).order_by("round"))
        assert [r.satisfaction for r in ratings] == ["dissatisfied", "satisfied"]

        # -- the rankings follow ----------------------------------------------------------
        after = ranking_row(centre, base, "District 1 Housing Bureau")
        if after is not None:
            assert after, "the bureau is missing from the departments' ranking"
            assert after != before, "the ranking did not change after the second rating"
            centre.screenshot(path=str(screenshots / "assessment-after.png"), full_page=True)

        assert people.problems.items == []


class TestWhistle:
    def test_two_departments_summoned_one_reports_late(
        self, people: People, path_city: dict[str, Any], screenshots: Path
    ) -> None:
        c, base = path_city, people.base
        a = submit(c, text="The lift in building 9 is broken and the hall floods").appeal
        with transaction.atomic():
            services.dispatch(
                actor=c["dispatcher"], appeal=a, unit=c["T-D1-S1-office"], reason="street leads"
            )
        with transaction.atomic():
            services.accept(actor=c["street_handler"], appeal=Appeal.objects.get(pk=a.pk))

        street = people.page("street")
        open_case(street, base, a.ticket)
        street.locator("#act-whistle summary").click()
        street.check("#f-whistle-units input[value=T-D1-HOUSING]")
        street.check("#f-whistle-units input[value=T-D1-URBAN]")
        act(street, "whistle", note="Water in the lift shaft: both departments on site")
        table = street.locator("#summonses").inner_text()
        assert "District 1 Housing Bureau" in table and "Urban Management" in table

        # Housing reports in time.
        housing = people.page("handler")
        open_case(housing, base, a.ticket)
        act(housing, "report_summons", note="On site")

        # Urban management's deadline has passed when it reports.
        Summons.objects.filter(appeal=a, unit=c["T-D1-urban"]).update(
            due_at=clock.now() - timedelta(minutes=5),
            summoned_at=clock.now() - timedelta(minutes=35),
        )
        urban = people.page("urban")
        open_case(urban, base, a.ticket)
        act(urban, "report_summons", note="Arrived")

        open_case(street, base, a.ticket)
        rows = street.locator("#summonses tbody tr")
        assert rows.count() == 2
        housing_row = street.locator("#summonses tr", has_text="Housing").inner_text()
        urban_row = street.locator("#summonses tr", has_text="Urban").inner_text()
        assert "in time" in housing_row and "late" not in housing_row
        assert "late" in urban_row
        reported = {s.unit.code: s for s in Summons.objects.filter(appeal=a)}
        assert all(s.reported_at for s in reported.values())
        assert not reported["T-D1-HOUSING"].late and reported["T-D1-URBAN"].late
        street.screenshot(path=str(screenshots / "whistle.png"), full_page=True)
        assert people.problems.items == []
