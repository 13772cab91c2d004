"""/api/hub/…/records and batches through real HTTP: 201 applied, 422 rejected with every bad
row, 403 for anyone but the owner's stewards and its hub:write key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings

from civitas.hub import keys
from civitas.hub.models import Batch, QuarantineRow, Record
from civitas.org import services as org_services
from civitas.org.models import Unit
from tests.hub import helpers
from tests.hub.ingest_setup import clear_numbers_stored, rows

pytestmark = pytest.mark.django_db

URL = "/api/hub/datasets/t-inspections/records"


@pytest.fixture(autouse=True)
def var(tmp_path: Path) -> Any:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield


def key_client(unit: Unit | None, *scopes: str) -> Client:
    with transaction.atomic():
        _, clear = org_services.create_api_key(
            actor="test", name="k", scopes=list(scopes), unit=unit
        )
    return Client(headers={"X-Api-Key": clear})


def post(c: Client, body: dict[str, Any], url: str = URL) -> Any:
    return c.post(url, body, content_type="application/json")


class TestPush:
    def test_applied_201_with_the_report(self, hub: dict[str, Any]) -> None:
        c = key_client(hub["market"], "hub:write")
        r = post(c, {"mode": "append", "records": rows(5)})
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "applied" and body["rows_loaded"] == 5
        assert body["source"] == "api" and body["report"]["areas"] == {"located_by_point": 5}
        assert Record.objects.count() == 5
        batch = Batch.objects.get(pk=body["id"])
        assert batch.created_by.startswith("apikey") or batch.created_by

    def test_rejected_422_names_every_bad_row_and_field(self, hub: dict[str, Any]) -> None:
        c = key_client(hub["market"], "hub:write")
        records = rows(6)
        records[1]["inspected_on"] = "yesterday"
        records[4]["legal_rep_id"] = helpers.person_id(5)[:-1]  # 17 characters
        records[4]["fine"] = "lots"
        r = post(c, {"mode": "replace", "records": records})
        assert r.status_code == 422, r.content
        err = r.json()["error"]
        assert err["code"] == "batch_rejected"
        assert err["details"]["batch"]["status"] == "rejected"
        got = {
            (row["row"], e["field"], e["code"])
            for row in err["details"]["rows"]
            for e in row["errors"]
        }
        assert got == {
            (2, "inspected_on", "not_date"),
            (5, "legal_rep_id", "invalid_person_id"),
            (5, "fine", "not_number"),
        }
        assert Record.objects.count() == 0
        assert QuarantineRow.objects.count() == 2
        # the quarantine, for the stewards
        batch_id = err["details"]["batch"]["id"]
        q = c.get(f"/api/hub/batches/{batch_id}/quarantine").json()
        assert q["count"] == 2 and [i["row"] for i in q["items"]] == [2, 5]
        # a valid number is kept as its key, which the steward who typed it does not see
        assert q["items"][0]["values"]["legal_rep_id"] == "[kept]"
        stored = QuarantineRow.objects.get(batch_id=batch_id, row_number=2).values
        assert stored["legal_rep_id"] == keys.person_key(helpers.person_id(2))
        assert q["items"][1]["values"]["legal_rep_id"] == ""
        assert clear_numbers_stored([r["legal_rep_id"] for r in records]) == []

    def test_malformed_and_too_many(self, hub: dict[str, Any]) -> None:
        c = key_client(hub["market"], "hub:write")
        assert post(c, {"records": "nope"}).status_code == 422
        assert post(c, {"mode": "merge", "records": rows(1)}).json()["error"]["code"] == (
            "invalid_mode"
        )
        with override_settings(CIVITAS_HUB_PUSH_MAX=2):
            r = post(c, {"records": rows(3)})
        assert r.status_code == 422 and r.json()["error"]["code"] == "too_many"
        assert post(c, {"records": []}, url="/api/hub/datasets/nope/records").status_code == 404
        assert Batch.objects.count() == 0

    def test_steward_session(self, hub: dict[str, Any]) -> None:
        c = Client(enforce_csrf_checks=False)
        c.force_login(hub["steward"])
        assert post(c, {"records": rows(2)}).status_code == 201

    @pytest.mark.parametrize(
        "who", ["consumer_key", "read_key", "other_unit_key", "outsider", "owner_handler", "anon"]
    )
    def test_others_refused(self, hub: dict[str, Any], who: str) -> None:
        if who == "consumer_key":
            c = key_client(hub["street"], "hub:write")
        elif who == "read_key":
            c = key_client(hub["market"], "hub:read")
        elif who == "other_unit_key":
            c = key_client(hub["housing2"], "hub:write", "hub:read")
        elif who == "anon":
            c = Client()
        else:
            c = Client()
            c.force_login(hub[who])
        r = post(c, {"records": rows(1)})
        assert r.status_code == (401 if who == "anon" else 403), r.content
        assert Batch.objects.count() == 0


class TestBatches:
    def test_list_report_and_quarantine_only_for_stewards(self, hub: dict[str, Any]) -> None:
        writer = key_client(hub["market"], "hub:write")
        post(writer, {"records": rows(2)})
        bad = rows(2)
        bad[0]["result"] = ""
        rejected = post(writer, {"records": bad}).json()["error"]["details"]["batch"]["id"]
        listed = writer.get("/api/hub/datasets/t-inspections/batches").json()
        assert [(b["number"], b["status"]) for b in listed] == [(2, "rejected"), (1, "applied")]
        one = writer.get(f"/api/hub/batches/{rejected}").json()
        assert one["report"]["problems"][0]["field"] == "result"
        reader = key_client(hub["street"], "hub:read")
        for url in (
            "/api/hub/datasets/t-inspections/batches",
            f"/api/hub/batches/{rejected}",
            f"/api/hub/batches/{rejected}/quarantine",
        ):
            assert reader.get(url).status_code == 403
        consumer = Client()
        consumer.force_login(hub["consumer"])
        assert consumer.get(f"/api/hub/batches/{rejected}/quarantine").status_code == 403
        assert writer.get("/api/hub/batches/999999").status_code == 404
