"""Safety at the edges of the contract: text that is markup, characters XML cannot carry,
GET rate limits per client address."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.appeals.models import Appeal
from tests.open311.conftest import Open311, create, request_form

pytestmark = pytest.mark.django_db

MARKUP = "Tom & Jerry <b>broke</b> it ]]> \"quoted\" 'single' </description><x>"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_markup_in_text_is_escaped_and_round_trips(
    o311: dict[str, Any], api: Open311, api_key: str, settings: Any, fmt: str
) -> None:
    settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
    ticket = create(api, api_key, description=MARKUP)
    record = api.get(f"requests/{ticket}", fmt, kind="record").one()
    assert record["description"] == MARKUP


def test_characters_xml_cannot_carry_never_break_the_xml(
    o311: dict[str, Any], api: Open311, api_key: str, settings: Any
) -> None:
    """A control character is refused at the door or left out of the XML answer; either way
    every XML answer stays well-formed and valid (conftest.inspect parses and validates)."""
    settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
    answer = api.post(
        "requests", "json", **request_form(api_key, description="stuck\x0b lift\x01 again")
    )
    if answer.status == 400:
        assert "description" in answer.error_text()
        return
    assert answer.status == 201
    ticket = answer.one()["service_request_id"]
    record = api.get(f"requests/{ticket}", "xml", kind="record").one()
    assert "stuck" in record["description"] and "again" in record["description"]
    api.get("requests", "xml", kind="record")
    api.get("servicerequestupdates", "xml", kind="update")


@pytest.mark.parametrize(
    "field", ["description", "address_string", "first_name", "email", "device_id", "media_url"]
)
def test_a_nul_byte_in_a_post_is_refused_or_dropped(
    o311: dict[str, Any], api: Open311, api_key: str, field: str
) -> None:
    """PostgreSQL cannot store NUL in text: it must be refused (400) or dropped, never a 500
    (conftest.inspect fails on any 500)."""
    value = {"email": "a\x00@example.org", "media_url": "https://p.example.org/\x00.jpg"}.get(
        field, "lift\x00stuck"
    )
    answer = api.post("requests", "xml", **request_form(api_key, **{field: value}))
    assert answer.status in (201, 400), answer.status
    if answer.status == 201:
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert "\x00" not in appeal.text + appeal.address


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("requests", {"service_request_id": "T-\x00"}),
        ("requests", {"service_code": "T-M1-1-1,\x00"}),
        ("requests", {"jurisdiction_id": "T\x00"}),
        ("requests", {"status": "open\x00"}),
        ("services", {"jurisdiction_id": "\x00"}),
        ("servicerequestupdates", {"start_date": "2026-01-01T00:00:00Z\x00"}),
        ("services/T-M1-1-1%00", {}),
        ("requests/T-%00", {}),
        ("tokens/%00", {}),
    ],
)
def test_a_nul_byte_in_a_get_is_an_error_document(
    o311: dict[str, Any], api: Open311, path: str, params: dict[str, str]
) -> None:
    answer = api.get(path, "json", **params)
    assert answer.status in (200, 400, 404), answer.status


def test_gets_over_the_rate_of_an_address_are_429(
    o311: dict[str, Any], api: Open311, settings: Any
) -> None:
    settings.CIVITAS_OPEN311_GET_RATE = "3/m"
    for _ in range(3):
        assert api.get("services", "json").status == 200
    limited = api.get("services", "xml")
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert [int(e["code"]) for e in limited.errors()] == [429]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_input_echoed_in_an_error_is_escaped(
    o311: dict[str, Any], api: Open311, api_key: str, fmt: str
) -> None:
    """conftest.inspect parses every XML answer: markup echoed raw would break it."""
    answer = api.post("requests", fmt, **request_form(api_key, service_code='<x a="1">&amp;'))
    assert answer.status in (400, 404)
    assert api.get("services/%3Cx%3E&amp;", fmt).status == 404
    answer = api.get("requests", fmt, start_date="<not-a-date/>&")
    assert answer.status == 400
    if fmt == "xml":
        assert "<not-a-date/>" not in answer.text  # escaped, or not echoed at all


def test_an_expired_key_is_403(o311: dict[str, Any], api: Open311) -> None:
    from datetime import UTC, datetime, timedelta

    from django.db import transaction

    from civitas.org import services as org_services

    with transaction.atomic():
        _, clear = org_services.create_api_key(
            actor="test",
            name="old app",
            scopes=["appeals:submit"],
            expires_at=datetime.now(UTC) - timedelta(days=1),
        )
    answer = api.post("requests", "json", **request_form(clear))
    assert answer.status == 403 and "api_key" in answer.error_text()
    assert not Appeal.objects.exists()
