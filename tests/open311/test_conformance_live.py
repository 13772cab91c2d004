"""The same contract over real HTTP (pytest-django's live server on the loopback): what a
third-party client sees on the wire, headers included."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from civitas.appeals.models import Appeal
from tests.open311.conftest import BASE, LIFT, Open311, request_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wire(live_server: Any) -> Open311:
    return Open311(live=live_server.url)


def test_discovery_and_services_in_both_formats(o311: dict[str, Any], wire: Open311) -> None:
    for fmt in ("xml", "json"):
        assert wire.get("discovery", fmt).status == 200
        services = wire.get("services", fmt)
        assert LIFT in {str(s["service_code"]) for s in services.data}
        definition = wire.get(f"services/{LIFT}", fmt)
        assert definition.data["service_code"] == LIFT


def test_post_then_follow_the_request(o311: dict[str, Any], wire: Open311, api_key: str) -> None:
    for fmt in ("xml", "json"):
        created = wire.post("requests", fmt, kind="created", **request_form(api_key))
        assert created.status == 201, created.body
        ticket = str(created.one()["service_request_id"])
        assert Appeal.objects.filter(ticket=ticket).exists()
        record = wire.get(f"requests/{ticket}", fmt, kind="record").one()
        assert record["status"] == "open" and record["service_code"] == LIFT
        assert wire.get("servicerequestupdates", fmt, kind="update").status == 200


def test_token_flow(o311: dict[str, Any], wire: Open311, api_key: str, settings: Any) -> None:
    from civitas.open311 import server

    settings.CIVITAS_OPEN311_DEFER = True
    token = wire.post("requests", "xml", kind="deferred", **request_form(api_key)).one()["token"]
    assert wire.get(f"tokens/{token}", "xml", kind="token").one()["service_request_id"] == ""
    server.process_pending()
    ticket = wire.get(f"tokens/{token}", "json", kind="token").one()["service_request_id"]
    assert Appeal.objects.filter(ticket=ticket).exists()


def test_errors_on_the_wire_are_documents(o311: dict[str, Any], wire: Open311) -> None:
    assert wire.get("nothing", "xml").status == 404
    assert wire.get("services/NOPE", "json").status == 404
    assert wire.post("requests", "json", service_code=LIFT, lat="0.5", long="0.5").status == 403
    assert wire.call("DELETE", "requests", "xml", None, {}).status == 405


def test_a_malformed_body_is_a_400_document(
    o311: dict[str, Any], live_server: Any, api_key: str
) -> None:
    """A client that sends JSON or garbage instead of a form gets an Open311 error."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        live_server.url + BASE + "requests.json",
        data=b"\xff\xfe{not a form",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert status in (400, 403), status
    errors = json.loads(body.decode("utf-8"))
    assert isinstance(errors, list) and errors[0]["code"] == status


def test_rate_limit_on_the_wire(
    o311: dict[str, Any], wire: Open311, api_key: str, settings: Any
) -> None:
    settings.CIVITAS_OPEN311_POST_RATE = "1/m"
    assert wire.post("requests", "json", kind="created", **request_form(api_key)).status == 201
    limited = wire.post("requests", "xml", **request_form(api_key))
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) > 0
