"""Disputes in a real browser (the "Done when" of issue 8, mediation half).

1. An appeal becomes a dispute: the city dispatcher refers it from the appeal's page; the rules
   send it to the community mediation committee; a session there fails; the failure passes it
   to the street; the street's session ends in an agreement; a follow-up visit finds the
   agreement kept and closes the dispute.
2. A dispute whose parties live in two districts is registered and lands at the city level.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.mediation.models import Dispute, Outcome, Session, Stage, Status, Tier
from civitas.org.models import Role
from tests.e2e.session import sign_in, sign_out
from tests.factories import member
from tests.mediation.conftest import med  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def appeal(med: dict[str, Any]) -> Appeal:  # noqa: F811 - the fixture imported above
    """A resident's appeal about a neighbour, in community C1 of street S1 (district 1)."""
    resident = member("resident-e2e", Role.RESIDENT)
    data = intake.AppealIn(
        city="T",
        text="The neighbour upstairs lets water through my ceiling and refuses to repair it",
        lat=0.5,
        lon=0.5,
        address="Oak Road 7, flat 102",
        contact=intake.ContactIn(name="Chen Mei", phone="13700000009"),
    )
    with transaction.atomic():
        return intake.submit(actor=resident, data=data, resident=resident).appeal


def submit_action(page: Any, action: str) -> None:
    page.click(f"#form-{action} button[type=submit]")
    page.wait_for_load_state()


def message(page: Any) -> str:
    return str(page.locator("ul.messages").inner_text())


def fill_party(page: Any, n: int, side: str, name: str, phone: str, place: str) -> None:
    page.select_option(f"#id_p-{n}-side", side)
    page.select_option(f"#id_p-{n}-kind", "person")
    page.fill(f"#id_p-{n}-name", name)
    page.fill(f"#id_p-{n}-phone", phone)
    page.select_option(f"#id_p-{n}-jurisdiction", place)


def schedule(page: Any, mediator_pk: int, place: str) -> None:
    # Now, to the minute: a session's result is recorded once it has been held.
    when = timezone.localtime(clock.now()).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_schedule-scheduled_at", when)
    page.fill("#id_schedule-place", place)
    page.select_option("#id_schedule-mediators", [str(mediator_pk)])
    submit_action(page, "schedule")
    assert "scheduled" in message(page)


def record_session(page: Any, result: str, minutes: str) -> None:
    page.select_option("#id_session_result-result", result)
    page.fill("#id_session_result-attendees", "Both neighbours")
    page.fill("#id_session_result-minutes", minutes)
    submit_action(page, "session_result")
    assert "result is recorded" in message(page)


