"""Handing cases to an outside Open311 system (civitas.open311.handoff and tasks.run_handoffs)
against a fake endpoint on loopback HTTP: queueing in the move's transaction, sending with
retries and backoff, polling, and the case following their status."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services as appeal_services
from civitas.appeals.models import Appeal, Event, Status
from civitas.open311 import handoff, tasks
from civitas.open311.models import ExternalSystem, Handoff
from civitas.org.models import Role
from tests.factories import member
from tests.open311.conftest import LIFT
from tests.open311.outside import (
    BILLION_LAUGHS,
    FakeOutside,
    Time,
    errors_doc,
    fake_outside,
    submit,
)

H = Handoff.State
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def now() -> Iterator[Time]:
    t = Time(T0)
    yield t
    t.stack.close()


@pytest.fixture
def fake() -> Iterator[FakeOutside]:
    with fake_outside() as made:
        yield made


@pytest.fixture
def outside(o311: dict[str, Any], fake: FakeOutside, now: Time) -> dict[str, Any]:
    """District 1's housing bureau is an outside organisation reached through ``fake``."""
    with transaction.atomic():
        o311["system"] = ExternalSystem.objects.create(
            unit=o311["T-D1-housing"],
            name="Water Co",
            endpoint=fake.endpoint,
            api_key="their-key",
            service_codes={LIFT: "LIFT-EXT"},
            poll_seconds=300,
            timeout_seconds=5,
        )
    o311["resident"] = member("resident", Role.RESIDENT)
    return o311


def the_handoff(appeal: Appeal) -> Handoff:
    return Handoff.objects.get(appeal=appeal)


def fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)


def actions(appeal: Appeal) -> list[str]:
    return list(appeal.events.order_by("at", "id").values_list("action", flat=True))


def redispatch(city: dict[str, Any], appeal: Appeal, unit: str) -> None:
    with transaction.atomic():
        appeal_services.dispatch(
            actor=city["dispatcher"], appeal=fresh(appeal), unit=city[unit], reason="wrong unit"
        )


