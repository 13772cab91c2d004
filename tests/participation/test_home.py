"""The participation home page: open tasks, consultations open now, suggestions awaiting an
answer (not hidden ones), no private fields; the appeal page's "Publish a task" link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from civitas.kit import clock
from civitas.participation.models import Consultation, Suggestion
from tests.participation.tasks_helpers import task

pytestmark = pytest.mark.django_db


def _consultation(c: dict[str, Any], title: str, status: str) -> Consultation:
    return Consultation.objects.create(
        code=f"T-C-{title[:5].strip()}",
        city="T",
        title=title,
        body="A plan",
        unit=c["T-D1-S1-office"],
        jurisdiction=c["T-D1-S1"],
        jurisdiction_path=c["T-D1-S1"].path,
        closes_at=clock.now() + timedelta(days=5),
        status=status,
        created_by="test",
    )


def _suggestion(c: dict[str, Any], title: str, status: str, hidden: bool = False) -> Suggestion:
    return Suggestion.objects.create(
        code=f"T-S-{title[:5].strip()}",
        city="T",
        title=title,
        text="Text",
        author=c["residents"][0],
        jurisdiction=c["T-D1-S1-C1"],
        jurisdiction_path=c["T-D1-S1-C1"].path,
        status=status,
        threshold=3,
        support_count=4,
        hidden_at=clock.now() if hidden else None,
    )


def test_home_lists_what_is_open_to_the_public(part: dict[str, Any]) -> None:
    c = part
    task(c, title="Paint the playground fence", source_ref="T-DSP-0042")
    _consultation(c, "Open plan for the market", "open")
    _consultation(c, "Draft plan unseen", "draft")
    _suggestion(c, "Benches by the river", "due")
    _suggestion(c, "Gathering support", "open")
    _suggestion(c, "Rude words hidden", "due", hidden=True)
    body = Client().get(reverse("participation-home")).content.decode()
    assert "Paint the playground fence" in body and "T-DSP-0042" not in body
    assert "Open plan for the market" in body and "Draft plan unseen" not in body
    assert "Benches by the river" in body
    assert "Gathering support" not in body and "Rude words hidden" not in body
    assert c["residents"][0].username not in body
    for name in ("participation-consultations", "participation-suggestions"):
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        assert f'href="{url}"' in body
    for name, code in (
        ("participation-consultation", "T-C-Open"),
        ("participation-suggestion", "T-S-Bench"),
    ):
        try:
            url = reverse(name, args=[code])
        except NoReverseMatch:
            continue
        assert f'href="{url}"' in body


def test_publish_a_task_from_an_appeal_prefills_the_ticket(part: dict[str, Any]) -> None:
    cl = Client()
    cl.force_login(part["handler"])
    page = cl.get(reverse("participation-task-new") + "?appeal=T-20260101-0001").content.decode()
    assert 'value="T-20260101-0001"' in page
