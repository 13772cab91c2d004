"""The page of responsibility-list entries learned from history: administrators see and
accept; others are refused; the form needs its CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.kit import audit
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRevision, ResponsibilityRule, User
from civitas.understanding import routing
from tests.factories import matter
from tests.understanding.test_routing import handled

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(city: dict[str, Any]) -> dict[str, Any]:
    """The list says district housing bureaus; district 1's street offices did the work."""
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=matter("T-M1-1-1"),
            level=city["levels"]["district"],
            city="T",
            unit_type="housing",
        )
    handled("T-D1-S1-C1", city["T-D1-S1-office"], 12)
    handled("T-D1-S2-C2", city["T-D1-S2-office"], 10)
    return city


def login(user: User, **kw: Any) -> Client:
    c = Client(**kw)
    c.force_login(user)
    return c


def test_an_administrator_sees_and_accepts_a_proposal(
    history: dict[str, Any], people: dict[str, User]
) -> None:
    c = login(people["admin"])
    page = c.get(reverse("routing-proposals")).content.decode()
    (p,) = routing.proposals("T")
    assert p.id in page and "22 of 22" in page and "North 1 District" in page
    r = c.post(
        reverse("routing-proposals-accept"),
        {"city": "T", "proposal": p.id, "reason": "confirmed with the district"},
    )
    assert r.status_code == 302 and r["Location"].endswith("?city=T")
    rule = ResponsibilityRule.objects.get(level__code="street")
    assert rule.jurisdiction.code == "T-D1" and rule.unit_type == "street_office"
    revision = ResponsibilityRevision.objects.get(rule=rule)
    assert revision.actor == audit.actor_label(people["admin"])
    assert revision.reason.startswith("confirmed with the district")
    after = c.get(r["Location"]).content.decode()
    assert "No proposals" in after


def test_a_stale_proposal_is_explained(history: dict[str, Any], people: dict[str, User]) -> None:
    c = login(people["admin"])
    r = c.post(
        reverse("routing-proposals-accept"), {"city": "T", "proposal": "0000000000"}, follow=True
    )
    assert "look at the proposals again" in r.content.decode()
    assert not ResponsibilityRule.objects.filter(level__code="street").exists()


@pytest.mark.parametrize("who", ["handler", "centre", "auditor", "resident"])
def test_others_are_refused(history: dict[str, Any], people: dict[str, User], who: str) -> None:
    c = login(people[who])
    assert c.get(reverse("routing-proposals")).status_code == 403
    (p,) = routing.proposals("T")
    r = c.post(reverse("routing-proposals-accept"), {"city": "T", "proposal": p.id})
    assert r.status_code == 403
    assert not ResponsibilityRule.objects.filter(level__code="street").exists()


def test_anonymous_visitors_are_sent_to_log_in(history: dict[str, Any]) -> None:
    r = Client().get(reverse("routing-proposals"))
    assert r.status_code == 302 and "login" in r["Location"]


def test_accepting_needs_the_csrf_token(history: dict[str, Any], people: dict[str, User]) -> None:
    c = login(people["admin"], enforce_csrf_checks=True)
    (p,) = routing.proposals("T")
    r = c.post(reverse("routing-proposals-accept"), {"city": "T", "proposal": p.id})
    assert r.status_code == 403
    assert not ResponsibilityRule.objects.filter(level__code="street").exists()


def test_the_page_has_no_inline_script(history: dict[str, Any], people: dict[str, User]) -> None:
    page = login(people["admin"]).get(reverse("routing-proposals")).content.decode()
    body = page.split("<main", 1)[-1]
    assert "<script" not in body and " style=" not in body
    assert 'name="csrfmiddlewaretoken"' in body
