"""Review (issue 8): sessions' times and minutes over the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from civitas.kit import clock
from civitas.mediation.models import Session
from tests.mediation.helpers import register


def _as(user: Any) -> Client:
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def _accepted(med: dict[str, Any]) -> tuple[Client, str]:
    d = register(med)
    api = _as(med["mediator_c"])
    url = f"/api/mediation/disputes/{d.code}"
    assert _post(api, f"{url}/accept", {"version": 1}).status_code == 200
    return api, url


def test_session_cannot_be_scheduled_before_the_dispute_was_received(med: dict[str, Any]) -> None:
    api, url = _accepted(med)
    r = _post(
        api,
        f"{url}/session",
        {"scheduled_at": "2000-01-01T10:00:00Z", "place": "Hall", "mediators": ["med-c111"]},
    )
    assert r.status_code == 422, r.content
    assert r.json()["error"]["details"]["field"] == "scheduled_at"


def test_a_session_is_not_recorded_as_held_before_its_time(med: dict[str, Any]) -> None:
    api, url = _accepted(med)
    r = _post(
        api,
        f"{url}/session",
        {"scheduled_at": "2030-06-01T10:00:00Z", "place": "Hall", "mediators": ["med-c111"]},
    )
    assert r.status_code == 200, r.content
    r = _post(
        api,
        f"{url}/session",
        {"number": 1, "result": "agreed", "minutes": "Both agreed.", "attendees": "A, B"},
    )
    assert r.status_code in (409, 422), r.content
    assert not Session.objects.get(dispute__code=url.rsplit("/", 1)[-1]).held


def test_minutes_have_a_length_limit(med: dict[str, Any]) -> None:
    api, url = _accepted(med)
    at = clock.now() + timedelta(hours=1)
    r = _post(
        api,
        f"{url}/session",
        {"scheduled_at": at.isoformat(), "place": "Hall", "mediators": ["med-c111"]},
    )
    assert r.status_code == 200, r.content
    with clock.frozen(at + timedelta(hours=2)):
        r = _post(
            api,
            f"{url}/session",
            {"number": 1, "result": "agreed", "minutes": "m" * 200_000, "attendees": "A, B"},
        )
    assert r.status_code == 422, r.content[:200]
    assert r.json()["error"]["details"]["field"] == "minutes"
