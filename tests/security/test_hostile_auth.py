"""Hostile sign-ins and API keys: throttling, lockout, scopes, revocation, expiry, hashing."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db import transaction
from django.test import Client
from django.utils import timezone

from civitas.kit import clock
from civitas.org import services as org_services
from civitas.org.access import API_KEY_SCOPES
from civitas.org.models import ApiKey
from tests.factories import UserFactory

GOOD = "correct horse battery staple"

# Scope-protected families: a GET each that a key without the scope is refused (403).
REFUSED_WITHOUT = {
    "audit:read": "/api/audit/entries",
    "assessment:read": "/api/assessment",
    "risk:read": "/api/risk/alerts",
    "hub:read": "/api/hub/datasets",
    "disputes:read": "/api/mediation/disputes",
    "disputes:figures": "/api/mediation/figures",
    "participation:read": "/api/participation/figures",
}


def key(unit: Any = None, scopes: list[str] | None = None, **kw: Any) -> tuple[ApiKey, str]:
    with transaction.atomic():
        return org_services.create_api_key(
            actor="test", name="k", scopes=scopes or [], unit=unit, **kw
        )


def as_key(clear: str) -> Client:
    return Client(headers={"X-Api-Key": clear})


def fail(client: Client, username: str = "victim") -> Any:
    return client.post("/login/", {"username": username, "password": "wrong"})


@pytest.mark.django_db
class TestLoginThrottling:
    def test_five_failures_lock_and_the_right_password_is_then_refused(self, settings: Any) -> None:
        assert settings.AXES_FAILURE_LIMIT == 5
        UserFactory(username="victim")
        client = Client(REMOTE_ADDR="10.9.8.1")
        assert [fail(client).status_code for _ in range(4)] == [200] * 4
        assert fail(client).status_code == 429
        locked = client.post("/login/", {"username": "victim", "password": GOOD})
        assert locked.status_code == 429 and "_auth_user_id" not in client.session

    def test_the_lockout_page_speaks_chinese_too(self) -> None:
        UserFactory(username="victim")
        client = Client(REMOTE_ADDR="10.9.8.2", headers={"Accept-Language": "zh-hans"})
        for _ in range(5):
            fail(client)
        page = client.post("/login/", {"username": "victim", "password": GOOD})
        assert page.status_code == 429
        assert "登录失败次数过多" in page.content.decode()
        english = Client(REMOTE_ADDR="10.9.8.2", headers={"Accept-Language": "en"})
        text = english.post("/login/", {"username": "victim", "password": GOOD}).content.decode()
        assert "Too many failed sign-in attempts" in text

    def test_unlocked_after_the_cool_off(self, settings: Any) -> None:
        UserFactory(username="victim")
        client = Client(REMOTE_ADDR="10.9.8.3")
        for _ in range(5):
            fail(client)
        assert client.post("/login/", {"username": "victim", "password": GOOD}).status_code == 429
        # The cool-off passes: the failures are older than AXES_COOLOFF_TIME (hours).
        past = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1)
        assert AccessAttempt.objects.update(attempt_time=past) >= 1
        ok = client.post("/login/", {"username": "victim", "password": GOOD})
        assert ok.status_code == 302

    def test_failures_for_one_user_do_not_lock_another(self) -> None:
        UserFactory(username="victim")
        UserFactory(username="bystander")
        client = Client(REMOTE_ADDR="10.9.8.4")
        for _ in range(5):
            fail(client)
        ok = client.post("/login/", {"username": "bystander", "password": GOOD})
        assert ok.status_code == 302


@pytest.mark.django_db
class TestApiKeys:
    def test_keys_are_stored_hashed(self) -> None:
        row, clear = key(scopes=["reference:read"])
        stored = ApiKey.objects.get(pk=row.pk)
        assert stored.key_hash == hashlib.sha256(clear.encode()).hexdigest()
        for value in (stored.name, stored.prefix, stored.key_hash, str(stored.scopes)):
            assert clear not in value and clear.rsplit("_", 1)[-1] not in value

    @pytest.mark.parametrize(("scope", "path"), sorted(REFUSED_WITHOUT.items()))
    def test_a_key_without_the_scope_is_refused(
        self, city: dict[str, Any], scope: str, path: str
    ) -> None:
        others = sorted(set(API_KEY_SCOPES) - {scope, "hub:write", "disputes:register"})
        if scope == "disputes:read":
            others.remove("disputes:figures")
        _, without = key(city["centre"], others)
        refused = as_key(without).get(path)
        assert refused.status_code == 403, (path, refused.content)
        error = refused.json()["error"]
        assert error["code"] == "forbidden" and len(error["message"]) > 10
        _, holding = key(city["centre"], [scope])
        assert as_key(holding).get(path).status_code == 200

    def test_a_key_without_units_read_sees_no_units(self, city: dict[str, Any]) -> None:
        _, without = key(city["centre"], ["reference:read"])
        _, holding = key(city["centre"], ["units:read"])
        assert as_key(without).get("/api/units").json()["count"] == 0
        assert as_key(holding).get("/api/units").json()["count"] > 0

    def test_submitting_needs_appeals_submit(self, city: dict[str, Any]) -> None:
        _, without = key(None, ["reference:read"])
        answer = as_key(without).post(
            "/api/appeals",
            {"city": "T", "text": "The lift is broken", "lat": 0.5, "lon": 0.5},
            content_type="application/json",
        )
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"

    def test_a_revoked_key_is_refused_at_once(self, city: dict[str, Any]) -> None:
        row, clear = key(city["centre"], ["audit:read"])
        client = as_key(clear)
        assert client.get("/api/audit/entries").status_code == 200
        with transaction.atomic():
            org_services.revoke_api_key(actor="test", key=row, reason="leaked")
        assert client.get("/api/audit/entries").status_code == 401
        assert (
            Client(headers={"Authorization": f"Bearer {clear}"})
            .get("/api/audit/entries")
            .status_code
            == 401
        )

    def test_an_expired_key_is_refused(self, city: dict[str, Any]) -> None:
        _, clear = key(city["centre"], ["audit:read"], expires_at=clock.now() + timedelta(hours=1))
        assert as_key(clear).get("/api/audit/entries").status_code == 200
        with clock.frozen(clock.now() + timedelta(hours=2)):
            assert as_key(clear).get("/api/audit/entries").status_code == 401

    def test_unknown_revoked_and_expired_keys_get_the_same_answer(
        self, city: dict[str, Any]
    ) -> None:
        revoked, revoked_clear = key(city["centre"], ["audit:read"])
        with transaction.atomic():
            org_services.revoke_api_key(actor="test", key=revoked)
        _, expired_clear = key(
            city["centre"], ["audit:read"], expires_at=clock.now() - timedelta(seconds=1)
        )
        unknown = revoked_clear[:-4] + "AAAA"
        answers = {
            (r.status_code, r.content)
            for r in (
                as_key(c).get("/api/audit/entries") for c in (revoked_clear, expired_clear, unknown)
            )
        }
        assert len(answers) == 1 and next(iter(answers))[0] == 401

    def test_guessing_keys_is_refused_after_the_limit(
        self, city: dict[str, Any], settings: Any
    ) -> None:
        settings.CIVITAS_API_KEY_FAILURE_RATE = "3/m"
        _, clear = key(city["centre"], ["audit:read"])
        guesses = [
            Client(REMOTE_ADDR="198.51.100.20", headers={"X-Api-Key": clear[:-4] + f"{i:04d}"})
            .get("/api/audit/entries")
            .status_code
            for i in range(4)
        ]
        assert guesses == [401, 401, 401, 429]
        refused = Client(REMOTE_ADDR="198.51.100.20", headers={"X-Api-Key": clear}).get(
            "/api/audit/entries"
        )
        assert refused.status_code == 429
        assert "wrong API keys" in refused.json()["error"]["message"]
        # Another address is not held back, and a good key never counts.
        for _ in range(5):
            good = Client(REMOTE_ADDR="198.51.100.21", headers={"X-Api-Key": clear})
            assert good.get("/api/audit/entries").status_code == 200

    @pytest.mark.parametrize(
        "presented",
        [
            "",
            " ",
            "civ_",
            "x" * 10_000,
            "civ_00000000_" + "A" * 43,
            "\u202e\u0000key",
            "' OR 1=1 --",
        ],
    )
    def test_malformed_keys_are_refused_cleanly(self, presented: str) -> None:
        answer = Client(headers={"Authorization": f"Bearer {presented}"}).get("/api/audit/entries")
        assert answer.status_code == 401
