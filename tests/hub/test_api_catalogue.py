"""/api/hub/datasets…: reading the catalogue, creating datasets and putting schemas, through
real HTTP requests with API keys and sessions."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.hub.models import Dataset, SchemaVersion
from civitas.org import services as org_services
from civitas.org.models import Unit
from tests.hub.test_catalogue import ACCIDENT_FIELDS, field

pytestmark = pytest.mark.django_db


def key_client(unit: Unit | None, *scopes: str) -> Client:
    with transaction.atomic():
        _, clear = org_services.create_api_key(
            actor="test", name="k", scopes=list(scopes), unit=unit
        )
    return Client(headers={"X-Api-Key": clear})


def session(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


NEW = {
    "owner_unit": "T-MARKET",
    "code": "t-accidents",
    "title_en": "Traffic accidents",
    "title_zh": "交通事故",
    "description_en": "Accidents reported to the traffic police.",
    "keywords": ["collision", "碰撞"],
    "domain": "traffic",
    "frequency": "daily",
    "sharing": "conditional",
    "feeds_risk": True,
}


class TestReading:
    def test_the_list_searches_and_pages(self, hub: dict[str, Any], population: Any) -> None:
        c = key_client(hub["street"], "hub:read")
        r = c.get("/api/hub/datasets")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["count"] == 2
        assert [d["code"] for d in body["items"]] == ["t-inspections", "t-population"]
        first = body["items"][0]
        assert first["owner_unit"] == "T-MARKET" and first["schema_version"] == 1
        assert first["sharing"] == "conditional" and first["area"] == "T"
        assert c.get("/api/hub/datasets", {"q": "legal rep"}).json()["count"] == 1
        assert c.get("/api/hub/datasets", {"q": "t-population数据"}).json()["count"] == 1
        assert c.get("/api/hub/datasets", {"sharing": "unconditional"}).json()["count"] == 1
        assert c.get("/api/hub/datasets", {"owner": "T-MARKET"}).json()["count"] == 1
        paged = c.get("/api/hub/datasets", {"limit": 1, "offset": 1}).json()
        assert paged["count"] == 2 and [d["code"] for d in paged["items"]] == ["t-population"]
        bad = c.get("/api/hub/datasets", {"domain": "weather"})
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "domain"

    def test_one_dataset_with_its_schema_and_versions(self, hub: dict[str, Any]) -> None:
        c = session(hub["consumer"])
        r = c.get("/api/hub/datasets/t-inspections")
        assert r.status_code == 200
        d = r.json()
        assert d["title_zh"] == "t-inspections数据" and d["feeds_risk"] is True
        names = [f["name"] for f in d["fields"]]
        assert names[:3] == ["credit_code", "enterprise", "address"]
        rep = next(f for f in d["fields"] if f["name"] == "legal_rep_id")
        assert rep["sensitivity"] == "secret" and rep["key_role"] == "person_id"
        versions = c.get("/api/hub/datasets/t-inspections/schemas").json()
        assert [v["number"] for v in versions] == [1] and len(versions[0]["fields"]) == 10
        missing = c.get("/api/hub/datasets/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    def test_who_reads_nothing(self, hub: dict[str, Any]) -> None:
        for c in (session(hub["resident"]), key_client(None, "reference:read")):
            r = c.get("/api/hub/datasets")
            assert r.status_code == 403
            assert r.json()["error"]["details"]["action"] == "hub.browse"
        assert Client().get("/api/hub/datasets").status_code == 401
        assert session(hub["resident"]).get("/api/hub/datasets/t-inspections").status_code == 403

    def test_staff_of_another_city_see_nothing(self, hub: dict[str, Any]) -> None:
        from civitas.geo import services as geo_services
        from civitas.org.models import Role, UnitKind
        from tests import factories

        with transaction.atomic():
            other = geo_services.save_jurisdiction(
                actor="test",
                code="U",
                level=hub["city"]["levels"]["city"],
                name_en="Otherton",
                name_zh="他市",
            )
            unit = org_services.save_unit(
                actor="test",
                code="U-CENTRE",
                kind=UnitKind.CENTRE,
                name_en="Otherton Centre",
                name_zh="他市中心",
                jurisdiction=other,
            )
        analyst = factories.member("u-analyst", Role.ANALYST, unit)
        c = session(analyst)
        assert c.get("/api/hub/datasets").json()["count"] == 0
        assert c.get("/api/hub/datasets/t-inspections").status_code == 404
        assert key_client(unit, "hub:read").get("/api/hub/datasets").json()["count"] == 0


class TestWriting:
    def test_a_unit_key_creates_a_dataset_and_puts_its_schema(self, hub: dict[str, Any]) -> None:
        c = key_client(hub["market"], "hub:write")
        r = c.post("/api/hub/datasets", NEW, content_type="application/json")
        assert r.status_code == 201, r.content
        made = r.json()
        assert made["version"] == 1 and made["fields"] == [] and made["schema_version"] is None
        body = {"version": 1, "note": "first", "fields": ACCIDENT_FIELDS}
        r = c.put("/api/hub/datasets/t-accidents/schema", body, content_type="application/json")
        assert r.status_code == 200, r.content
        d = r.json()
        assert d["schema_version"] == 1 and d["version"] == 2
        assert [f["name"] for f in d["fields"]] == [f["name"] for f in ACCIDENT_FIELDS]
        # the same body again is stale (the dataset is at version 2 now)
        r = c.put("/api/hub/datasets/t-accidents/schema", body, content_type="application/json")
        assert r.status_code == 409 and r.json()["error"]["code"] == "stale"
        assert r.json()["error"]["details"]["current"] == 2

    def test_schema_problems_come_back_by_row_and_field(self, hub: dict[str, Any]) -> None:
        c = key_client(hub["market"], "hub:write")
        bad = [field("lat", "decimal", key_role="latitude"), field("x", "colour")]
        r = c.put(
            "/api/hub/datasets/t-inspections/schema",
            {"version": 1, "fields": bad},
            content_type="application/json",
        )
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["code"] == "invalid_schema"
        found = {
            (p.get("index"), p.get("name"), p["field"], p["code"])
            for p in err["details"]["problems"]
        }
        assert found >= {
            (0, "lat", "key_role", "coordinates_apart"),
            (1, "x", "type", "invalid_type"),
            # the inspections feed the risk detectors: a date of the event is needed
            (None, None, "feeds_risk", "needs_date"),
        }
        assert SchemaVersion.objects.filter(dataset=hub["dataset"]).count() == 1

    def test_a_steward_session_needs_the_csrf_token_and_may_patch(
        self, hub: dict[str, Any]
    ) -> None:
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(hub["steward"])
        r = strict.post("/api/hub/datasets", NEW, content_type="application/json")
        assert r.status_code in (401, 403)
        c = session(hub["steward"])
        assert c.post("/api/hub/datasets", NEW, content_type="application/json").status_code == 201
        r = c.patch(
            "/api/hub/datasets/t-accidents",
            {"version": 1, "title_en": "Road accidents", "area": "T-D1"},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
        assert r.json()["title_en"] == "Road accidents" and r.json()["area"] == "T-D1"
        r = c.patch(
            "/api/hub/datasets/t-accidents",
            {"version": 2, "active": False, "reason": "merged into another dataset"},
            content_type="application/json",
        )
        assert r.status_code == 200 and r.json()["active"] is False
        # withdrawn: the steward still sees it, a consumer no longer does
        assert session(hub["consumer"]).get("/api/hub/datasets/t-accidents").status_code == 404

    @pytest.mark.parametrize("who", ["owner_leader", "consumer", "outsider"])
    def test_others_are_refused(self, hub: dict[str, Any], who: str) -> None:
        c = session(hub[who])
        r = c.post("/api/hub/datasets", NEW, content_type="application/json")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_steward"
        r = c.put(
            "/api/hub/datasets/t-inspections/schema",
            {"version": 1, "fields": ACCIDENT_FIELDS},
            content_type="application/json",
        )
        assert r.status_code == 403
        assert not Dataset.objects.filter(code="t-accidents").exists()

    def test_a_read_key_cannot_write_and_malformed_bodies_name_the_field(
        self, hub: dict[str, Any]
    ) -> None:
        r = key_client(hub["market"], "hub:read").post(
            "/api/hub/datasets", NEW, content_type="application/json"
        )
        assert r.status_code == 403
        c = key_client(hub["market"], "hub:write")
        r = c.post(
            "/api/hub/datasets", {**NEW, "owner_unit": "NOPE"}, content_type="application/json"
        )
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "owner_unit"
        r = c.post("/api/hub/datasets", {"code": "x"}, content_type="application/json")
        assert r.status_code == 422
        assert "title_en" in r.json()["error"]["message"]
