"""A task's life in a real browser (issue 8): a street office's handler publishes a task, a
volunteer confirmed by their community takes it, the handler confirms the completion with the
hours, and the volunteer finds the hours on "My participation"."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from civitas.kit import audit, clock
from civitas.participation.models import Task, TaskTake
from tests.e2e.session import sign_in, sign_out
from tests.participation.conftest import part  # noqa: F401
from tests.participation.tasks_helpers import confirmed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_publish_take_complete(
    live_server: Any,
    page: Any,
    part: dict[str, Any],  # noqa: F811 - the fixture imported above
    screenshots: Path,
) -> None:
    base = live_server.url
    volunteer = confirmed(part, "vol-e2e")
    now = timezone.localtime(clock.now())

    # The street handler publishes a task for a community of the street.
    sign_in(page, base, "street-handler", "/participate/tasks/new/")
    page.select_option("#id_jurisdiction", "T-D1-S1-C1")
    page.select_option("#id_kind", "clean_up")
    page.fill("#id_title", "Clear the leaves in the courtyard")
    page.fill("#id_description", "Rakes and bags at the community station.")
    page.fill("#id_starts_at", (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_ends_at", (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_slots", "2")
    page.fill("#id_hours_expected", "2")
    page.screenshot(path=str(screenshots / "task-publish.png"), full_page=True)
    page.click("main form.card button[type=submit]")
    page.wait_for_url(re.compile(r"/participate/tasks/T-T-\d+/$"))
    t = Task.objects.get(title="Clear the leaves in the courtyard")
    assert t.status == "open" and t.publisher == part["T-D1-S1-office"]
    sign_out(page)

    # The public sees it on the participation home page.
    page.goto(f"{base}/participate/")
    assert "Clear the leaves in the courtyard" in page.locator("main").inner_text()

    # The volunteer takes a place.
    sign_in(page, base, volunteer.username, f"/participate/tasks/{t.code}/")
    page.click("text=Take a place")
    page.wait_for_url(re.compile(rf"/participate/tasks/{t.code}/$"))
    assert "You took a place" in page.locator(".messages").inner_text()
    assert page.locator(".task-taken").inner_text().startswith("1 / 2")
    k = TaskTake.objects.get(task=t)
    assert k.user == volunteer and k.state == "taken"
    sign_out(page)

    # The handler confirms the completion with 1.5 hours.
    sign_in(page, base, "street-handler", f"/participate/tasks/{t.code}/")
    page.fill(f"#hours-{k.pk}", "1.5")
    page.screenshot(path=str(screenshots / "task-confirm.png"), full_page=True)
    page.click("button:has-text('Completed')")
    page.wait_for_url(re.compile(rf"/participate/tasks/{t.code}/$"))
    assert "Recorded" in page.locator(".messages").inner_text()
    k.refresh_from_db()
    assert k.state == "done" and str(k.hours) == "1.5"
    sign_out(page)

    # The volunteer sees the hours on "My participation".
    sign_in(page, base, volunteer.username, "/participate/me/")
    assert page.locator(".take-hours").first.inner_text() == "1.5"
    assert "1.5 hours in 1 completed tasks" in page.locator(".mine-total").inner_text()
    page.screenshot(path=str(screenshots / "task-mine.png"), full_page=True)
    assert audit.verify().ok
