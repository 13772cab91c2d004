"""A public consultation in a real browser: the street office drafts and opens it, a resident
comments with a position and supports a neighbour's comment, the office closes it early and
answers publicly with what changed, and the public page shows the answer."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.kit import clock
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from civitas.participation import consultations as svc
from civitas.participation.models import Comment, Consultation
from civitas.participation.public import pseudonym
from tests.e2e.session import sign_in
from tests.factories import UserFactory, member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AREA = {
    "type": "Polygon",
    "coordinates": [[[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6], [0.2, 0.2]]],
}


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Path) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path


def sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_a_consultation_from_draft_to_public_answer(
    live_server: Any, page: Any, city: dict[str, Any], tmp_path: Path, screenshots: Path
) -> None:
    with transaction.atomic():
        org_services.save_unit(
            actor="test",
            code="T-D1-S1-C1-CC",
            kind=UnitKind.COMMUNITY_COMMITTEE,
            department_type="community",
            name_en="Oak 111 Residents' Committee",
            name_zh="橡树111居民委员会",
            jurisdiction=city["T-D1-S1-C1"],
        )
    member("street-handler", Role.UNIT_HANDLER, city["T-D1-S1-office"])
    resident = UserFactory(username="resident-a", display_name="Li Na", phone="13911112222")
    neighbour = UserFactory(username="resident-b", display_name="Wang Fang")
    base = live_server.url
    new_url = "/participate/consultations/new/"

    # The street office drafts the consultation in the browser, with a plan PDF.
    sign_in(page, base, "street-handler", new_url)
    page.fill("#id_title", "Car park and pocket park on the old lot")
    page.fill("#id_body", "Forty parking places and a small park behind block 4.")
    page.select_option("#id_unit", str(city["T-D1-S1-office"].pk))
    page.select_option("#id_jurisdiction", str(city["T-D1-S1-C1"].pk))
    page.fill("#id_area", json.dumps(AREA))
    closes = clock.now() + timedelta(days=14)
    page.fill("#id_closes_at", closes.strftime("%Y-%m-%dT%H:%M"))
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.set_input_files("#id_document", str(plan))
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/participate/consultations/T-CON-\d{4}-0001/$"))
    c = Consultation.objects.get()
    assert c.status == "draft" and c.documents.count() == 1
    assert "Draft: only the office sees this page" in page.content()

    # Opening it makes it public.
    page.click("#open-consultation")
    page.wait_for_selector("text=is open for comments")
    assert page.locator("#consult-status").inner_text() == "Open for comments"
    page.wait_for_selector("#map[data-ready=true]")
    c.refresh_from_db()
    assert c.status == "open"

    # A neighbour has already commented (through the service).
    theirs = svc.comment(neighbour, c, position="oppose", text="Cars by the school gate.")

    # The resident signs in, comments with a position, and supports the neighbour.
    sign_out(page)
    detail = f"/participate/consultations/{c.code}/"
    sign_in(page, base, "resident-a", detail)
    page.check("input[name=position][value=support]")
    page.fill("#id_text", "Good idea, call me on 13811112222 to help plant trees.")
    page.click(".consult-comment-form button[type=submit]")
    page.wait_for_selector("text=your comment is published under your pseudonym")
    mine = Comment.objects.get(author=resident)
    assert mine.position == "support"
    page.click(f"#comment-{theirs.pk} button:has-text('Support')")
    page.wait_for_selector("text=You support this comment.")
    assert resident in theirs.supporters.all()
    body = page.locator("main").inner_text()
    assert pseudonym(resident) in body and "Li Na" not in body and "resident-a" not in body
    assert "138****2222" in body and "13811112222" not in body
    assert page.locator("#count-support").inner_text() == "1"
    assert page.locator("#count-oppose").inner_text() == "1"
    # Support is given once, and not to one's own comment.
    assert page.locator(f"#comment-{theirs.pk} button:has-text('Support')").count() == 0
    assert page.locator(f"#comment-{mine.pk} button:has-text('Support')").count() == 0

    # The office closes it early and answers publicly with what changed.
    sign_out(page)
    sign_in(page, base, "street-handler", detail)
    page.fill("#id_reason", "Enough views gathered at the residents' meeting.")
    page.click("#close-consultation")
    page.wait_for_selector(f"text={c.code} is closed.")
    page.fill("#id_answer", "The car park goes ahead with the park.")
    page.fill("#id_changes", "The entrance moves to the side road, away from the school gate.")
    page.click("#answer-consultation")
    page.wait_for_selector("text=The answer is published.")
    c.refresh_from_db()
    assert c.status == "answered"

    # The public (signed out) sees the answer and what changed.
    sign_out(page)
    page.goto(f"{base}{detail}")
    assert page.locator("#consult-status").inner_text() == "Answered"
    assert "The car park goes ahead" in page.locator("#consult-answer").inner_text()
    assert "side road" in page.locator("#consult-changes").inner_text()
    assert "Sign in to comment" not in page.content()
    assert "For the office" not in page.content()
    page.wait_for_selector("#map[data-ready=true]")
    page.screenshot(path=str(screenshots / "consultation.png"), full_page=True)
    assert page.problems.items == []
