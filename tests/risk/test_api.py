"""The alerts and risk register JSON API over Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.kit import audit
from civitas.org import services as org_services
from civitas.risk.models import AlertStatus, RiskItem
from tests.risk import register_setup
from tests.risk.register_setup import RESIDENT_NAME, RESIDENT_PHONE, cluster, later

pytestmark = pytest.mark.django_db
reg_city = register_setup.reg_city


def _as(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _key(unit: Any, scopes: list[str]) -> Client:
    with transaction.atomic():
        _, clear = org_services.create_api_key(actor="test", name="k", scopes=scopes, unit=unit)
    return Client(headers={"X-Api-Key": clear})


def test_read_alerts_and_risks_with_a_risk_read_key(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    d2 = cluster(c, lat=0.5, lon=2.5, key="c2")
    key = _key(c["T-D1-centre"], ["risk:read"])
    listing = key.get("/api/risk/alerts")
    assert listing.status_code == 200, listing.content
    assert [x["id"] for x in listing.json()["items"]] == [a.pk]  # the district's alerts only
    one = key.get(f"/api/risk/alerts/{a.pk}").json()
    assert one["observed"] == 4 and one["p_value"] == 0.001 and one["radius_m"] == 400.0
    assert one["numbers"]["llr"] == 12.4 and len(one["appeals"]) == 4
    assert RESIDENT_NAME not in str(one) and RESIDENT_PHONE not in str(one)
    assert key.get(f"/api/risk/alerts/{d2.pk}").status_code == 404
    page = _as(c["analyst"]).get("/api/risk/alerts?limit=1&offset=1").json()
    assert page["count"] == 2 and [x["id"] for x in page["items"]] == [a.pk]
    wrong_scope = _key(c["T-D1-centre"], ["appeals:read"]).get("/api/risk/alerts")
    assert wrong_scope.status_code == 403 and "risk:read" in wrong_scope.json()["error"]["message"]
    # Reading is all a key does here.
    refused = key.post(
        f"/api/risk/alerts/{a.pk}/dismiss", {"reason": "x"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"


def test_alert_actions_and_a_risk_over_the_api(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c)
    api = _as(c["analyst"])

    def post(path: str, body: dict[str, Any]) -> Any:
        return api.post(path, body, content_type="application/json")

    r = post(f"/api/risk/alerts/{a.pk}/acknowledge", {"note": "looking", "status": "new"})
    assert r.status_code == 200 and r.json()["status"] == AlertStatus.ACKNOWLEDGED
    clash = post(f"/api/risk/alerts/{a.pk}/dismiss", {"reason": "x", "status": "new"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "stale"
    bad = post(f"/api/risk/alerts/{a.pk}/promote", {"title": "Lifts", "level": "purple"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "level"
    made = post(
        f"/api/risk/alerts/{a.pk}/promote",
        {
            "title": "Lifts failing",
            "level": "yellow",
            "owner_unit": c["T-D1-housing"].code,
            "deadline": later(5).isoformat(),
            "measures": "Inspect",
        },
    )
    assert made.status_code == 201, made.content
    risk = made.json()
    assert risk["level"] == "yellow" and risk["districts"] == ["T-D1"]
    assert [e["action"] for e in risk["events"]] == ["create", "alert"]
    code, version = risk["code"], risk["version"]
    spread = post(
        f"/api/risk/risks/{code}/spread",
        {"district": "T-D2", "note": "same contractor", "version": version},
    )
    assert spread.status_code == 200 and spread.json()["level"] == "orange"
    stale = post(f"/api/risk/risks/{code}/review", {"note": "x", "version": version})
    assert stale.status_code == 409
    closed = post(
        f"/api/risk/risks/{code}/close",
        {"outcome": "averted", "note": "calm again", "version": spread.json()["version"]},
    )
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "averted"
    again = post(f"/api/risk/risks/{code}/review", {"note": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert post(f"/api/risk/risks/{code}/fly", {}).status_code == 404
    listing = api.get("/api/risk/risks?status=closed").json()["items"]
    assert [x["code"] for x in listing] == [code]
    assert api.get("/api/risk/risks?level=purple").status_code == 422
    assert audit.verify().ok


def test_create_a_risk_directly_and_rights(reg_city: dict[str, Any]) -> None:
    c = reg_city
    body = {
        "city": "T",
        "title": "Festival crowds",
        "level": "blue",
        "owner_unit": c["T-D2-centre"].code,
        "deadline": later(3).isoformat(),
        "area": "T-D2",
    }
    made = _as(c["analyst"]).post("/api/risk/risks", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["area"] == "T-D2"
    refused = _as(c["d1_analyst"]).post("/api/risk/risks", body, content_type="application/json")
    assert refused.status_code == 403
    assert _as(c["handler"]).get("/api/risk/risks").status_code == 403
    assert _as(c["handler"]).get(f"/api/risk/risks/{made.json()['code']}").status_code == 403
    code = made.json()["code"]
    assert _as(c["d1_analyst"]).get(f"/api/risk/risks/{code}").status_code == 404
    assert RiskItem.objects.count() == 1


def test_the_risk_endpoints_are_described_in_openapi(reg_city: dict[str, Any]) -> None:
    doc = _as(reg_city["analyst"]).get("/api/openapi.json")
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    for path in (
        "/api/risk/alerts",
        "/api/risk/alerts/{pk}",
        "/api/risk/alerts/{pk}/{action}",
        "/api/risk/risks",
        "/api/risk/risks/{code}",
        "/api/risk/risks/{code}/{action}",
    ):
        assert path in paths, path


def test_points_of_cases_the_reader_may_not_open_are_rounded(reg_city: dict[str, Any]) -> None:
    c = reg_city
    a = cluster(c, lat=0.51234, lon=0.51234, n=4, step=0.00011)
    exact = sorted((p.lat, p.lon) for p in register_setup.Appeal.objects.filter(risk_alerts=a))
    assert all(round(lat, 3) != lat for lat, _ in exact)
    risk_only = _key(c["T-D1-centre"], ["risk:read"]).get(f"/api/risk/alerts/{a.pk}").json()
    seen = sorted((p["lat"], p["lon"]) for p in risk_only["appeals"])
    assert seen == sorted((round(lat, 3), round(lon, 3)) for lat, lon in exact)
    both = _key(c["T-D1-centre"], ["risk:read", "appeals:read"])
    assert (
        sorted((p["lat"], p["lon"]) for p in both.get(f"/api/risk/alerts/{a.pk}").json()["appeals"])
        == exact
    )
