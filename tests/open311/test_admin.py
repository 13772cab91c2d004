"""The Open311 admin: configuration saved through open311.configure (audited), an outside
system's key never shown in clear, handoffs and Open311 rows read-only, deferred payloads
(contact details) never displayed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.kit import clock
from civitas.kit.models import AuditEntry
from civitas.open311 import configure
from civitas.open311.models import (
    ExternalSystem,
    Handoff,
    PendingRequest,
    RequestDetail,
    ServiceAttribute,
    ServiceListing,
)
from civitas.org import services as org_services
from civitas.org.models import UnitKind
from tests import factories
from tests.appeals.conftest import case_city, submit  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

SECRET = "their-secret-key-0123456789-WXYZ"


@pytest.fixture
def admin_client(city: dict[str, Any], settings: Any) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    root = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    c = Client()
    c.force_login(root)
    return c


@pytest.fixture
def utility(city: dict[str, Any]) -> Any:
    with transaction.atomic():
        return org_services.save_unit(
            actor="test",
            code="T-WATERCO",
            kind=UnitKind.ENTERPRISE,
            name_en="Testville Water Company",
            name_zh="测试市水务公司",
            jurisdiction=city["T"],
        )


@pytest.fixture
def system(utility: Any) -> ExternalSystem:
    with transaction.atomic():
        return configure.save_external_system(
            actor="test",
            unit=utility,
            name="Water company Open311",
            endpoint="http://127.0.0.1:9/open311/v2/",
            api_key=SECRET,
            default_service_code="WATER",
        )


def audits(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def url(model: str, view: str, *args: Any) -> str:
    return reverse(f"admin:open311_{model}_{view}", args=args)


MODELS = [
    "servicelisting",
    "serviceattribute",
    "externalsystem",
    "handoff",
    "requestdetail",
    "pendingrequest",
]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_renders(admin_client: Client, model: str) -> None:
    assert admin_client.get(url(model, "changelist")).status_code == 200


class TestAttributes:
    def form(self, city: dict[str, Any], **over: Any) -> dict[str, Any]:
        data = {
            "matter": city["leaf"].pk,
            "code": "TRAPPED",
            "order": "2",
            "variable": "on",
            "datatype": "singlevaluelist",
            "required": "on",
            "datatype_description": "",
            "description_en": "Is anyone inside?",
            "description_zh": "里面有人吗？",
            "values": '[{"key": "yes", "name_en": "Yes", "name_zh": "有"},'
            ' {"key": "no", "name_en": "No", "name_zh": "没有"}]',
            "reason": "asked by the housing bureau",
        }
        return data | over

    def test_add_is_saved_through_the_service_and_audited(
        self, admin_client: Client, city: dict[str, Any]
    ) -> None:
        response = admin_client.post(url("serviceattribute", "add"), self.form(city))
        assert response.status_code == 302, response.content.decode()[:2000]
        attribute = ServiceAttribute.objects.get(matter=city["leaf"], code="TRAPPED")
        assert attribute.required and attribute.datatype == "singlevaluelist"
        assert [v["key"] for v in attribute.values] == ["yes", "no"]
        [entry] = audits("open311.attribute.create")
        assert entry.actor == "user:root" or "root" in entry.actor
        assert entry.reason == "asked by the housing bureau"
        assert entry.object_id == f"{city['leaf'].code}:TRAPPED"

        changed = self.form(city, description_en="Is somebody trapped inside?", reason="clearer")
        response = admin_client.post(url("serviceattribute", "change", attribute.pk), changed)
        assert response.status_code == 302
        [update] = audits("open311.attribute.update")
        assert update.summary["before"]["description_en"] == "Is anyone inside?"
        assert update.summary["after"]["description_en"] == "Is somebody trapped inside?"

        response = admin_client.post(
            url("serviceattribute", "delete", attribute.pk), {"post": "yes"}
        )
        assert response.status_code == 302
        assert not ServiceAttribute.objects.filter(pk=attribute.pk).exists()
        assert len(audits("open311.attribute.delete")) == 1

    @pytest.mark.parametrize(
        ("over", "message"),
        [
            ({"values": "[]"}, "needs a JSON list of values"),
            ({"values": '[{"key": "a", "name_en": "A"}, {"key": "a", "name_en": "B"}]'}, "repeats"),
            ({"values": '[{"name_en": "A"}]'}, "needs a key"),
            ({"datatype": "number"}, "only list attributes"),
            ({"code": "bad code[]"}, "must be 1-60 letters"),
            ({"variable": "", "required": "on"}, "cannot be required"),
        ],
    )
    def test_refusals_appear_on_the_form_and_nothing_is_saved(
        self, admin_client: Client, city: dict[str, Any], over: dict[str, Any], message: str
    ) -> None:
        data = self.form(city, **over)
        data = {k: v for k, v in data.items() if v != ""}
        response = admin_client.post(url("serviceattribute", "add"), data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not ServiceAttribute.objects.exists()
        assert not audits("open311.attribute.create")

    def test_list_filters_by_datatype(self, admin_client: Client, city: dict[str, Any]) -> None:
        with transaction.atomic():
            configure.save_attribute(
                actor="test",
                matter=city["leaf"],
                code="FLOOR",
                datatype="number",
                description_en="Which floor?",
            )
            configure.save_attribute(
                actor="test",
                matter=city["leaf"],
                code="SINCE",
                datatype="datetime",
                description_en="Since when?",
            )
        html = admin_client.get(
            url("serviceattribute", "changelist"), {"datatype__exact": "number"}
        ).content.decode()
        assert "FLOOR" in html and "SINCE" not in html


class TestListings:
    def test_hide_a_matter_then_back_to_the_default(
        self, admin_client: Client, city: dict[str, Any]
    ) -> None:
        data = {
            "matter": city["leaf"].pk,
            "group": "Buildings",
            "type": "realtime",
            "description_en": "",
            "description_zh": "",
            "reason": "not for apps yet",
        }
        response = admin_client.post(url("servicelisting", "add"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        listing = ServiceListing.objects.get(matter=city["leaf"])
        assert listing.listed is False and listing.group == "Buildings"
        [entry] = audits("open311.listing.create")
        assert entry.reason == "not for apps yet"
        response = admin_client.post(url("servicelisting", "delete", listing.pk), {"post": "yes"})
        assert response.status_code == 302
        assert not ServiceListing.objects.exists()
        assert len(audits("open311.listing.delete")) == 1

    def test_unknown_type_is_refused(self, admin_client: Client, city: dict[str, Any]) -> None:
        data = {"matter": city["leaf"].pk, "listed": "on", "type": "telepathic"}
        response = admin_client.post(url("servicelisting", "add"), data)
        assert response.status_code == 200
        assert not ServiceListing.objects.exists()


class TestExternalSystems:
    def form(self, unit: Any, **over: Any) -> dict[str, Any]:
        data = {
            "unit": unit.pk,
            "name": "Water company Open311",
            "endpoint": "https://water.example/open311/v2",
            "new_api_key": SECRET,
            "jurisdiction_id": "waterco",
            "format": "xml",
            "service_codes": "{}",
            "default_service_code": "WATER",
            "poll_seconds": "300",
            "timeout_seconds": "10",
            "active": "on",
            "reason": "contract 2026-14",
        }
        return data | over

    def test_the_key_is_never_shown_in_clear(
        self, admin_client: Client, utility: Any, city: dict[str, Any]
    ) -> None:
        response = admin_client.post(url("externalsystem", "add"), self.form(utility))
        assert response.status_code == 302, response.content.decode()[:3000]
        system = ExternalSystem.objects.get(unit=utility)
        assert system.api_key == SECRET
        listing = admin_client.get(url("externalsystem", "changelist")).content.decode()
        assert "Water company Open311" in listing
        assert SECRET not in listing and "••••WXYZ" in listing
        page = admin_client.get(url("externalsystem", "change", system.pk)).content.decode()
        assert SECRET not in page and "••••WXYZ" in page
        assert 'type="password"' in page
        for entry in AuditEntry.objects.all():
            assert SECRET not in str(entry.summary)
        [entry] = audits("open311.system.create")
        assert entry.summary["after"]["api_key"] == "••••WXYZ"

    def test_an_empty_key_field_keeps_the_key_and_a_new_one_replaces_it(
        self, admin_client: Client, system: ExternalSystem, utility: Any
    ) -> None:
        form = self.form(utility, new_api_key="", poll_seconds="600", reason="slower")
        response = admin_client.post(url("externalsystem", "change", system.pk), form)
        assert response.status_code == 302, response.content.decode()[:3000]
        system.refresh_from_db()
        assert system.api_key == SECRET and system.poll_seconds == 600
        [update] = audits("open311.system.update")
        assert "api_key_changed" not in update.summary

        form = self.form(utility, new_api_key="a-brand-new-key-000000-ABCD")
        response = admin_client.post(url("externalsystem", "change", system.pk), form)
        assert response.status_code == 302
        system.refresh_from_db()
        assert system.api_key == "a-brand-new-key-000000-ABCD"
        last = audits("open311.system.update")[-1]
        assert last.summary["api_key_changed"] is True
        assert "a-brand-new-key" not in str(last.summary)

    @pytest.mark.parametrize(
        ("over", "message"),
        [
            ({"new_api_key": ""}, "API key is needed"),
            ({"endpoint": "ftp://water.example/open311"}, "must be an http(s) base URL"),
            ({"service_codes": '{"NO-SUCH-MATTER": "X"}'}, "unknown matter codes"),
            ({"default_service_code": ""}, "give a default service code"),
            ({"poll_seconds": "5"}, "poll every 30 to 86,400 seconds"),
        ],
    )
    def test_refusals(
        self, admin_client: Client, utility: Any, over: dict[str, Any], message: str
    ) -> None:
        response = admin_client.post(url("externalsystem", "add"), self.form(utility, **over))
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not ExternalSystem.objects.exists()


class TestReadOnly:
    @pytest.fixture
    def appeal(self, case_city: dict[str, Any]) -> Any:  # noqa: F811
        return submit(case_city).appeal

    def test_handoffs_list_filter_and_retry(
        self, admin_client: Client, system: ExternalSystem, appeal: Any
    ) -> None:
        later = clock.now() + timedelta(hours=1)
        handoff = Handoff.objects.create(
            appeal=appeal,
            system=system,
            state=Handoff.State.QUEUED,
            attempts=3,
            last_error="connection refused by 127.0.0.1:9",
            next_attempt_at=later,
            created_at=clock.now(),
        )
        html = admin_client.get(
            url("handoff", "changelist"), {"state__exact": "queued"}
        ).content.decode()
        assert appeal.ticket in html and "connection refused" in html
        html = admin_client.get(
            url("handoff", "changelist"), {"state__exact": "closed"}
        ).content.decode()
        assert appeal.ticket not in html
        page = admin_client.get(url("handoff", "change", handoff.pk))
        assert page.status_code == 200 and "connection refused" in page.content.decode()
        assert 'name="_save"' not in page.content.decode()

        response = admin_client.post(
            url("handoff", "changelist"),
            {"action": "retry_now", "_selected_action": [handoff.pk]},
        )
        assert response.status_code == 302
        handoff.refresh_from_db()
        assert handoff.next_attempt_at <= clock.now()
        assert handoff.attempts == 3
        assert len(audits("open311.handoff.retry")) == 1

    def test_request_details_cannot_be_edited(self, admin_client: Client, appeal: Any) -> None:
        detail = RequestDetail.objects.create(
            appeal=appeal, attributes={"FLOOR": "3"}, account_id="acct-9"
        )
        assert admin_client.get(url("requestdetail", "change", detail.pk)).status_code == 200
        response = admin_client.post(url("requestdetail", "change", detail.pk), {"account_id": "x"})
        assert response.status_code == 403
        detail.refresh_from_db()
        assert detail.account_id == "acct-9"
        assert admin_client.get(url("requestdetail", "add")).status_code == 403

    def test_pending_payload_is_never_displayed(self, admin_client: Client) -> None:
        pending = PendingRequest.objects.create(
            token="tok-1",
            city="T",
            payload={"email": "li.lei@example.org", "phone": "13800000000", "first_name": "Lei"},
            created_at=clock.now(),
        )
        for page in (
            admin_client.get(url("pendingrequest", "changelist")),
            admin_client.get(url("pendingrequest", "change", pending.pk)),
        ):
            assert page.status_code == 200
            html = page.content.decode()
            assert "tok-1" in html
            assert "li.lei@example.org" not in html and "13800000000" not in html
