"""Review (issue 8): personal data in public text written by staff and moderators.

Tasks often arise from appeals ("an elderly resident needing help"), so their description is
where a resident's phone is most likely to be pasted; a moderator's reason for hiding often
quotes what was hidden. Both were published verbatim; these tests guard the fix.
"""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from civitas.participation import moderation
from tests.participation.suggest_helpers import propose
from tests.participation.tasks_helpers import task

PHONE = "13912345678"


def test_public_task_description_masks_phone(part: dict[str, Any]) -> None:
    t = task(part, description=f"Help Mrs Zhang carry coal; call her on {PHONE}.")
    anonymous = Client()
    listing = anonymous.get("/api/participation/tasks")
    assert listing.status_code == 200
    assert "Help Mrs Zhang" in listing.content.decode()
    assert PHONE not in listing.content.decode()
    detail = anonymous.get(f"/api/participation/tasks/{t.code}")
    assert detail.status_code == 200 and PHONE not in detail.content.decode()
    page = anonymous.get(reverse("participation-task", args=[t.code]))
    assert page.status_code == 200 and PHONE not in page.content.decode()


def test_hidden_suggestion_reason_masks_phone(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"], text=f"My neighbour's number: {PHONE}")
    moderation.hide(
        part["leader"],
        target="suggestion",
        target_id=s.pk,
        reason=f"Publishes a neighbour's phone {PHONE}",
    )
    anonymous = Client()
    api = anonymous.get(f"/api/participation/suggestions/{s.code}")
    assert api.status_code == 200
    assert "hidden" in api.content.decode()
    assert PHONE not in api.content.decode()
    page = anonymous.get(reverse("participation-suggestion", args=[s.code]))
    assert page.status_code == 200
    assert PHONE not in page.content.decode()