class TestQueue:
    def test_a_case_dispatched_to_the_outside_unit_is_queued_without_any_http(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        assert fresh(appeal).status == Status.DISPATCHED
        h = the_handoff(appeal)
        assert (h.state, h.attempts, h.next_attempt_at, h.system) == (
            H.QUEUED,
            0,
            now.at,
            outside["system"],
        )
        assert fake.calls == []
        queued = appeal.events.get(action="handoff_queued")
        assert not queued.public and "Water Co" in queued.note
        assert not appeal.events.filter(public=True, action__startswith="handoff").exists()

    def test_no_handoff_for_other_units_or_an_inactive_system(
        self, outside: dict[str, Any], now: Time
    ) -> None:
        ExternalSystem.objects.filter(pk=outside["system"].pk).update(active=False)
        assert not Handoff.objects.filter(appeal=submit(outside)).exists()

    def test_redispatched_away_is_cancelled_and_back_is_queued_again(
        self, outside: dict[str, Any], now: Time
    ) -> None:
        appeal = submit(outside)
        redispatch(outside, appeal, "T-D2-housing")
        h = the_handoff(appeal)
        assert h.state == H.CANCELLED and h.closed_at == now.at
        assert "handoff_cancelled" in actions(appeal)
        now.advance(minutes=5)
        redispatch(outside, appeal, "T-D1-housing")
        h = the_handoff(appeal)
        assert (h.state, h.next_attempt_at, h.closed_at) == (H.QUEUED, now.at, None)
        assert actions(appeal).count("handoff_queued") == 2

    def test_a_move_rolled_back_leaves_no_handoff(self, outside: dict[str, Any], now: Time) -> None:
        appeal = submit(outside)
        redispatch(outside, appeal, "T-D2-housing")
        with pytest.raises(RuntimeError), transaction.atomic():
            appeal_services.dispatch(
                actor=outside["dispatcher"],
                appeal=fresh(appeal),
                unit=outside["T-D1-housing"],
                reason="back",
            )
            raise RuntimeError("the move fails after the signal")
        assert the_handoff(appeal).state == H.CANCELLED
        assert actions(appeal).count("handoff_queued") == 1


class TestSend:
    def test_sent_then_accepted_for_the_unit_and_nothing_twice(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        outcome = tasks.run_handoffs()
        assert outcome.sent == 1 and outcome.failed == 0
        (post,) = fake.posts()
        assert post.form["service_code"] == ["LIFT-EXT"] and "phone" not in post.form
        assert post.headers["idempotency-key"] == handoff.idempotency_key(the_handoff(appeal))
        h = the_handoff(appeal)
        assert (h.state, h.external_id, h.sent_at, h.last_error) == (H.SENT, "EXT-1", now.at, "")
        assert h.next_attempt_at == now.at + timedelta(seconds=300)
        case = fresh(appeal)
        assert case.status == Status.ACCEPTED and case.accepted_at == now.at
        accept = case.events.get(action="accept")
        assert accept.actor == "open311:Water Co" and accept.unit == outside["T-D1-housing"]
        assert tasks.run_handoffs().sent == 0
        assert len(fake.calls) == 1 and actions(appeal).count("accept") == 1

    def test_down_retried_with_growing_waits_and_the_error_kept(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        waits = []
        for attempt in range(1, 6):
            fake.then(503, errors_doc("json", 503, "maintenance"))
            assert tasks.run_handoffs().failed == 1
            h = the_handoff(appeal)
            assert (h.state, h.attempts) == (H.QUEUED, attempt)
            assert "HTTP 503" in h.last_error and "maintenance" in h.last_error
            waits.append((h.next_attempt_at - now.at).total_seconds())
            assert tasks.run_handoffs().failed == 0  # not due yet: no call
            now.at = h.next_attempt_at
            now.advance(seconds=0)
        assert waits == sorted(waits) and 50 <= waits[0] <= 70 and 810 <= waits[4] <= 1110
        assert len(fake.calls) == 5
        assert tasks.run_handoffs().sent == 1
        h = the_handoff(appeal)
        assert (h.state, h.attempts, h.last_error) == (H.SENT, 0, "")

    def test_never_given_up_and_never_longer_than_an_hour(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        Handoff.objects.filter(appeal=appeal).update(attempts=40)
        fake.then(500, "boom")
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert h.state == H.QUEUED and h.attempts == 41
        assert 3000 <= (h.next_attempt_at - now.at).total_seconds() <= 4200

    def test_429_retry_after_is_honoured(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        fake.then(429, errors_doc("json", 429, "too many"), headers={"Retry-After": "900"})
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert h.next_attempt_at >= now.at + timedelta(seconds=900)
        now.advance(seconds=899)
        assert tasks.run_handoffs().sent == 0 and len(fake.calls) == 1
        now.at = h.next_attempt_at
        now.advance(seconds=0)
        assert tasks.run_handoffs().sent == 1

    def test_refused_until_the_administrator_fixes_it(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        fake.then(400, errors_doc("json", 400, "service_code LIFT-EXT unknown"))
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert h.state == H.QUEUED and h.attempts == 1
        assert "refused the request (HTTP 400)" in h.last_error and "LIFT-EXT" in h.last_error
        now.advance(minutes=2)
        assert tasks.run_handoffs().sent == 1

    def test_no_service_code_fails_before_any_http_and_then_goes_through(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        ExternalSystem.objects.filter(pk=outside["system"].pk).update(service_codes={})
        appeal = submit(outside)
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert fake.calls == [] and h.attempts == 1 and LIFT in h.last_error
        ExternalSystem.objects.filter(pk=outside["system"].pk).update(default_service_code="ANY")
        now.advance(minutes=2)
        tasks.run_handoffs()
        assert the_handoff(appeal).state == H.SENT
        assert fake.posts()[0].form["service_code"] == ["ANY"]

    def test_a_token_then_the_id(self, outside: dict[str, Any], now: Time) -> None:
        with fake_outside(deferred=True) as deferred:
            ExternalSystem.objects.filter(pk=outside["system"].pk).update(
                endpoint=deferred.endpoint, format="xml"
            )
            appeal = submit(outside)
            tasks.run_handoffs()
            h = the_handoff(appeal)
            assert (h.state, h.token, h.external_id) == (H.WAITING_ID, "tok-EXT-1", "")
            assert fresh(appeal).status == Status.DISPATCHED
            now.advance(seconds=61)
            tasks.run_handoffs()
            assert the_handoff(appeal).state == H.WAITING_ID
            deferred.create_pending()
            now.advance(seconds=61)
            tasks.run_handoffs()
            h = the_handoff(appeal)
            assert (h.state, h.external_id) == (H.SENT, "EXT-1")
            assert fresh(appeal).status == Status.ACCEPTED
            assert [c.path.rsplit("/", 1)[-1] for c in deferred.calls] == [
                "requests.xml",
                "tok-EXT-1.xml",
                "tok-EXT-1.xml",
            ]

    def test_a_claimed_handoff_is_not_claimed_again(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        appeal = submit(outside)
        (claimed,) = tasks._claim(10)
        assert claimed.appeal_id == appeal.pk
        assert tasks._claim(10) == []  # a second worker finds nothing due
        assert the_handoff(appeal).next_attempt_at == now.at + tasks.LEASE


class TestPoll:
    def sent(self, city: dict[str, Any], now: Time, n: int = 1) -> list[Appeal]:
        appeals = [submit(city, f"The lift in building {i} is broken") for i in range(n)]
        tasks.run_handoffs()
        now.advance(seconds=300)
        return appeals

    def test_their_notes_are_progress_once(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        fake.set_status("EXT-1", "open", "Crew on its way")
        assert tasks.run_handoffs().polled == 1
        progress = fresh(appeal).events.get(action="progress")
        assert progress.note == "Crew on its way" and progress.public
        assert progress.actor == "open311:Water Co"
        h = the_handoff(appeal)
        assert (h.external_status, h.external_notes) == ("open", "Crew on its way")
        assert h.next_attempt_at == now.at + timedelta(seconds=300)
        assert tasks.run_handoffs().polled == 0  # not due
        now.advance(seconds=300)
        assert tasks.run_handoffs().polled == 1
        assert actions(appeal).count("progress") == 1

    def test_closed_resolves_our_case_with_their_note_once(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        fake.set_status("EXT-1", "closed", "Pipe replaced")
        assert tasks.run_handoffs().closed == 1
        case = fresh(appeal)
        assert case.status == Status.RESOLVED and case.resolved_at == now.at
        resolve = case.events.get(action="resolve")
        assert resolve.note == "Closed by Water Co: Pipe replaced" and resolve.public
        assert resolve.actor == "open311:Water Co"
        h = the_handoff(appeal)
        assert (h.state, h.closed_at) == (H.CLOSED, now.at)
        calls = len(fake.calls)
        now.advance(hours=2)
        assert tasks.run_handoffs().polled == 0
        assert len(fake.calls) == calls and actions(appeal).count("resolve") == 1

    def test_closed_while_still_dispatched_accepts_first(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        Appeal.objects.filter(pk=appeal.pk).update(status=Status.DISPATCHED)
        fake.set_status("EXT-1", "closed", "")
        tasks.run_handoffs()
        assert fresh(appeal).status == Status.RESOLVED
        assert actions(appeal)[-2:] == ["accept", "resolve"]
        assert fresh(appeal).events.get(action="resolve").note == "Closed by Water Co."

    def test_one_get_for_all_cases_of_a_system(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        self.sent(outside, now, n=3)
        before = len(fake.calls)
        assert tasks.run_handoffs().polled == 3
        (get,) = fake.calls[before:]
        assert sorted(get.query["service_request_id"][0].split(",")) == ["EXT-1", "EXT-2", "EXT-3"]

    def test_a_request_they_do_not_return_is_kept_as_an_error(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        del fake.requests["EXT-1"]
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert h.state == H.SENT and "did not return the request EXT-1" in h.last_error

    def test_a_failed_poll_is_retried_with_backoff(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        fake.then(500, "down")
        assert tasks.run_handoffs().failed == 1
        h = the_handoff(appeal)
        assert (h.state, h.attempts) == (H.SENT, 1) and "HTTP 500" in h.last_error
        assert h.next_attempt_at < now.at + timedelta(seconds=100)

    def test_closed_when_our_case_cannot_be_resolved_is_told_to_the_centre(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        Appeal.objects.filter(pk=appeal.pk).update(status=Status.SUSPENDED)
        fake.set_status("EXT-1", "closed", "Done")
        tasks.run_handoffs()
        h = the_handoff(appeal)
        assert h.state == H.CLOSED and "could not be resolved automatically" in h.last_error
        closed = Event.objects.get(appeal=appeal, action="handoff_closed")
        assert not closed.public and closed.note == "Closed by Water Co: Done"
        assert fresh(appeal).status == Status.SUSPENDED

    def test_cancelled_while_sent_is_no_longer_polled(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        redispatch(outside, appeal, "T-D2-housing")
        before = len(fake.calls)
        assert tasks.run_handoffs().polled == 0 and len(fake.calls) == before

    def test_reopened_after_they_closed_is_sent_again(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        (appeal,) = self.sent(outside, now)
        fake.set_status("EXT-1", "closed", "Fixed")
        tasks.run_handoffs()
        first_key = handoff.idempotency_key(the_handoff(appeal))
        with transaction.atomic():
            appeal_services.rate(
                actor=outside["resident"],
                appeal=fresh(appeal),
                responded=True,
                solved=False,
                satisfaction="dissatisfied",
                comment="Still broken",
            )
        case = fresh(appeal)
        if case.status != Status.DISPATCHED:  # sent to review: the centre reopens it
            with transaction.atomic():
                appeal_services.reopen(actor=outside["dispatcher"], appeal=case, reason="again")
        h = the_handoff(appeal)
        assert (h.state, h.external_id) == (H.QUEUED, "")
        assert handoff.idempotency_key(h) != first_key
        tasks.run_handoffs()
        assert the_handoff(appeal).external_id == "EXT-2"


class TestHostileAnswers:
    def test_billion_laughs_from_an_xml_system_is_an_error_on_the_handoff(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        ExternalSystem.objects.filter(pk=outside["system"].pk).update(format="xml")
        appeal = submit(outside)
        fake.then(201, BILLION_LAUGHS)
        assert tasks.run_handoffs().failed == 1
        h = the_handoff(appeal)
        assert (h.state, h.attempts, h.external_id) == (H.QUEUED, 1, "")
        assert "XML we refuse to read" in h.last_error and "lollol" not in h.last_error
        assert fresh(appeal).status == Status.DISPATCHED
        now.advance(minutes=2)
        assert tasks.run_handoffs().sent == 1  # a sane answer next time goes through


class TestFinishedHere:
    def test_merged_as_a_duplicate_before_sending_is_never_sent(
        self, outside: dict[str, Any], fake: FakeOutside, now: Time
    ) -> None:
        first = submit(outside)
        tasks.run_handoffs()
        second = submit(outside, "The lift in building 3 is broken again, please hurry")
        with transaction.atomic():
            appeal_services.mark_duplicate(
                actor=outside["dispatcher"], appeal=fresh(second), of=fresh(first)
            )
        h = the_handoff(second)
        assert h.state == H.CANCELLED and "the case was finished first" in (
            second.events.get(action="handoff_cancelled").note
        )
        posts = len(fake.posts())
        assert tasks.run_handoffs().sent == 0 and len(fake.posts()) == posts
        assert the_handoff(first).state == H.SENT  # the original stays with them
