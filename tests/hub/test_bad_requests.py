"""Malformed input to the hub's API and pages answers 4xx naming the parameter,
never a server error."""

from __future__ import annotations

from typing import Any

import pytest
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.test import Client

from tests.hub.test_grants_support import granted, key_client, loaded, person_client

pytestmark = pytest.mark.django_db

URL = "/api/hub/datasets/t-inspections/records"
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("param", ["after", "grant"])
def test_a_huge_number_in_a_records_parameter_is_refused_not_a_500(
    hub: dict[str, Any], param: str
) -> None:
    loaded(hub, 3)
    granted(hub, fields=["enterprise"])
    api = key_client(hub["street"], ["hub:read"])
    api.raise_request_exception = False
    r = api.get(URL, {param: HUGE})
    assert 400 <= r.status_code < 500, (r.status_code, r.content[:300])


def test_a_huge_cursor_on_the_data_page_is_not_a_500(hub: dict[str, Any]) -> None:
    loaded(hub, 3)
    granted(hub, fields=["enterprise"])
    c = Client(raise_request_exception=False)
    c.force_login(hub["consumer"])
    r = c.get("/hub/datasets/t-inspections/data/", {"after": HUGE})
    assert r.status_code != 500, r.content[:300]


def test_a_grant_request_with_an_expiry_without_time_zone_is_not_a_500(
    hub: dict[str, Any],
) -> None:
    c = person_client(hub["consumer"])
    c.raise_request_exception = False
    secret = _get_new_csrf_string()
    c.cookies["csrftoken"] = secret
    r = c.post(
        "/api/hub/grants",
        data={
            "dataset": "t-inspections",
            "consumer": hub["street"].code,
            "fields": ["enterprise"],
            "purpose": "fair",
            "legal_basis": "law",
            "expires_at": "2027-01-01T00:00:00",
        },
        content_type="application/json",
        headers={"X-CSRFToken": str(_mask_cipher_secret(secret))},
    )
    assert r.status_code in (201, 422), (r.status_code, r.content[:300])


def test_a_push_within_the_record_limit_is_not_refused_for_its_size(
    hub: dict[str, Any], tmp_path: Any
) -> None:
    """CIVITAS_HUB_PUSH_MAX allows 10,000 records in one push; a push of that many ordinary
    records must be taken, or refused with a JSON error saying what the limit is."""
    from django.test import override_settings

    from tests.hub.ingest_setup import rows

    api = key_client(hub["market"], ["hub:write"])
    api.raise_request_exception = False
    records = rows(10_000)
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        r = api.post(
            "/api/hub/datasets/t-inspections/records",
            data={"mode": "append", "records": records},
            content_type="application/json",
        )
    assert r.status_code in (201, 413, 422), (r.status_code, r.content[:200])
    assert r["Content-Type"].startswith("application/json"), (r.status_code, r.content[:200])
