"""Review (issue 8): personal data residents type into public text must be masked in every
output, and masked digits must not be recoverable.

Each test showed one defect found in review; they now guard the fixes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from civitas.kit.models import OutboxMessage
from civitas.participation import suggestions
from civitas.participation.models import Suggestion
from tests.participation.suggest_helpers import propose, residents

PHONE = "13812345678"
MASKED = "138****5678"


@pytest.fixture(autouse=True)
def _small_threshold(settings: Any) -> None:
    settings.CIVITAS_SUGGESTION_THRESHOLD = 2


def _due(part: dict[str, Any], **fields: Any) -> Suggestion:
    s = propose(part["residents"][0], part["T-D1-S1-C1"], **fields)
    for p in residents(2, prefix="backer"):
        s = suggestions.support(p, s)
    assert s.status == Suggestion.Status.DUE
    return s


def test_home_page_masks_phone_in_due_suggestion_title(part: dict[str, Any]) -> None:
    _due(part, title=f"Benches please, call {PHONE}")
    page = Client().get(reverse("participation-home"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Benches please" in html
    assert PHONE not in html
    assert MASKED in html


def test_due_notice_in_outbox_masks_phone_in_title(part: dict[str, Any]) -> None:
    for key in ("leader", "handler"):
        part[key].email = f"{key}@office.example"
        part[key].save(update_fields=["email"])
    _due(part, title=f"Benches please, call {PHONE}")
    notices = OutboxMessage.objects.filter(topic="participation.suggestion_due")
    assert notices.exists()
    for m in notices:
        assert PHONE not in m.subject + m.body


def test_public_search_does_not_reveal_masked_digits(part: dict[str, Any]) -> None:
    propose(part["residents"][0], part["T-D1-S1-C1"], text=f"Ring me on {PHONE} any time.")
    client = Client()
    # The masked middle digits ("1234") are not public, so a search for them must not find it.
    api = client.get("/api/participation/suggestions", {"q": "81234567"})
    assert api.status_code == 200
    assert api.json()["count"] == 0
    page = client.get(reverse("participation-suggestions"), {"q": PHONE})
    assert page.status_code == 200
    assert "Ring me on" not in page.content.decode()
