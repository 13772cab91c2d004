"""/api/mediation/disputes over Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.kit import clock
from civitas.mediation.models import Dispute, Status, Tier
from civitas.org import services as org_services
from tests.mediation.helpers import register

pytestmark = pytest.mark.django_db

BODY: dict[str, Any] = {
    "title": "Wages unpaid for two months",
    "summary": "Six workers of a small workshop were not paid for two months.",
    "type": "labour",
    "people_involved": 6,
    "amount": "36000",
    "area": "T-D1-S1-C1",
    "parties": [
        {"side": "applicant", "name": "Zhao Min", "phone": "13900000001", "area": "T-D1-S1-C1"},
        {
            "side": "respondent",
            "kind": "organisation",
            "name": "Bright Workshop Ltd",
            "credit_code": "91110000MA01ABCD1X",
            "area": "T-D1-S1-C2",
        },
    ],
}


def _as(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _key(unit: Any, scopes: list[str]) -> Client:
    with transaction.atomic():
        _, clear = org_services.create_api_key(actor="test", name="k", scopes=scopes, unit=unit)
    return Client(headers={"X-Api-Key": clear})


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def test_register_list_and_read(med: dict[str, Any]) -> None:
    api = _as(med["mediator_c"])
    r = _post(api, "/api/mediation/disputes", BODY)
    assert r.status_code == 201, r.content
    d = r.json()
    # six people: the street
    assert (d["tier"], d["unit"], d["status"]) == (Tier.STREET, "T-D1-S1-MEDIATION", "registered")
    assert d["parties"][0]["name"] == "Zhao Min" and not d["parties"][0]["masked"]
    assert d["stages"][0]["reasons"] and d["version"] == 1
    listing = api.get("/api/mediation/disputes").json()
    assert listing["count"] == 1 and listing["items"][0]["code"] == d["code"]
    assert api.get("/api/mediation/disputes?status=closed").json()["count"] == 0
    assert api.get("/api/mediation/disputes?type=labour&tier=street&area=T-D1").json()["count"] == 1
    assert api.get("/api/mediation/disputes?q=wages").json()["count"] == 1
    assert api.get("/api/mediation/disputes?area=T-D2").json()["count"] == 0


def test_the_street_mediates_over_the_api(med: dict[str, Any]) -> None:
    d = register(med, place="T-D1-S1-C2")
    api = _as(med["mediator_s"])
    url = f"/api/mediation/disputes/{d.code}"
    r = _post(api, f"{url}/accept", {"version": 1})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "accepted" and "schedule_session" in r.json()["moves"]
    stale = _post(api, f"{url}/withdraw", {"version": 1, "reason": "x"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale"
    r = _post(
        api,
        f"{url}/session",
        {
            "scheduled_at": clock.now().isoformat(),
            "place": "Street office",
            "mediators": ["med-s11"],
        },
    )
    assert r.status_code == 200 and r.json()["sessions"][0]["number"] == 1
    r = _post(api, f"{url}/session", {"number": 1, "result": "agreed", "minutes": "Agreed."})
    assert r.status_code == 200 and r.json()["sessions"][0]["result"] == "agreed"
    r = _post(
        api,
        f"{url}/agreement",
        {"facts": "f", "terms": "t", "signed_on": clock.today().isoformat()},
    )
    assert r.status_code == 200 and r.json()["status"] == "agreed"
    fu = r.json()["follow_ups"][0]["id"]
    r = _post(api, f"{url}/follow-up", {"follow_up": fu, "kept": True, "method": "phone"})
    assert r.status_code == 200 and (r.json()["status"], r.json()["outcome"]) == (
        "closed",
        "resolved",
    )


def test_actions_refuse_bad_input_and_wrong_people(med: dict[str, Any]) -> None:
    d = register(med)
    url = f"/api/mediation/disputes/{d.code}"
    other = _post(_as(med["dispatcher"]), f"{url}/accept", {})
    assert _post(_as(med["mediator_s"]), f"{url}/accept", {}).status_code == 404
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    api = _as(med["mediator_c"])
    assert _post(api, f"{url}/dance", {}).status_code == 404
    bad = _post(api, f"{url}/refer", {"channel": "peoples", "note": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "channel"
    wrong = _post(api, f"{url}/fail", {"reason": "x"})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "illegal_transition"
    typed = _post(api, f"{url}/accept", {"version": "one"})
    assert typed.status_code == 422 and typed.json()["error"]["details"][0]["field"] == "version"
    assert Dispute.objects.get(pk=d.pk).status == Status.REGISTERED


def test_register_names_the_bad_field(med: dict[str, Any]) -> None:
    api = _as(med["mediator_c"])
    r = _post(api, "/api/mediation/disputes", {**BODY, "type": "quarrel"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "type"
    r = _post(api, "/api/mediation/disputes", {**BODY, "area": "NOWHERE"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "area"
    r = _post(api, "/api/mediation/disputes", {**BODY, "parties": []})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "parties"
    r = _post(api, "/api/mediation/disputes", {k: v for k, v in BODY.items() if k != "type"})
    assert r.status_code == 422
    r = _post(api, "/api/mediation/disputes", {**BODY, "appeal": "T-0000"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "appeal"
    assert Dispute.objects.count() == 0


def test_keys_read_and_register_by_scope_with_parties_masked(med: dict[str, Any]) -> None:
    d = register(med)
    reader = _key(med["T-D1-centre"], ["disputes:read"])
    listing = reader.get("/api/mediation/disputes")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    one = reader.get(f"/api/mediation/disputes/{d.code}").json()
    assert [p["name"] for p in one["parties"]] == ["Applicant 1", "Respondent 1"]
    assert "Wang Fang" not in str(one) and "13800000001" not in str(one)
    assert "Oak Road" not in str(one)
    refused = _post(reader, "/api/mediation/disputes", BODY)
    assert refused.status_code == 403
    writer = _key(med["T-D1-centre"], ["disputes:register"])
    made = _post(writer, "/api/mediation/disputes", BODY)
    assert made.status_code == 201, made.content
    # a key registers but does not mediate, and does not see the names afterwards
    assert made.json()["parties"][0]["masked"]
    assert _post(writer, f"/api/mediation/disputes/{d.code}/accept", {}).status_code == 403
    other = _key(med["T-D2-centre"], ["disputes:read"])
    assert other.get(f"/api/mediation/disputes/{d.code}").status_code == 404
    assert other.get("/api/mediation/disputes").json()["count"] == 0
    wrong = _key(med["T-D1-centre"], ["appeals:read"]).get("/api/mediation/disputes")
    assert wrong.status_code == 403 and "disputes:read" in wrong.json()["error"]["message"]
    assert Client().get("/api/mediation/disputes").status_code == 401


def test_list_filters_refuse_unknown_values(med: dict[str, Any]) -> None:
    api = _as(med["dispatcher"])
    r = api.get("/api/mediation/disputes?status=happy")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "status"
    r = api.get("/api/mediation/disputes?area=XX")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "area"
