"""The Open311 client (civitas.open311.client) over real loopback HTTP against a fake outside
endpoint: what it sends, what it understands, and how every kind of failure reads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civitas.appeals.models import Appeal, Contact
from civitas.geo.models import Jurisdiction
from civitas.matters.models import Matter
from civitas.open311 import client
from civitas.open311.client import HandoffError
from civitas.open311.models import ExternalSystem
from tests.open311.outside import (
    BILLION_LAUGHS,
    FakeOutside,
    closed_port,
    errors_doc,
    fake_outside,
    xml_list,
)


@pytest.fixture
def fake() -> Iterator[FakeOutside]:
    with fake_outside() as made:
        yield made


def system(endpoint: str = "http://127.0.0.1:9/open311/v2", **kw: Any) -> ExternalSystem:
    values: dict[str, Any] = {
        "name": "Water Co",
        "endpoint": endpoint,
        "api_key": "secret-key",
        "service_codes": {"T-M1-1-1": "LIFT-EXT"},
        "timeout_seconds": 5.0,
    }
    values.update(kw)
    return ExternalSystem(**values)


def appeal(**kw: Any) -> Appeal:
    values: dict[str, Any] = {
        "ticket": "T-2026-000001",
        "city": "T",
        "text": "The lift in building 3 is broken again",
        "lat": 0.5,
        "lon": 0.25,
        "matter": Matter(code="T-M1-1-1", catalogue="T"),
    }
    values.update(kw)
    made = Appeal(**values)
    made.contact = Contact(name="Li Lei", phone="13800000000", email="li@example.org")
    return made


def one(values: list[str]) -> str:
    assert len(values) == 1, values
    return values[0]


class TestTheForm:
    def test_the_mapped_service_code_then_the_default(self) -> None:
        assert client.request_form(system(), appeal())["service_code"] == "LIFT-EXT"
        other = appeal(matter=Matter(code="T-M9", catalogue="T"))
        assert client.request_form(system(default_service_code="ALL"), other)["service_code"] == (
            "ALL"
        )

    def test_no_service_code_is_a_permanent_error_naming_the_category(self) -> None:
        other = appeal(matter=Matter(code="T-M9", catalogue="T"))
        with pytest.raises(HandoffError) as caught:
            client.request_form(system(), other)
        assert caught.value.permanent
        assert "T-M9" in caught.value.message and "Water Co" in caught.value.message

    def test_coordinates_address_or_the_place_name(self) -> None:
        form = client.request_form(system(), appeal())
        assert (form["lat"], form["long"]) == ("0.5", "0.25") and "address_string" not in form
        form = client.request_form(system(), appeal(address="3 Elm Road"))
        assert form["address_string"] == "3 Elm Road" and form["lat"] == "0.5"
        place = Jurisdiction(code="T-D1", name_en="North 1 District", name_zh="北1区")
        form = client.request_form(system(), appeal(lat=None, lon=None, jurisdiction=place))
        assert form["address_string"] == "North 1 District" and "lat" not in form
        with pytest.raises(HandoffError) as caught:
            client.request_form(system(), appeal(lat=None, lon=None))
        assert caught.value.permanent and "T-2026-000001" in caught.value.message

    def test_contact_details_only_when_the_system_shares_them(self) -> None:
        form = client.request_form(system(), appeal())
        assert not {"first_name", "last_name", "email", "phone"} & set(form)
        form = client.request_form(system(share_contact=True), appeal())
        assert (form["first_name"], form["last_name"]) == ("Li", "Lei")
        assert (form["email"], form["phone"]) == ("li@example.org", "13800000000")

    def test_jurisdiction_key_description_and_nothing_else(self) -> None:
        form = client.request_form(system(), appeal(text="x" * 5000))
        assert "jurisdiction_id" not in form and len(form["description"]) == 4000
        form = client.request_form(system(jurisdiction_id="T"), appeal())
        assert form["jurisdiction_id"] == "T" and form["api_key"] == "secret-key"
        assert not [k for k in form if k.startswith(("attribute", "media"))]


class TestPost:
    def test_json_form_encoded_with_the_idempotency_key(self, fake: FakeOutside) -> None:
        created = client.post_request(
            system(fake.endpoint, jurisdiction_id="T"), appeal(), idempotency_key="k1"
        )
        assert created.service_request_id == "EXT-1" and created.token == ""
        (call,) = fake.calls
        assert (call.method, call.path) == ("POST", "/open311/v2/requests.json")
        assert call.headers["content-type"] == "application/x-www-form-urlencoded"
        assert call.headers["idempotency-key"] == "k1"
        assert one(call.form["service_code"]) == "LIFT-EXT"
        assert one(call.form["api_key"]) == "secret-key"
        assert one(call.form["jurisdiction_id"]) == "T"
        assert one(call.form["description"]) == "The lift in building 3 is broken again"
        assert "phone" not in call.form and "email" not in call.form

    def test_xml(self, fake: FakeOutside) -> None:
        created = client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert created.service_request_id == "EXT-1"
        assert fake.calls[0].path == "/open311/v2/requests.xml"

    def test_a_token_when_they_create_later(self) -> None:
        with fake_outside(deferred=True) as fake:
            sys = system(fake.endpoint, format="xml")
            created = client.post_request(sys, appeal())
            assert (created.service_request_id, created.token) == ("", "tok-EXT-1")
            assert client.get_token(sys, created.token) == ""
            fake.create_pending()
            assert client.get_token(sys, created.token) == "EXT-1"
            assert fake.calls[-1].path == "/open311/v2/tokens/tok-EXT-1.xml"

    def test_an_answer_without_id_or_token_is_an_error(self, fake: FakeOutside) -> None:
        fake.then(201, '[{"service_notice": "thanks"}]')
        with pytest.raises(HandoffError, match="without a service_request_id"):
            client.post_request(system(fake.endpoint), appeal())


class TestErrors:
    def test_their_error_document_in_json_is_read(self, fake: FakeOutside) -> None:
        fake.then(400, errors_doc("json", 400, "service_code LIFT-EXT is not known"))
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint), appeal())
        assert caught.value.permanent and caught.value.retry_after is None
        assert "HTTP 400" in caught.value.message
        assert "400: service_code LIFT-EXT is not known" in caught.value.message

    def test_their_error_document_in_xml_is_read(self, fake: FakeOutside) -> None:
        fake.then(403, errors_doc("xml", 403, "api_key is not valid"))
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert caught.value.permanent and "403: api_key is not valid" in caught.value.message

    def test_a_server_error_is_temporary_and_quoted_briefly(self, fake: FakeOutside) -> None:
        fake.then(502, "<html><body>" + "Bad gateway " * 100 + "</body></html>")
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint), appeal())
        assert not caught.value.permanent and "HTTP 502" in caught.value.message
        assert len(caught.value.message) < 300

    @pytest.mark.parametrize("fmt", ["json", "xml"])
    def test_429_keeps_retry_after(self, fake: FakeOutside, fmt: str) -> None:
        fake.then(429, errors_doc(fmt, 429, "slow down"), headers={"Retry-After": "120"})
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, format=fmt), appeal())
        assert not caught.value.permanent and caught.value.retry_after == 120
        assert "slow down" in caught.value.message

    def test_retry_after_as_a_date(self, fake: FakeOutside) -> None:
        from datetime import UTC, datetime

        from civitas.kit import clock

        fake.then(503, "", headers={"Retry-After": "Thu, 26 Nov 2026 10:05:00 GMT"})
        with (
            clock.frozen(datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
            pytest.raises(HandoffError) as caught,
        ):
            client.post_request(system(fake.endpoint), appeal())
        assert caught.value.retry_after == 300

    def test_a_timeout_names_the_limit(self, fake: FakeOutside) -> None:
        fake.then(201, '[{"service_request_id": "late"}]', delay=1.5)
        started = time.monotonic()
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, timeout_seconds=0.3), appeal())
        assert time.monotonic() - started < 1.4
        assert not caught.value.permanent and "within 0.3 seconds" in caught.value.message

    def test_nobody_listening(self) -> None:
        endpoint = f"http://127.0.0.1:{closed_port()}/open311/v2"
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(endpoint), appeal())
        assert not caught.value.permanent and "could not reach Water Co" in caught.value.message

    def test_unreadable_json(self, fake: FakeOutside) -> None:
        fake.then(201, "{not json")
        with pytest.raises(HandoffError, match="JSON that cannot be read"):
            client.post_request(system(fake.endpoint), appeal())

    def test_an_answer_too_large_is_cut_off(
        self, fake: FakeOutside, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(client, "MAX_ANSWER", 1024 * 1024)
        fake.then(201, "[" + " " * (2 * 1024 * 1024) + "]")
        with pytest.raises(HandoffError, match="more than 1 MB"):
            client.post_request(system(fake.endpoint), appeal())


class TestHostileXml:
    def test_billion_laughs_is_refused_without_expanding(self, fake: FakeOutside) -> None:
        fake.then(201, BILLION_LAUGHS, headers={"Content-Type": "text/xml"})
        started = time.monotonic()
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert time.monotonic() - started < 2
        assert "XML we refuse to read" in caught.value.message

    def test_an_external_entity_is_never_read(self, fake: FakeOutside, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
        xxe = (
            '<?xml version="1.0"?>'
            f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
            "<service_requests><request><service_request_id>&x;</service_request_id>"
            "</request></service_requests>"
        )
        fake.then(201, xxe)
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert "refuse" in caught.value.message
        assert "TOP-SECRET" not in caught.value.message

    def test_a_hostile_error_document_is_not_expanded_either(self, fake: FakeOutside) -> None:
        fake.then(400, BILLION_LAUGHS)
        with pytest.raises(HandoffError) as caught:
            client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert "lollol" not in caught.value.message
        assert len(caught.value.message) < 400

    def test_plain_xml_still_parses(self, fake: FakeOutside) -> None:
        body = xml_list("service_requests", "request", [{"service_request_id": "A&B<1>"}])
        fake.then(201, body)
        created = client.post_request(system(fake.endpoint, format="xml"), appeal())
        assert created.service_request_id == "A&B<1>"


class TestStatuses:
    @pytest.mark.parametrize("fmt", ["json", "xml"])
    def test_one_get_for_many_ids(self, fake: FakeOutside, fmt: str) -> None:
        sys = system(fake.endpoint, format=fmt, jurisdiction_id="T")
        for _ in range(3):
            client.post_request(sys, appeal())
        fake.set_status("EXT-2", "closed", "Pipe replaced")
        fake.set_status("EXT-3", "Open", "Crew on its way")
        before = len(fake.calls)
        found = client.get_requests(sys, ["EXT-1", "EXT-2", "EXT-3", "EXT-404"])
        (call,) = fake.calls[before:]
        assert call.path == f"/open311/v2/requests.{fmt}"
        assert one(call.query["service_request_id"]) == "EXT-1,EXT-2,EXT-3,EXT-404"
        assert one(call.query["jurisdiction_id"]) == "T"
        assert "api_key" not in call.query
        assert set(found) == {"EXT-1", "EXT-2", "EXT-3"}
        assert found["EXT-2"].closed and found["EXT-2"].status_notes == "Pipe replaced"
        assert not found["EXT-3"].closed and found["EXT-3"].status == "open"
        assert found["EXT-1"].updated_datetime == "2026-11-26T10:00:00+00:00"

    def test_no_ids_no_request(self, fake: FakeOutside) -> None:
        assert client.get_requests(system(fake.endpoint), []) == {}
        assert fake.calls == []
