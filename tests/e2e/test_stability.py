"""A social stability risk assessment from first draft to the record, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.kit import audit
from civitas.risk.models import StabilityAssessment
from tests.risk.stability_fixtures import (  # noqa: F401
    case_city,
    ssa_city_fixture,
    submit,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/?next=/risk/stability/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/risk/stability/$"))


def test_an_analyst_assesses_a_project_and_puts_it_on_record(
    live_server: Any, page: Any, ssa_city: dict[str, Any], screenshots: Path
) -> None:
    c = ssa_city
    appeal = submit(c, text="The lift will be blocked by the depot works, call 13800000000").appeal
    base = live_server.url
    sign_in(page, base, "analyst")
    assert page.locator("h1").inner_text() == "Social stability risk assessments"

    # A new draft with its findings.
    page.click("text=New assessment")
    page.fill("#id_title", "Bus depot on the old market site")
    page.fill("#id_description", "A depot for 120 electric buses, open 5:00 to 24:00.")
    page.select_option("#id_jurisdiction", str(c["T-D1-S1"].pk))
    page.select_option("#id_decision_unit", str(c["T-D1-housing"].pk))
    notes = {
        "legality": ("4", "In the district plan; permits in order."),
        "reasonableness": ("4", "Compensation for the market stalls follows the 2025 standard."),
        "feasibility": ("5", "Funded; works in the school holidays."),
        "controllability": ("4", "Liaison office and a complaints line."),
    }
    for name, (score, note) in notes.items():
        page.select_option(f"#id_{name}", score)
        page.fill(f"#id_{name}_note", note)
    page.fill("#id_consultation_summary", "One hearing and a survey of 60 households.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/risk/stability/T-SSA-\d{4}-0001/$"))
    a = StabilityAssessment.objects.get()
    assert "Low" in page.locator(".ssa-outcome").inner_text()
    assert "Proceed" in page.locator(".ssa-decision").inner_text()

    # Consultation input: 15 of 60 against makes it medium (25 %).
    page.click("text=Add consultation input")
    page.select_option("#id_c-source", "survey")
    page.fill("#id_c-held_on", "2026-11-10")
    page.fill("#id_c-participants", "60")
    page.fill("#id_c-in_favour", "40")
    page.fill("#id_c-against", "15")
    page.fill("#id_c-neutral", "5")
    page.fill("#id_c-concerns", "Night-time noise; buses passing the school gate")
    page.click("text=Add the input")
    page.wait_for_url(re.compile(r"#consultation$"))
    assert "25.0% of the counted positions are against" in page.locator("#opposition").inner_text()
    outcome = page.locator(".ssa-outcome").inner_text()
    assert "Medium" in outcome and "Proceed with the measures" in outcome

    # An appeal about the project, by its ticket: no personal data on the record.
    page.fill("#id_ap-ticket", appeal.ticket)
    page.click("text=Attach the appeal")
    page.wait_for_url(re.compile(r"#appeals$"))
    assert appeal.ticket in page.locator(".ssa-appeals").inner_text()
    assert "13800000000" not in page.content()

    # Medium needs measures: the record button waits for them.
    assert "needs measures" in page.locator(".ssa-missing").inner_text()
    assert page.locator("text=Put on record").is_disabled()
    page.click("text=Edit the draft")
    page.fill("#id_measures", "Quiet hours from 22:00; a fence and trees along the school.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(rf"/risk/stability/{a.code}/$"))
    assert "The draft is complete." in page.locator("#record").inner_text()
    page.screenshot(path=str(screenshots / "stability-draft.png"), full_page=True)

    # In Chinese, put it on record.
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "中风险" in page.locator(".ssa-outcome").inner_text()
    assert "落实防范化解措施后实施" in page.locator(".ssa-decision").inner_text()
    page.click("#record button[type=submit]")
    page.wait_for_url(re.compile(rf"/risk/stability/{a.code}/$"))
    assert "已备案" in page.locator(".ssa-head").inner_text()
    assert page.locator("text=编辑草稿").count() == 0
    page.screenshot(path=str(screenshots / "stability-record-zh.png"), full_page=True)
    a.refresh_from_db()
    assert (
        a.state == "final"
        and a.level == "medium"
        and a.finalised_by == audit.actor_label(c["analyst"])
    )

    # On paper: the forms and navigation disappear, the signature lines appear.
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#record form").is_visible()
    assert page.locator(".ssa-sign").is_visible()
    assert page.locator(".ssa-findings").is_visible()
    page.emulate_media(media="screen")

    assert page.problems.items == []
