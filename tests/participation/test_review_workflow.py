"""Review (issue 8): bad input to the participation API must get a clear error naming the
field, never a 500, and texts must be bounded.

These tests guard the fixes of the review's findings.
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from civitas.participation.models import Task


def _as(user: Any) -> Client:
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


BASE = {
    "kind": "clean_up",
    "title": "Clean the riverside",
    "description": "Bring gloves.",
    "publisher": "T-D1-S1-OFFICE",
    "area": "T-D1-S1-C1",
}


def test_task_with_naive_times_is_refused_naming_the_field(part: dict[str, Any]) -> None:
    r = _as(part["handler"]).post(
        "/api/participation/tasks",
        {**BASE, "starts_at": "2030-01-01T10:00:00", "ends_at": "2030-01-01T12:00:00"},
        content_type="application/json",
    )
    assert r.status_code == 422, r.status_code
    assert r.json()["error"]["details"]["field"] in ("starts_at", "ends_at")
    assert not Task.objects.exists()


def test_task_description_has_a_length_limit(part: dict[str, Any]) -> None:
    r = _as(part["handler"]).post(
        "/api/participation/tasks",
        {
            **BASE,
            "description": "d" * 200_000,
            "starts_at": "2030-01-01T10:00:00Z",
            "ends_at": "2030-01-01T12:00:00Z",
        },
        content_type="application/json",
    )
    assert r.status_code == 422, r.status_code
    assert r.json()["error"]["details"]["field"] == "description"
    assert not Task.objects.exists()