def test_an_appeal_through_community_and_street_to_an_agreement_and_a_visit(
    live_server: Any,
    page: Any,
    med: dict[str, Any],  # noqa: F811
    appeal: Appeal,
    screenshots: Path,
) -> None:
    base = live_server.url

    # The city dispatcher refers the appeal from its page.
    sign_in(page, base, "disp-city", f"/case/{appeal.ticket}/")
    page.click("#refer-mediation")
    page.wait_for_url(re.compile(rf"/mediation/refer/{appeal.ticket}/$"))
    assert "water through my ceiling" in page.input_value("#id_summary")
    page.fill("#id_title", "Water through the ceiling")
    page.select_option("#id_type", "neighbour")
    page.select_option("#id_jurisdiction", "T-D1-S1-C1")
    # The appellant is the applicant; the neighbour upstairs answers.
    if page.input_value("#id_p-0-name") == "":
        fill_party(page, 0, "applicant", "Chen Mei", "13700000009", "T-D1-S1-C1")
    fill_party(page, 1, "respondent", "Zhou Qiang", "13700000010", "T-D1-S1-C1")
    page.click("#check-level")
    page.wait_for_load_state()
    assert page.locator("#choice-tier").inner_text() == "Community mediation committee"
    assert "T-D1-S1-C1 Mediation Committee" in page.locator("#choice-unit").inner_text()
    page.screenshot(path=str(screenshots / "mediation-refer.png"), full_page=True)
    page.click("#register-submit")
    page.wait_for_url(re.compile(r"/mediation/d/[^/]+/$"))
    d = Dispute.objects.get()
    assert d.appeal_id == appeal.pk and d.tier == Tier.COMMUNITY
    assert "is registered" in message(page)
    assert appeal.ticket in page.locator("#appeal-history").inner_text()
    case_path = f"/mediation/d/{d.code}/"
    sign_out(page)

    # The community committee accepts, meets the parties, and the session fails.
    sign_in(page, base, "med-c111", "/mediation/")
    assert d.code in page.locator("table.disputes").inner_text()
    page.click(f"text={d.code}")
    page.wait_for_url(re.compile(re.escape(case_path) + "$"))
    assert "Chen Mei" in page.locator("#parties").inner_text()
    submit_action(page, "accept")
    assert page.locator("#dispute-status").inner_text() == str(Status.ACCEPTED.label)
    schedule(page, med["mediator_c"].pk, "Community hall, room 2")
    record_session(page, Session.Result.FAILED, "The respondent refuses to pay for the repair.")
    page.fill("#id_fail-note", "No settlement possible at the committee.")
    submit_action(page, "fail")
    assert "Mediation failed here" in message(page)
    assert page.locator("#dispute-tier").inner_text() == "Street mediation"
    assert "T-D1-S1 Mediation Committee" in page.locator("#dispute-unit").inner_text()
    assert "mediation failed at the level below" in page.locator("#dispute-reasons").inner_text()
    assert page.locator("#dispute-actions").count() == 0  # no longer theirs to act on
    sign_out(page)

    # The street committee takes it over and reaches an agreement.
    sign_in(page, base, "med-s11", case_path)
    assert "Community hall, room 2" in page.locator("#sessions").inner_text()
    submit_action(page, "accept")
    schedule(page, med["mediator_s"].pk, "Street office, mediation room")
    record_session(page, Session.Result.AGREED, "Zhou Qiang repairs the pipe and pays 800 yuan.")
    page.fill("#id_agreement-facts", "Water from flat 202 damaged the ceiling of flat 102.")
    page.fill("#id_agreement-terms", "Zhou Qiang repairs the pipe within 10 days and pays 800.")
    page.fill("#id_agreement-amount", "800")
    page.fill("#id_agreement-signed_on", clock.today().isoformat())
    submit_action(page, "agreement")
    assert "agreement is recorded" in message(page)
    assert page.locator("#dispute-status").inner_text() == str(Status.AGREED.label)
    assert page.locator("article.agreement").count() == 1
    page.screenshot(path=str(screenshots / "mediation-agreed.png"), full_page=True)

    # The follow-up visit finds the agreement kept: the dispute is closed as resolved.
    page.select_option("#id_follow_up-method", "visit")
    page.check("#id_follow_up-kept_0")
    page.fill("#id_follow_up-note", "Pipe repaired, money paid.")
    submit_action(page, "follow_up")
    assert "follow-up visit is recorded" in message(page)
    assert page.locator("#dispute-status").inner_text() == str(Status.CLOSED.label)
    assert "Pipe repaired" in page.locator("#follow-ups").inner_text()
    d.refresh_from_db()
    assert d.status == Status.CLOSED and d.outcome == Outcome.RESOLVED
    assert [(s.tier, s.result) for s in Stage.objects.filter(dispute=d)] == [
        (Tier.COMMUNITY, Stage.Result.FAILED),
        (Tier.STREET, Stage.Result.AGREED),
    ]
    timeline = page.locator("#timeline").inner_text()
    for word in ("Registered", "Accepted", "Moved up a level", "Agreement recorded"):
        assert word in timeline
    sign_out(page)

    # An analyst of the city reads the dispute with the parties masked.
    member("analyst-e2e", Role.ANALYST, med["centre"])
    sign_in(page, base, "analyst-e2e", case_path)
    parties = page.locator("#parties").inner_text()
    assert "Chen Mei" not in parties and "13700000009" not in parties
    assert "Applicant 1" in parties
    assert page.problems.items == []


def test_a_cross_district_dispute_is_coordinated_by_the_city(
    live_server: Any,
    page: Any,
    med: dict[str, Any],  # noqa: F811
    screenshots: Path,
) -> None:
    base = live_server.url
    sign_in(page, base, "disp-city", "/mediation/")
    page.click("#register-dispute")
    page.wait_for_url(re.compile(r"/mediation/new/$"))
    page.fill("#id_title", "Wages for the renovation crew")
    page.select_option("#id_type", "neighbour")
    page.fill("#id_summary", "A renovation crew from district 2 says a district 1 owner owes it.")
    page.fill("#id_amount", "12000")
    page.fill("#id_people_involved", "4")
    page.select_option("#id_jurisdiction", "T-D1-S1-C1")
    fill_party(page, 0, "applicant", "Crew leader Sun", "13600000001", "T-D2-S1-C1")
    fill_party(page, 1, "respondent", "Owner Qian", "13600000002", "T-D1-S1-C1")
    page.click("#check-level")
    page.wait_for_load_state()
    assert page.locator("#choice-tier").inner_text() == "City coordination"
    assert "City Mediation Centre" in page.locator("#choice-unit").inner_text()
    assert "different districts" in page.locator("#rules-choice").inner_text()
    page.click("#register-submit")
    page.wait_for_url(re.compile(r"/mediation/d/[^/]+/$"))
    d = Dispute.objects.get()
    assert d.tier == Tier.CITY and d.cross_district and d.unit == med["T-med"]
    assert page.locator("#dispute-tier").inner_text() == "City coordination"
    assert "different districts" in page.locator("#dispute-reasons").inner_text()
    page.screenshot(path=str(screenshots / "mediation-city.png"), full_page=True)
    sign_out(page)

    # The city centre's mediator finds it in the queue and accepts it.
    sign_in(page, base, "med-city", "/mediation/")
    assert d.code in page.locator("table.disputes").inner_text()
    page.goto(f"{base}/mediation/d/{d.code}/")
    submit_action(page, "accept")
    assert page.locator("#dispute-status").inner_text() == str(Status.ACCEPTED.label)
    sign_out(page)

    # A street mediator of district 1 does not see it.
    sign_in(page, base, "med-s11", "/mediation/")
    assert page.locator("table.disputes").count() == 0
    assert page.problems.items == []
