"""Review (issue 8): what people who may not see the parties still read about them.

Parties' names and phones are masked for analysts and API keys (may_see_parties), but the
free text of the dispute (its summary) is returned verbatim, so a phone or identity number
typed there reaches them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.mediation import services
from civitas.org import services as org_services
from tests.mediation.helpers import register

PHONE = "13800000001"
ID_NUMBER = "110101199003071234"
SUMMARY = f"Wang Fang (tel {PHONE}, ID {ID_NUMBER}) says the flat above leaks."


def _as(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_analyst_api_summary_does_not_carry_phone_or_id(med: dict[str, Any]) -> None:
    d = register(med, summary=SUMMARY)
    assert not services.may_see_parties(med["analyst"], d)
    r = _as(med["analyst"]).get(f"/api/mediation/disputes/{d.code}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["parties"][0]["masked"]
    assert PHONE not in body["summary"]
    assert ID_NUMBER not in body["summary"]


def test_api_key_summary_does_not_carry_phone_or_id(med: dict[str, Any]) -> None:
    d = register(med, summary=SUMMARY)
    with transaction.atomic():
        _, clear = org_services.create_api_key(
            actor="test", name="k", scopes=["disputes:read"], unit=med["centre"]
        )
    r = Client(headers={"X-Api-Key": clear}).get(f"/api/mediation/disputes/{d.code}")
    assert r.status_code == 200, r.content
    assert PHONE not in r.content.decode()
    assert ID_NUMBER not in r.content.decode()


def test_analyst_page_summary_does_not_carry_phone_or_id(med: dict[str, Any]) -> None:
    d = register(med, summary=SUMMARY)
    page = _as(med["analyst"]).get(reverse("mediation-dispute", args=[d.code]))
    assert page.status_code == 200
    html = page.content.decode()
    assert PHONE not in html
    assert ID_NUMBER not in html
