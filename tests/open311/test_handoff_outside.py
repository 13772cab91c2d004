"""The client side against a second Civitas server acting as the outside system.

A real ``civitas serve`` process with its own database and CIVITAS_VAR (tests.open311.seed_server)
plays the utility: our case is dispatched to the unit configured as that outside system,
``run_handoffs`` posts it there over HTTP, the other server's staff handle it, and our case
follows their status through its Open311 GET."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import transaction

from civitas.appeals.models import Appeal, Status
from civitas.open311 import tasks
from civitas.open311.models import ExternalSystem, Handoff
from civitas.org.models import Role
from tests.factories import member
from tests.open311.conftest import LIFT
from tests.open311.outside import (
    Relay,
    Time,
    outside_civitas,
    progress_there,
    resolve_there,
    submit,
)
from tests.open311.seed_server import Server, running_server

pytestmark = pytest.mark.django_db(transaction=True)

H = Handoff.State
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
POLL = 300


@pytest.fixture(scope="module")
def there(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with outside_civitas(tmp_path_factory.mktemp("outside-civitas")) as server:
        yield server


@pytest.fixture
def now() -> Iterator[Time]:
    t = Time(T0)
    yield t
    t.stack.close()


def configure(
    city: dict[str, Any], server: Server, *, endpoint: str = "", fmt: str = "json"
) -> Any:
    """District 1's housing bureau (ours) is the outside server's city."""
    with transaction.atomic():
        city["system"] = ExternalSystem.objects.create(
            unit=city["T-D1-housing"],
            name="Outside Civitas",
            endpoint=endpoint or server.base,
            api_key=server.api_key,
            jurisdiction_id=server.jurisdiction_id,
            format=fmt,
            service_codes={LIFT: server.water},  # their lift service asks questions
            poll_seconds=POLL,
            timeout_seconds=10,
        )
    city["resident"] = member("resident", Role.RESIDENT)
    return city["system"]


def their_record(server: Server, ticket: str, fmt: str = "json") -> dict[str, Any]:
    answer = httpx.get(f"{server.base}/requests/{ticket}.{fmt}", timeout=30)
    assert answer.status_code == 200, answer.text
    if fmt == "json":
        (record,) = answer.json()
        return dict(record)
    from defusedxml import ElementTree

    (request,) = list(ElementTree.fromstring(answer.content))
    return {child.tag: (child.text or "") for child in request}


def handoff_of(appeal: Appeal) -> Handoff:
    return Handoff.objects.get(appeal=appeal)


def fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)


def test_sent_there_handled_there_resolved_here(
    o311: dict[str, Any], there: Server, now: Time
) -> None:
    configure(o311, there)
    appeal = submit(o311, "The lift in building 7 is stuck between floors")
    assert tasks.run_handoffs().sent == 1
    h = handoff_of(appeal)
    assert h.state == H.SENT and h.external_id and h.last_error == ""
    # The second server holds the request, in the same intake as any other channel.
    record = their_record(there, h.external_id)
    assert record["status"] == "open" and record["service_code"] == there.water
    assert record["description"] == "The lift in building 7 is stuck between floors"
    assert record["agency_responsible"]  # dispatched to their own unit
    # Our resident's contact details stayed here (share_contact is off).
    assert there.django(
        "from civitas.appeals.models import Contact\n"
        f"c = Contact.objects.filter(appeal__ticket={h.external_id!r}).first()\n"
        "result = [c.name, c.phone] if c else ['', '']\n"
    ) == ["", ""]
    assert fresh(appeal).status == Status.ACCEPTED

    assert resolve_there(there, h.external_id, "Pipe replaced and lift restarted") == "resolved"
    assert their_record(there, h.external_id)["status"] == "closed"
    assert tasks.run_handoffs().polled == 0  # not due before the poll period
    now.advance(seconds=POLL)
    assert tasks.run_handoffs().closed == 1
    case = fresh(appeal)
    assert case.status == Status.RESOLVED
    resolve = case.events.get(action="resolve")
    assert resolve.note == "Closed by Outside Civitas: Pipe replaced and lift restarted"
    assert resolve.unit == o311["T-D1-housing"]
    h = handoff_of(appeal)
    assert (h.state, h.external_status) == (H.CLOSED, "closed")
    # Running again changes nothing.
    now.advance(seconds=POLL * 3)
    outcome = tasks.run_handoffs()
    assert (outcome.sent, outcome.polled, outcome.closed) == (0, 0, 0)
    assert fresh(appeal).events.filter(action="resolve").count() == 1


def test_xml_with_progress_then_closing(o311: dict[str, Any], there: Server, now: Time) -> None:
    configure(o311, there, fmt="xml")
    appeal = submit(o311, "The lift in building 9 makes a grinding noise")
    tasks.run_handoffs()
    h = handoff_of(appeal)
    assert h.state == H.SENT, h.last_error
    assert their_record(there, h.external_id, "xml")["status"] == "open"
    progress_there(there, h.external_id, "Technician booked for Friday")
    now.advance(seconds=POLL)
    tasks.run_handoffs()
    progress = fresh(appeal).events.get(action="progress")
    assert progress.note == "Technician booked for Friday" and progress.public
    resolve_there(there, h.external_id, "Bearing replaced")
    now.advance(seconds=POLL)
    tasks.run_handoffs()
    case = fresh(appeal)
    assert case.status == Status.RESOLVED
    assert case.events.get(action="resolve").note == "Closed by Outside Civitas: Bearing replaced"


def test_down_then_back_at_the_same_address(o311: dict[str, Any], there: Server, now: Time) -> None:
    relay = Relay(there.base.split("/open311/")[0])
    configure(o311, there, endpoint=f"{relay.base}/open311/v2")
    appeal = submit(o311, "The lift in building 11 does not move")
    assert relay.refuses()
    waits = []
    for attempt in (1, 2, 3):
        assert tasks.run_handoffs().failed == 1
        h = handoff_of(appeal)
        assert (h.state, h.attempts) == (H.QUEUED, attempt)
        assert "could not reach Outside Civitas" in h.last_error
        waits.append(h.next_attempt_at - now.at)
        now.at = h.next_attempt_at
        now.advance(seconds=0)
    assert waits[0] < waits[1] < waits[2]
    relay.on()
    try:
        assert tasks.run_handoffs().sent == 1
    finally:
        relay.off()
    h = handoff_of(appeal)
    assert (h.state, h.attempts, h.last_error) == (H.SENT, 0, "")
    assert their_record(there, h.external_id)["status"] == "open"


def test_their_429_retry_after_is_honoured(o311: dict[str, Any], tmp_path: Path, now: Time) -> None:
    """A server that allows one POST a day per key: the second case waits as it is told."""
    with running_server(tmp_path / "strict", CIVITAS_OPEN311_POST_RATE="1/d") as strict:
        configure(o311, strict)
        first = submit(o311, "The lift in building 12 is broken")
        second = submit(o311, "The lift in building 14 is broken")
        outcome = tasks.run_handoffs()
        assert (outcome.sent, outcome.failed) == (1, 1)
        (waiting,) = Handoff.objects.filter(appeal__in=[first, second], state=H.QUEUED)
        assert "HTTP 429" in waiting.last_error
        told = re.search(r"try again in (\d+) seconds", waiting.last_error)
        assert told is not None, waiting.last_error
        retry_after = timedelta(seconds=int(told.group(1)))  # their Retry-After says the same
        assert waiting.next_attempt_at - now.at >= retry_after
        now.at = waiting.next_attempt_at - timedelta(seconds=1)
        now.advance(seconds=0)
        assert tasks.run_handoffs().failed == 0  # not asked again before that


def test_their_refusal_is_readable_and_a_fixed_configuration_goes_through(
    o311: dict[str, Any], there: Server, now: Time
) -> None:
    system = configure(o311, there)
    ExternalSystem.objects.filter(pk=system.pk).update(service_codes={LIFT: there.lift})
    appeal = submit(o311, "The lift in building 15 is broken")
    assert tasks.run_handoffs().failed == 1
    h = handoff_of(appeal)
    assert h.state == H.QUEUED and h.attempts == 1
    assert "refused the request (HTTP 400)" in h.last_error
    assert "attribute[FLOOR] is required" in h.last_error
    # The administrator maps our category to their service without questions.
    ExternalSystem.objects.filter(pk=system.pk).update(service_codes={LIFT: there.water})
    now.at = h.next_attempt_at
    now.advance(seconds=0)
    assert tasks.run_handoffs().sent == 1
    assert their_record(there, handoff_of(appeal).external_id)["service_code"] == there.water
