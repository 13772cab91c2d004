"""Schemathesis against the JSON API (/api/openapi.json), in process through the WSGI app.

Every operation is called with generated requests (valid and malformed) by a client holding an
API key with every scope for the city's centre. Each answer must: not be a server error, match
the documented status codes, content types and response schemas, and carry no stack trace.

The default run is small (CIVITAS_FUZZ_EXAMPLES, 10 examples per operation) so it fits CI;
a deeper run: ``CIVITAS_FUZZ_EXAMPLES=200 pytest tests/security/test_api_fuzz.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis import checks

from civitas.org import services as org_services
from civitas.org.access import API_KEY_SCOPES
from civitas.wsgi import application

EXAMPLES = int(os.environ.get("CIVITAS_FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
if os.environ.get("CIVITAS_FUZZ_PATHS"):
    # A deeper run can be split: CIVITAS_FUZZ_PATHS="^/api/(mediation|participation)".
    schema = schema.include(path_regex=os.environ["CIVITAS_FUZZ_PATHS"])

# Text that only a crash shows: Python tracebacks, Django's debug page, SQL errors.
TRACE = re.compile(
    r"Traceback \(most recent call last\)|File \"/|django\.db\.utils|"
    r"IntegrityError|OperationalError|ProgrammingError|Exception Value:|Request Method:",
)


@pytest.fixture
def _keep_connection() -> Iterator[None]:
    """The WSGI app is called directly (not through Django's test client), so Django would
    close the database connection at the end of each request, and with it the test's
    transaction on PostgreSQL; the test client disconnects the same handler."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(city: dict[str, Any], settings: Any, _keep_connection: None) -> str:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with transaction.atomic():
        _, clear = org_services.create_api_key(
            actor="test", name="fuzz", scopes=sorted(API_KEY_SCOPES), unit=city["centre"]
        )
    return clear


@schemathesis.check
def no_stack_trace(ctx: Any, response: Any, case: Any) -> bool | None:
    text = response.text or ""
    match = TRACE.search(text)
    if match:
        raise AssertionError(f"the answer shows internals: {match.group(0)!r}")
    return None


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("CIVITAS_FUZZ_RANDOM", "") == "",
)
def test_api(case: Any, api_key: str) -> None:
    case.call_and_validate(
        headers={"X-Api-Key": api_key},
        additional_checks=[no_stack_trace],
        excluded_checks=[
            # Random but schema-valid values (a city code "0Ā", a date range ending before it
            # starts) are refused by the services' own rules with a 4xx: that is right.
            checks.positive_data_acceptance,
            # pydantic reads a number as a Unix time for date-time parameters (lax mode); the
            # value is still validated and bounded, so accepting it is harmless.
            checks.negative_data_rejection,
        ],
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/people?offset=19775062500246286336",  # overflowed the database's integer: 500
        "/api/appeals?offset=9223372036854775808&limit=1",
        "/api/participation/figures?start=1151-11-13",  # offset +08:05:43, not RFC 3339
        "/api/participation/figures?end=9999-12-31",  # no next day
    ],
)
def test_what_the_fuzzer_found_is_refused(url: str, api_key: str) -> None:
    from django.test import Client

    answer = Client(headers={"X-Api-Key": api_key}).get(url)
    assert answer.status_code == 422, answer.content
    assert answer.json()["error"]["code"] == "invalid_input"
