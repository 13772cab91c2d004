"""Nobody sees outside their scope: through the one door, and through the JSON API."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.kit import clock
from civitas.org import access, selectors, services
from civitas.org.models import ApiKey, Role, Unit
from tests.factories import member


def codes(qs: Any) -> set[str]:
    return {u.code for u in qs}


@pytest.mark.django_db
class TestScopes:
    def test_city_centre_dispatcher_sees_the_whole_city(self, city: dict[str, Any]) -> None:
        user = member("cc", Role.DISPATCHER, city["centre"])
        assert codes(selectors.units(user)) == set(Unit.objects.values_list("code", flat=True))

    def test_district_dispatcher_sees_only_the_district_subtree(self, city: dict[str, Any]) -> None:
        user = member("d1", Role.DISPATCHER, city["T-D1-centre"])
        seen = codes(selectors.units(user))
        assert seen == {"T-D1-CENTRE", "T-D1-HOUSING", "T-D1-S1-OFFICE", "T-D1-S2-OFFICE"}
        assert access.scope_of(user).paths == ("/T/T-D1/",)

    def test_handler_sees_only_their_unit(self, city: dict[str, Any]) -> None:
        user = member("h", Role.UNIT_HANDLER, city["T-D2-housing"])
        assert codes(selectors.units(user)) == {"T-D2-HOUSING"}

    def test_resident_sees_no_units_and_only_themselves(self, city: dict[str, Any]) -> None:
        resident = member("res", Role.RESIDENT)
        member("other-staff", Role.DISPATCHER, city["centre"])
        assert not selectors.units(resident).exists()
        assert [u.username for u in selectors.people(resident)] == ["res"]

    def test_people_follow_units(self, city: dict[str, Any]) -> None:
        d1 = member("d1", Role.DISPATCHER, city["T-D1-centre"])
        member("h1", Role.UNIT_HANDLER, city["T-D1-housing"])
        member("h2", Role.UNIT_HANDLER, city["T-D2-housing"])
        assert {u.username for u in selectors.people(d1)} == {"d1", "h1"}

    def test_anonymous_sees_nothing(self, city: dict[str, Any]) -> None:
        from django.contrib.auth.models import AnonymousUser

        assert not selectors.units(AnonymousUser()).exists()
        assert not selectors.people(None).exists()

    def test_inactive_membership_grants_nothing(self, city: dict[str, Any]) -> None:
        user = member("gone", Role.DISPATCHER, city["centre"])
        user.memberships.update(active=False)
        user = type(user).objects.get(pk=user.pk)  # drop the cached scope
        assert not selectors.units(user).exists()

    def test_only_administrators_edit_responsibilities(self, city: dict[str, Any]) -> None:
        admin = member("adm", Role.ADMINISTRATOR, city["T-D1-centre"])
        dispatcher = member("disp", Role.DISPATCHER, city["centre"])
        assert access.can(admin, "responsibility.edit", path="/T/T-D1/T-D1-S1/")
        assert not access.can(admin, "responsibility.edit", path="/T/T-D2/")
        assert not access.can(dispatcher, "responsibility.edit", path="/T/")

    def test_unregistered_model_is_refused_loudly(self, city: dict[str, Any]) -> None:
        from civitas.kit.models import AuditEntry

        with pytest.raises(LookupError):
            access.readable(member("x", Role.AUDITOR, city["centre"]), AuditEntry.objects.all())


def _key(unit: Unit | None, scopes: list[str]) -> str:
    with transaction.atomic():
        _, clear = services.create_api_key(actor="test", name="k", scopes=scopes, unit=unit)
    return clear


@pytest.mark.django_db
class TestApiScoping:
    def test_unauthenticated_requests_are_refused(self, city: dict[str, Any]) -> None:
        response = Client().get("/api/units")
        assert response.status_code == 401

    def test_district_session_user_sees_only_the_district(self, city: dict[str, Any]) -> None:
        client = Client()
        client.force_login(member("d1", Role.DISPATCHER, city["T-D1-centre"]))
        body = client.get("/api/units").json()
        seen = {u["code"] for u in body["items"]}
        assert seen == {"T-D1-CENTRE", "T-D1-HOUSING", "T-D1-S1-OFFICE", "T-D1-S2-OFFICE"}
        assert client.get("/api/units/T-D2-HOUSING").status_code == 404
        assert client.get("/api/units/T-D1-HOUSING").status_code == 200

    def test_api_key_for_a_district_unit_sees_the_district(self, city: dict[str, Any]) -> None:
        key = _key(city["T-D2-centre"], ["units:read"])
        client = Client(headers={"X-Api-Key": key})
        seen = {u["code"] for u in client.get("/api/units").json()["items"]}
        assert seen and all(c.startswith("T-D2") for c in seen)
        bearer = Client(headers={"Authorization": f"Bearer {key}"})
        assert bearer.get("/api/units/T-D2-HOUSING").status_code == 200
        assert bearer.get("/api/units/T-D1-HOUSING").status_code == 404

    def test_key_without_scope_reads_nothing_scoped(self, city: dict[str, Any]) -> None:
        key = _key(city["centre"], ["reference:read"])
        client = Client(headers={"X-Api-Key": key})
        assert client.get("/api/units").json()["items"] == []
        assert client.get("/api/jurisdictions").status_code == 200

    def test_reference_data_needs_the_reference_scope(self, city: dict[str, Any]) -> None:
        client = Client(headers={"X-Api-Key": _key(city["centre"], ["units:read"])})
        for url in ("/api/levels", "/api/jurisdictions/T", "/api/matters"):
            refused = client.get(url)
            assert refused.status_code == 403, url
            assert "reference:read" in refused.json()["error"]["message"]
        assert client.get("/api/units").status_code == 200  # the key itself is usable
        person = Client()
        person.force_login(member("r", Role.RESIDENT))
        assert person.get("/api/levels").status_code == 200

    def test_revoked_and_expired_keys_are_refused(self, city: dict[str, Any]) -> None:
        key = _key(city["centre"], ["units:read"])
        client = Client(headers={"X-Api-Key": key})
        assert client.get("/api/me").status_code == 200
        with transaction.atomic():
            services.revoke_api_key(actor="test", key=ApiKey.objects.get(), reason="leaked")
        assert client.get("/api/me").status_code == 401
        other = _key(city["centre"], ["units:read"])
        ApiKey.objects.filter(revoked_at__isnull=True).update(expires_at=clock.now())
        assert Client(headers={"X-Api-Key": other}).get("/api/me").status_code == 401

    def test_keys_are_stored_hashed(self, city: dict[str, Any]) -> None:
        key = _key(None, ["reference:read"])
        stored = ApiKey.objects.get()
        assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
        assert stored.prefix in key

    def test_people_through_api(self, city: dict[str, Any]) -> None:
        client = Client()
        client.force_login(member("d2", Role.DISPATCHER, city["T-D2-centre"]))
        member("h1", Role.UNIT_HANDLER, city["T-D1-housing"])
        names = {p["username"] for p in client.get("/api/people").json()["items"]}
        assert names == {"d2"}

    def test_audit_endpoints_need_the_auditor_role(self, city: dict[str, Any]) -> None:
        client = Client()
        client.force_login(member("disp", Role.DISPATCHER, city["centre"]))
        assert client.get("/api/audit/verify").status_code == 403
        auditor = Client()
        auditor.force_login(member("aud", Role.AUDITOR, city["centre"]))
        body = auditor.get("/api/audit/verify").json()
        assert body["ok"] is True and body["checked"] > 0

    def test_session_writes_need_csrf(self, city: dict[str, Any]) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(member("cc", Role.DISPATCHER, city["centre"]))
        # No write endpoints accept a session without the CSRF token: the API refuses.
        assert client.post("/api/me").status_code in (401, 403, 405)

    def test_openapi_is_served(self, db: Any) -> None:
        response = Client().get("/api/openapi.json")
        assert response.status_code == 200
        assert "/api/jurisdictions" in response.json()["paths"]


@pytest.mark.django_db
def test_api_docs_are_served_without_a_cdn() -> None:
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "https://" not in html


@pytest.mark.django_db
def test_api_key_with_assessment_scope_reads_the_ranking(city: dict[str, Any]) -> None:
    with_scope = _key(city["centre"], ["assessment:read"])
    without = _key(city["centre"], ["units:read"])
    ok = Client(headers={"X-Api-Key": with_scope}).get("/api/assessment", {"group": "streets"})
    assert ok.status_code == 200
    refused = Client(headers={"X-Api-Key": without}).get("/api/assessment", {"group": "streets"})
    assert refused.status_code == 403
