"""A suggestion's life in a real browser (issue 8): a resident proposes, neighbours support it
past the (small, test-set) threshold, the street office answers publicly; a reported
suggestion is hidden by a moderator and the public sees the reason instead of the text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.participation import public, suggestions
from civitas.participation.models import Report, Suggestion
from tests.e2e.session import sign_in, sign_out
from tests.participation.conftest import part  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CIVITAS_SUGGESTION_THRESHOLD = 2


def test_propose_support_answer_and_moderate(
    live_server: Any,
    page: Any,
    part: dict[str, Any],  # noqa: F811 - the fixture imported above
    screenshots: Path,
) -> None:
    base = live_server.url
    author, neighbour, third = part["residents"]

    # A resident proposes; the place is chosen from the list.
    sign_in(page, base, author.username, "/participate/suggestions/new/")
    page.fill("#id_title", "Shade over the bus stop")
    page.fill("#id_text", "Children wait in the sun. Call me on 13812345678.")
    page.select_option("#id_place", value=str(part["T-D1-S1-C1"].pk))
    page.screenshot(path=str(screenshots / "suggestion-propose.png"), full_page=True)
    page.click("#suggestion-form button[type=submit]")
    page.wait_for_url(re.compile(r"/participate/suggestions/SG-\d+/$"))
    s = Suggestion.objects.get()
    assert s.unit == part["T-D1-S1-office"]
    assert "138****5678" in page.locator("#sg-text").inner_text()
    assert page.locator("#support-form").count() == 0  # not one's own
    sign_out(page)

    # Two neighbours support it: the threshold (2) is reached and the answer becomes due.
    for who in (neighbour, third):
        sign_in(page, base, who.username, f"/participate/suggestions/{s.code}/")
        page.click("#support-form button[type=submit]")
        page.wait_for_url(re.compile(rf"/participate/suggestions/{s.code}/(#support)?$"))
        assert page.locator("#sg-supported").is_visible()
        sign_out(page)
    s.refresh_from_db()
    assert s.status == "due" and s.support_count == 2

    # The street office finds it first in its list and answers publicly.
    sign_in(page, base, part["handler"].username, "/participate/suggestions/work/")
    assert page.locator(f'#work tr[data-code="{s.code}"]').is_visible()
    page.click(f'#work tr[data-code="{s.code}"] a')
    page.wait_for_url(re.compile(rf"/participate/suggestions/{s.code}/$"))
    page.fill("#id_answer", "A shelter with a bench will be built before June.")
    page.click("#answer-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/participate/suggestions/{s.code}/(#answer)?$"))
    sign_out(page)

    page.goto(f"{base}/participate/suggestions/{s.code}/")
    assert "before June" in page.locator("#sg-answer").inner_text()
    assert page.locator("#sg-status").inner_text() == "Answered"
    assert page.locator("#sg-author").inner_text() == public.pseudonym(author)
    html = page.content()
    assert author.username not in html and "13812345678" not in html
    page.screenshot(path=str(screenshots / "suggestion-answered.png"), full_page=True)

    # A rude suggestion is reported by a neighbour and hidden by the street's leader.
    rude = suggestions.propose(
        author, title="Block 3 are idiots", text="Everybody hates them.", place=part["T-D1-S1-C2"]
    )
    sign_in(page, base, neighbour.username, f"/participate/suggestions/{rude.code}/")
    page.click(".sg-report summary")
    page.fill(f"#report-reason-suggestion-{rude.pk}", "insults neighbours")
    page.click(f"#report-suggestion-{rude.pk} button[type=submit]")
    page.wait_for_url(re.compile(rf"/participate/suggestions/{rude.code}/$"))
    assert page.locator("#sg-reported").is_visible()
    assert Report.objects.get().state == "open"
    sign_out(page)

    sign_in(page, base, part["leader"].username, "/participate/moderation/")
    item = page.locator(f'#queue li[data-target="suggestion"][data-id="{rude.pk}"]')
    assert "insults neighbours" in item.inner_text()
    page.screenshot(path=str(screenshots / "moderation-queue.png"), full_page=True)
    item.locator(f"#hide-suggestion-{rude.pk}").fill("insulting language")
    item.locator(".mod-hide button[type=submit]").click()
    page.wait_for_url(re.compile(r"/participate/moderation/$"))
    assert page.locator("#queue-empty").is_visible()
    sign_out(page)

    page.goto(f"{base}/participate/suggestions/{rude.code}/")
    assert page.locator("#sg-hidden").inner_text() == "hidden by a moderator: insulting language"
    assert "Everybody hates them" not in page.content()
    assert "idiots" not in page.content()
    assert Report.objects.get().state == "hidden"
    assert [p for p in page.problems.items if "favicon" not in p] == []
