"""The Content Security Policy holds in a real browser: the main pages work under it (no
violation reported, no console error) and script text typed by a resident never runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake
from civitas.org.models import Role
from tests import factories
from tests.e2e.session import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOSTILE = (
    "The lift is broken <script>alert('xss')</script> \"><img src=x onerror=alert('img')> "
    "<svg/onload=alert('svg')>"
)

PUBLIC_PAGES = ["/", "/login/", "/appeal/new/", "/participate/suggestions/"]
STAFF_PAGES = [
    "/city/",
    "/units/",
    "/matters/",
    "/work/",
    "/audit/",
    "/assessment/",
    "/command/",
    "/hub/",
    "/mediation/",
    "/participate/",
    "/participate/consultations/",
]


def _violations(page: Any) -> list[str]:
    return [p for p in page.problems.items if "CSP" in p or "Refused to" in p]


def test_main_pages_log_no_csp_violation(live_server: Any, page: Any, city: dict[str, Any]) -> None:
    factories.member("dispatcher", Role.DISPATCHER, city["centre"])
    resident = factories.member("resident", Role.RESIDENT)
    with transaction.atomic():
        made = intake.submit(
            actor=resident,
            data=intake.AppealIn(
                city="T",
                text=HOSTILE,
                lat=0.5,
                lon=0.5,
                contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
            ),
            resident=resident,
        )
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = live_server.url
    seen: dict[str, int] = {}
    for path in [*PUBLIC_PAGES, f"/track/{made.token}/"]:
        seen[path] = page.goto(base + path).status
        page.wait_for_load_state("load")
    sign_in(page, base, "dispatcher", "/work/")
    for path in [*STAFF_PAGES, f"/case/{made.appeal.ticket}/"]:
        seen[path] = page.goto(base + path).status
        page.wait_for_load_state("load")
    # Pages the dispatcher may not open answer 403/404; the rest must have loaded.
    loaded = [p for p, status in seen.items() if status == 200]
    assert len(loaded) >= 10, seen
    assert f"/case/{made.appeal.ticket}/" in loaded and f"/track/{made.token}/" in loaded
    assert _violations(page) == [], _violations(page)
    assert dialogs == [], "a resident's script ran"
    # Pages the dispatcher may not open log their 403 as a failed resource: that is expected.
    errors = [
        p
        for p in page.problems.items
        if p.startswith(("page error", "console error")) and "Failed to load resource" not in p
    ]
    assert errors == [], errors
