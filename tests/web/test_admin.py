"""The Django admin: every model is listed, and saves go through the audited services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.geo.models import Jurisdiction, Level
from civitas.kit.models import AuditEntry
from civitas.matters.models import Matter
from civitas.org import services as org_services
from civitas.org.models import (
    ApiKey,
    Membership,
    ResponsibilityRevision,
    ResponsibilityRule,
    Role,
    Unit,
    User,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(city: dict[str, Any], settings: Any) -> Client:
    root = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    c = Client()
    c.force_login(root)
    return c


def last_audit() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    return entry


MODELS = [
    ("geo", "level"),
    ("geo", "jurisdiction"),
    ("matters", "matter"),
    ("org", "unit"),
    ("org", "user"),
    ("org", "membership"),
    ("org", "responsibilityrule"),
    ("org", "apikey"),
    ("kit", "auditentry"),
]


class TestListings:
    @pytest.mark.parametrize(("app", "model"), MODELS)
    def test_changelist_renders(self, admin_client: Client, app: str, model: str) -> None:
        assert admin_client.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200

    def test_search_and_filters(self, admin_client: Client) -> None:
        url = reverse("admin:geo_jurisdiction_changelist")
        html = admin_client.get(url, {"q": "A2"}).content.decode()
        assert "North 2 District" in html and "North 1 District" not in html
        level = Level.objects.get(code="street")
        html = admin_client.get(url, {"level__id__exact": level.pk}).content.decode()
        assert "Elm 11 Street" in html and "Oak 111 Community" not in html
        matters = admin_client.get(reverse("admin:matters_matter_changelist"), {"q": "lift"})
        assert "T-M1-1-1" in matters.content.decode()
        units = admin_client.get(reverse("admin:org_unit_changelist"), {"kind__exact": "centre"})
        assert "T-D1-CENTRE" in units.content.decode()
        assert "T-D1-HOUSING" not in units.content.decode()

    @pytest.mark.parametrize(
        ("app", "model", "code"),
        [
            ("geo", "jurisdiction", "T-D1"),
            ("matters", "matter", "T-M1-1-1"),
            ("org", "unit", "T-D1-HOUSING"),
        ],
    )
    def test_change_form_renders(
        self, admin_client: Client, app: str, model: str, code: str
    ) -> None:
        obj = {"jurisdiction": Jurisdiction, "matter": Matter, "unit": Unit}[model].objects.get(
            code=code
        )
        r = admin_client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
        assert r.status_code == 200
        assert 'name="reason"' in r.content.decode()


class TestAuditedSaves:
    def test_jurisdiction_change_is_audited(self, admin_client: Client, city: Any) -> None:
        j = city["T-D1-S1"]
        r = admin_client.post(
            reverse("admin:geo_jurisdiction_change", args=[j.pk]),
            {
                "code": j.code,
                "level": j.level_id,
                "parent": j.parent_id,
                "name_en": "Elm Eleven Street",
                "name_zh": j.name_zh,
                "aliases": '["Elm 11"]',
                "boundary": '{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,2],[0,2],[0,0]]]}',
                "reason": "official renaming",
            },
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        j.refresh_from_db()
        assert j.name_en == "Elm Eleven Street" and j.aliases == ["Elm 11"]
        entry = last_audit()
        assert (entry.action, entry.object_id, entry.reason) == (
            "jurisdiction.update",
            j.code,
            "official renaming",
        )
        assert entry.actor.endswith(":root")

    def test_invalid_boundary_is_refused_on_the_form(self, admin_client: Client, city: Any) -> None:
        j = city["T-D1-S1"]
        before = AuditEntry.objects.count()
        r = admin_client.post(
            reverse("admin:geo_jurisdiction_change", args=[j.pk]),
            {
                "code": j.code,
                "level": j.level_id,
                "parent": j.parent_id,
                "name_en": j.name_en,
                "name_zh": j.name_zh,
                "aliases": "[]",
                "boundary": '{"type": "Point", "coordinates": [0, 0]}',
            },
        )
        assert r.status_code == 200
        assert "boundary must be a GeoJSON Polygon or MultiPolygon" in r.content.decode()
        assert AuditEntry.objects.count() == before

    def test_unit_create_is_audited(self, admin_client: Client, city: Any) -> None:
        r = admin_client.post(
            reverse("admin:org_unit_add"),
            {
                "code": "T-D1-WATER",
                "kind": "department",
                "department_type": "water",
                "name_en": "District 1 Water Bureau",
                "name_zh": "1区水务局",
                "aliases": "[]",
                "jurisdiction": city["T-D1"].pk,
                "active": "on",
                "reason": "new bureau",
            },
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        unit = Unit.objects.get(code="T-D1-WATER")
        assert unit.city == "T"
        assert (last_audit().action, last_audit().reason) == ("unit.create", "new bureau")

    def test_matter_change_is_audited(self, admin_client: Client, city: Any) -> None:
        m = city["leaf"]
        r = admin_client.post(
            reverse("admin:matters_matter_change", args=[m.pk]),
            {
                "catalogue": "T",
                "parent": m.parent_id,
                "name_en": m.name_en,
                "name_zh": m.name_zh,
                "keywords": '["lift", "电梯", "elevator"]',
                "urgency_default": "urgent",
                "deadlines": '{"urgent": {"respond": "1h", "resolve": "12h"}}',
                "responsible": '{"district": "housing"}',
                "active": "on",
                "reason": "lifts are urgent",
            },
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        m.refresh_from_db()
        assert m.urgency_default == "urgent" and "elevator" in m.keywords
        assert last_audit().action == "matter.update"

    def test_bad_deadlines_are_refused_on_the_form(self, admin_client: Client, city: Any) -> None:
        m = city["leaf"]
        r = admin_client.post(
            reverse("admin:matters_matter_change", args=[m.pk]),
            {
                "catalogue": "T",
                "parent": m.parent_id,
                "name_en": m.name_en,
                "name_zh": m.name_zh,
                "keywords": "[]",
                "urgency_default": "normal",
                "deadlines": '{"someday": {"respond": "1h"}}',
                "responsible": "{}",
                "active": "on",
            },
        )
        assert r.status_code == 200
        assert "unknown urgency" in r.content.decode()

    def test_deletes_are_not_offered(self, admin_client: Client, city: Any) -> None:
        url = reverse("admin:org_unit_delete", args=[city["T-D1-housing"].pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
        assert Unit.objects.filter(code="T-D1-HOUSING").exists()


class TestResponsibilityAdmin:
    def _data(self, city: Any, **overrides: Any) -> dict[str, Any]:
        data = {
            "city": "T",
            "matter": city["leaf"].pk,
            "level": Level.objects.get(code="district").pk,
            "unit_type": "housing",
            "note": "",
            "active": "on",
            "reason": "from the 2024 list",
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        }
        data.update(overrides)
        return data

    def test_reason_is_required(self, admin_client: Client, city: Any) -> None:
        r = admin_client.post(
            reverse("admin:org_responsibilityrule_add"), self._data(city, reason="")
        )
        assert r.status_code == 200
        assert "This field is required" in r.content.decode()
        assert not ResponsibilityRule.objects.exists()

    def test_add_and_change_keep_revisions_and_audit(self, admin_client: Client, city: Any) -> None:
        r = admin_client.post(reverse("admin:org_responsibilityrule_add"), self._data(city))
        assert r.status_code == 302, r.content.decode()[:3000]
        rule = ResponsibilityRule.objects.get()
        assert last_audit().action == "responsibility.create"
        url = reverse("admin:org_responsibilityrule_change", args=[rule.pk])
        r = admin_client.post(
            url,
            self._data(
                city,
                note="checked",
                reason="add a note",
                **{"revisions-TOTAL_FORMS": "1", "revisions-INITIAL_FORMS": "1"},
            ),
        )
        assert r.status_code == 302, r.content.decode()[:3000]
        rule.refresh_from_db()
        assert rule.version == 2
        reasons = list(
            ResponsibilityRevision.objects.filter(rule=rule).values_list("reason", flat=True)
        )
        assert reasons == ["from the 2024 list", "add a note"]
        assert (last_audit().action, last_audit().reason) == ("responsibility.update", "add a note")
        page = admin_client.get(url).content.decode()
        assert "from the 2024 list" in page  # revisions shown inline
        assert 'name="revisions-0-reason"' not in page  # ... read-only

    def test_service_refusal_is_shown(self, admin_client: Client, city: Any) -> None:
        r = admin_client.post(
            reverse("admin:org_responsibilityrule_add"), self._data(city, unit_type="")
        )
        assert r.status_code == 200
        assert "name a responsible department type or a unit" in r.content.decode()
        assert not ResponsibilityRule.objects.exists()


class TestPeopleAdmin:
    def test_user_page_has_profile_fields_and_memberships(
        self, admin_client: Client, city: Any
    ) -> None:
        user = factories.member("clerk", Role.UNIT_HANDLER, city["T-D1-housing"])
        html = admin_client.get(reverse("admin:org_user_change", args=[user.pk])).content.decode()
        assert 'name="display_name"' in html and 'name="phone"' in html
        assert "memberships-0-role" in html

    def test_membership_added_in_admin_is_audited(self, admin_client: Client, city: Any) -> None:
        user = factories.UserFactory(username="newbie")
        r = admin_client.post(
            reverse("admin:org_membership_add"),
            {"user": user.pk, "unit": city["T-D1-centre"].pk, "role": "dispatcher", "active": "on"},
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        assert Membership.objects.filter(user=user, role="dispatcher").exists()
        assert last_audit().action == "membership.grant"


class TestReadOnlyThings:
    def test_audit_entries_cannot_be_added_changed_or_deleted(self, admin_client: Client) -> None:
        entry = AuditEntry.objects.order_by("seq").first()
        assert entry is not None
        assert admin_client.get(reverse("admin:kit_auditentry_add")).status_code == 403
        change = reverse("admin:kit_auditentry_change", args=[entry.pk])
        page = admin_client.get(change)
        assert page.status_code == 200 and 'name="actor"' not in page.content.decode()
        admin_client.post(change, {"actor": "mallory", "reason": "x"})
        entry.refresh_from_db()
        assert entry.actor != "mallory"
        delete = reverse("admin:kit_auditentry_delete", args=[entry.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403

    def test_api_key_revoke_action(self, admin_client: Client, city: Any) -> None:
        with transaction.atomic():
            key, _clear = org_services.create_api_key(
                actor="test", name="hotline", scopes=["units:read"], unit=city["centre"]
            )
        page = admin_client.get(reverse("admin:org_apikey_change", args=[key.pk])).content.decode()
        assert key.key_hash in page and 'name="key_hash"' not in page
        assert admin_client.get(reverse("admin:org_apikey_add")).status_code == 403
        r = admin_client.post(
            reverse("admin:org_apikey_changelist"),
            {"action": "revoke", "_selected_action": [key.pk]},
        )
        assert r.status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert last_audit().action == "apikey.revoke"
        assert ApiKey.objects.count() == 1

    def test_non_staff_cannot_open_the_admin(self, city: Any) -> None:
        c = Client()
        c.force_login(User.objects.create_user("plain", password="x" * 12))
        r = c.get(reverse("admin:index"))
        assert r.status_code == 302 and "/admin/login/" in r["Location"]
