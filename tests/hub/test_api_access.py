"""The access API over real HTTP (Django's test client) with real API keys and sessions:
a consumer gets only its granted fields, rows and clear values; everything is logged."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from civitas.hub import keys
from civitas.hub.masking import WITHHELD
from civitas.hub.models import AccessChannel, AccessLog, Record
from civitas.kit import audit, clock
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Role
from tests import factories
from tests.hub import helpers
from tests.hub.test_grants_support import granted, key, key_client, later, loaded, person_client

pytestmark = pytest.mark.django_db

URL = "/api/hub/datasets/t-inspections/records"


def _rows_everywhere(client: Any, url: str = URL, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while True:
        q = {**params, "page_size": 3}
        if after:
            q["after"] = after
        r = client.get(url, q)
        assert r.status_code == 200, r.content
        body = r.json()
        out += body["rows"]
        after = body["next_after"]
        if after is None:
            return out


def test_a_key_reads_only_granted_fields_rows_and_clear_values(hub: dict[str, Any]) -> None:
    loaded(hub, 18)
    g = granted(
        hub,
        fields=["enterprise", "credit_code", "phone", "legal_rep_id", "fine", "address"],
        clear=["address"],
        area=hub["city"]["T-D1-S1"],
    )
    api = key_client(hub["street"], ["hub:read"])
    first = api.get(
        URL, {"page_size": 2}, headers={"X-Civitas-Purpose": "fair", "X-Civitas-Case": "F-9"}
    )
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["dataset"] == "t-inspections" and body["grant"] == g.pk
    assert [(f["name"], f["masked"]) for f in body["fields"]] == [
        ("credit_code", False),
        ("enterprise", False),
        ("address", False),
        ("legal_rep_id", True),
        ("phone", True),
        ("fine", True),
    ]
    rows = _rows_everywhere(api)
    stored = {r.pk: r for r in Record.objects.all()}
    inside = {pk for pk, r in stored.items() if r.jurisdiction_path.startswith("/T/T-D1/T-D1-S1/")}
    assert {r["id"] for r in rows} == inside and len(rows) == len(inside) == 6
    allowed = {
        "id",
        "area",
        "enterprise",
        "credit_code",
        "phone",
        "legal_rep_id",
        "fine",
        "address",
    }
    for row in rows:
        assert set(row) == allowed  # never a field that was not granted
        assert row["area"] in ("T-D1-S1-C1", "T-D1-S1-C2")
        data = stored[row["id"]].data
        assert row["address"] == data["address"]  # granted in clear
        assert row["phone"] != data["phone"] and "****" in row["phone"]  # sensitive: masked
        assert row["fine"] == WITHHELD or not data["fine"]
        assert keys.is_person_key(row["legal_rep_id"])
    text = str(rows)
    assert not any(helpers.person_id(n) in text for n in range(1, 6))
    assert "inspected_on" not in text and "result" not in text
    log = AccessLog.objects.order_by("pk").first()
    assert log is not None and log.channel == AccessChannel.API
    assert log.api_key is not None and log.api_key.unit == hub["street"] and log.user is None
    assert log.purpose == "fair" and log.case_ref == "F-9" and log.rows == 2
    assert AccessLog.objects.count() == 1 + 2  # the first page, then three pages of three
    assert audit.verify().ok


def test_the_area_parameter_narrows_and_cannot_widen(hub: dict[str, Any]) -> None:
    loaded(hub, 12)
    granted(hub, fields=["enterprise"], area=hub["city"]["T-D1"])
    api = key_client(hub["street"], ["hub:read"])
    narrow = _rows_everywhere(api, area="T-D1-S2-C1")
    assert {r["area"] for r in narrow} == {"T-D1-S2-C1"} and len(narrow) == 2
    wide = api.get(URL, {"area": "T-D2"})
    assert wide.status_code == 403 and wide.json()["error"]["details"] == {"field": "area"}
    assert api.get(URL, {"area": "T"}).status_code == 403
    assert api.get(URL, {"area": "NOPE"}).status_code == 422


def test_filters_by_query_parameters(hub: dict[str, Any]) -> None:
    loaded(hub, 9)
    granted(hub, fields=["enterprise", "result", "phone"])
    api = key_client(hub["street"], ["hub:read"])
    fails = api.get(URL, {"result": "fail"}).json()["rows"]
    assert sorted(r["enterprise"] for r in fails) == ["Shop 1", "Shop 4", "Shop 7"]
    hidden = api.get(URL, {"address": "1 Elm Road"})
    assert hidden.status_code == 403 and hidden.json()["error"]["details"] == {"field": "address"}
    masked = api.get(URL, {"phone": "13800000001"})
    assert masked.status_code == 403 and masked.json()["error"]["code"] == "field_masked"
    assert api.get(URL, {"page_size": 501}).status_code == 422
    assert api.get(URL, {"after": "x"}).status_code == 422


def test_keys_without_hub_read_or_of_another_unit_are_refused(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    g = granted(hub, fields=["enterprise"])
    for client in (
        key_client(hub["street"], ["appeals:read"]),  # the right unit, not the scope
        key_client(hub["street"], ["hub:write"]),
        key_client(hub["housing2"], ["hub:read"]),  # the scope, another unit
        key_client(None, ["hub:read"]),
    ):
        for params in ({}, {"grant": g.pk}):
            r = client.get(URL, params)
            assert r.status_code == 403, r.content
            assert r.json()["error"]["code"] in ("no_grant", "grant_not_in_force")
    assert Client_anonymous().get(URL).status_code == 401
    refused = AccessLog.objects.filter(query__has_key="refused")
    assert refused.count() == 8 and not AccessLog.objects.filter(rows__gt=0).exists()
    # A revoked key is unknown.
    k, clear = key(hub["street"], ["hub:read"])
    from django.db import transaction
    from django.test import Client

    from civitas.org import services as org_services

    with transaction.atomic():
        org_services.revoke_api_key(actor="test", key=k, reason="lost")
    assert Client(headers={"X-Api-Key": clear}).get(URL).status_code == 401


def Client_anonymous() -> Any:
    from django.test import Client

    return Client()


def test_expired_and_revoked_grants_stop_at_once(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    soon = granted(hub, fields=["enterprise"], expires_at=clock.now() + timedelta(hours=5))
    api = key_client(hub["street"], ["hub:read"])
    assert len(api.get(URL).json()["rows"]) == 4
    with clock.frozen(soon.expires_at + timedelta(seconds=1)):
        r = api.get(URL, {"grant": soon.pk})
        assert r.status_code == 403 and r.json()["error"]["code"] == "grant_not_in_force"
        assert api.get(URL).status_code == 403
    g = granted(hub, fields=["enterprise", "result"])
    assert set(api.get(URL, {"grant": g.pk}).json()["rows"][0]) == {
        "id",
        "area",
        "enterprise",
        "result",
    }
    owner = person_client(hub["owner_leader"])
    r = owner.post(
        f"/api/hub/grants/{g.pk}/revoke",
        {"version": g.version, "reason": "misuse reported"},
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(owner)},
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "revoked" and r.json()["in_force"] is False
    after = api.get(URL, {"grant": g.pk})
    assert after.status_code == 403 and "Revoked" in after.json()["error"]["message"]


def _csrf(client: Any) -> str:
    """The CSRF token of a signed-in session (the cookie a page would have set)."""
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return str(_mask_cipher_secret(secret))


def test_grant_life_over_the_api_with_sessions_and_csrf(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    hub["owner_leader"].email = "leader@market.example"
    hub["owner_leader"].save(update_fields=["email"])
    hub["consumer"].email = "analyst@street.example"
    hub["consumer"].save(update_fields=["email"])
    consumer = person_client(hub["consumer"])
    body = {
        "dataset": "t-inspections",
        "fields": ["enterprise", "phone"],
        "clear_fields": ["phone"],
        "area": "T-D1-S1",
        "purpose": "fair",
        "legal_basis": "Food Safety Law art. 87",
        "expires_at": later(30).isoformat(),
    }
    no_csrf = consumer.post("/api/hub/grants", body, content_type="application/json")
    assert no_csrf.status_code in (401, 403)
    made = consumer.post(
        "/api/hub/grants",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(consumer)},
    )
    assert made.status_code == 201, made.content
    g = made.json()
    assert (
        g["status"] == "requested" and g["consumer"] == "T-D1-S1-OFFICE" and g["area"] == "T-D1-S1"
    )
    told = OutboxMessage.objects.get(topic=f"hub-grant:{g['id']}")  # the owner hears of it
    assert told.recipient == "leader@market.example" and "t-inspections" in told.subject
    # Bad requests name the field.
    bad = consumer.post(
        "/api/hub/grants",
        {**body, "fields": ["enterprise", "salary"]},
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(consumer)},
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "fields"
    # The consumer cannot approve its own request; the owner can, once.
    own = consumer.post(
        f"/api/hub/grants/{g['id']}/approve",
        {"version": g["version"]},
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(consumer)},
    )
    assert own.status_code == 403
    owner = person_client(hub["owner_leader"])
    token = _csrf(owner)
    mine = owner.get("/api/hub/grants", {"side": "owner", "status": "requested"}).json()
    assert [x["id"] for x in mine["items"]] == [g["id"]]
    ok = owner.post(
        f"/api/hub/grants/{g['id']}/approve",
        {"version": g["version"], "note": "for the fair only"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    answer = OutboxMessage.objects.get(recipient="analyst@street.example")
    assert "approved" in answer.subject and "for the fair only" in answer.body
    again = owner.post(
        f"/api/hub/grants/{g['id']}/approve",
        {"version": g["version"]},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "stale"
    illegal = owner.post(
        f"/api/hub/grants/{g['id']}/refuse",
        {"version": ok.json()["version"], "reason": "changed my mind"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal"
    no_reason = owner.post(
        f"/api/hub/grants/{g['id']}/revoke",
        {"version": ok.json()["version"]},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert (
        no_reason.status_code == 422 and no_reason.json()["error"]["details"]["field"] == "reason"
    )
    # The consumer sees its grant and reads with it through its session too.
    seen = consumer.get(f"/api/hub/grants/{g['id']}").json()
    assert seen["status"] == "approved" and seen["reason"] == "for the fair only"
    page = consumer.get(URL).json()
    assert {r["phone"] for r in page["rows"]} <= {f"1380000{i:04d}" for i in range(4)}
    assert len(page["rows"]) == 2  # two of the four points lie in street S1
    assert consumer.get("/api/hub/grants", {"side": "consumer"}).json()["count"] == 1
    assert person_client(hub["outsider"]).get(f"/api/hub/grants/{g['id']}").status_code == 404
    assert (
        owner.post(
            f"/api/hub/grants/{g['id']}/bless",
            {"version": 1},
            content_type="application/json",
            headers={"X-CSRFToken": token},
        ).status_code
        == 404
    )


def test_owners_see_who_used_their_data(hub: dict[str, Any]) -> None:
    loaded(hub, 6)
    g = granted(hub, fields=["enterprise"])
    api = key_client(hub["street"], ["hub:read"])
    api.get(URL, {"case": "K-1"})
    api.get(URL, {"page_size": 1})
    key_client(hub["housing2"], ["hub:read"]).get(URL)
    owner = person_client(hub["owner_leader"])
    used = owner.get("/api/hub/datasets/t-inspections/usage")
    assert used.status_code == 200, used.content
    body = used.json()
    assert body["count"] == 3
    by = {u["unit"]: u for u in body["by_unit"]}
    assert by["T-D1-S1-OFFICE"]["reads"] == 2 and by["T-D1-S1-OFFICE"]["rows"] == 7
    assert by["T-D2-HOUSING"]["refused"] == 1
    first = body["items"][-1]
    assert first["case_ref"] == "K-1" and first["grant"] == g.pk and first["rows"] == 6
    assert first["actor"].startswith("apikey:")
    assert AuditEntry.objects.filter(seq=first["audit_seq"], action="hub.read").exists()
    refused = owner.get("/api/hub/datasets/t-inspections/usage", {"refused": "true"}).json()
    assert [x["refused"] for x in refused["items"]] == ["no_grant"]
    assert (
        person_client(hub["consumer"]).get("/api/hub/datasets/t-inspections/usage").status_code
        == 403
    )
    assert api.get("/api/hub/datasets/t-inspections/usage").status_code == 403
    assert (
        person_client(hub["auditor"]).get("/api/hub/datasets/t-inspections/usage").status_code
        == 200
    )
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "audit chain intact" in out.getvalue()


def test_unknown_dataset_is_404(hub: dict[str, Any]) -> None:
    api = key_client(hub["street"], ["hub:read"])
    r = api.get("/api/hub/datasets/nothing/records")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_unconditional_data_is_granted_at_once_to_a_government_unit(
    hub: dict[str, Any], population: Any
) -> None:
    helpers.put_records(
        population,
        [
            {"grid": "T-D1-S1-C1", "households": 10, "residents": 25, "elderly": 4},
            {"grid": "T-D1-S1-C2", "households": 12, "residents": 30, "elderly": 6},
        ],
    )
    leader = factories.member("hleader", Role.UNIT_LEADER, hub["housing2"])
    bureau = person_client(leader)
    made = bureau.post(
        "/api/hub/grants",
        {
            "dataset": "t-population",
            "fields": ["grid", "residents"],
            "purpose": "planning lifts for old buildings",
            "legal_basis": "city housing plan 2026",
            "expires_at": later(60).isoformat(),
        },
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(bureau)},
    )
    assert made.status_code == 201, made.content
    g = made.json()
    assert g["status"] == "approved" and g["automatic"] and g["in_force"]
    assert g["consumer"] == "T-D2-HOUSING" and g["decided_by"] == "system"
    api = key_client(hub["housing2"], ["hub:read"])
    rows = api.get("/api/hub/datasets/t-population/records").json()["rows"]
    assert sorted((r["grid"], r["residents"]) for r in rows) == [
        ("T-D1-S1-C1", 25),
        ("T-D1-S1-C2", 30),
    ]
    assert all(set(r) == {"id", "area", "grid", "residents"} for r in rows)


def test_the_owner_reads_its_own_data_with_a_read_key_not_with_a_push_key(
    hub: dict[str, Any],
) -> None:
    loaded(hub, 3)
    push = key_client(hub["market"], ["hub:write"])
    assert push.get(URL).status_code == 403
    own = key_client(hub["market"], ["hub:read"]).get(URL)
    assert own.status_code == 200, own.content
    body = own.json()
    masked = [f["name"] for f in body["fields"] if f["masked"]]
    assert body["grant"] is None and masked == ["legal_rep_id"]
    assert {r["phone"] for r in body["rows"]} == {f"1380000{i:04d}" for i in range(3)}
    assert AccessLog.objects.filter(channel=AccessChannel.OWNER, rows=3).count() == 1


def test_a_key_joins_two_datasets_on_the_pseudonymous_key(hub: dict[str, Any]) -> None:
    """Two datasets name the same people by identity number; the consumer's key finds one
    person's records in the other dataset by the key it was shown, and never the number."""
    loaded(hub, 10)
    licences = helpers.make_dataset(
        code="t-licences",
        owner=hub["market"],
        area=hub["city"]["T"],
        fields=[
            ("holder_id", "string", "secret", "person_id", True),
            ("licence", "string", "public", "", True),
        ],
    )
    helpers.put_records(
        licences,
        [{"holder_id": helpers.person_id(n), "licence": f"L-{n}"} for n in (1, 2, 3, 2)],
    )
    granted(hub, fields=["enterprise", "legal_rep_id"])
    granted(hub, dataset=licences, fields=["holder_id", "licence"])
    api = key_client(hub["street"], ["hub:read"])
    shops = api.get(URL).json()["rows"]
    person = next(r["legal_rep_id"] for r in shops if r["enterprise"] == "Shop 2")
    held = api.get("/api/hub/datasets/t-licences/records", {"holder_id": person}).json()
    assert sorted(r["licence"] for r in held["rows"]) == ["L-2", "L-2"]
    assert [f["masked"] for f in held["fields"]] == [True, False]  # a key stands for it
    body = str(shops) + str(held)
    assert keys.is_person_key(person)
    assert not any(helpers.person_id(n) in body for n in range(1, 11))
    clear = api.get("/api/hub/datasets/t-licences/records", {"holder_id": helpers.person_id(2)})
    assert clear.status_code == 200 and clear.json()["rows"] == []
