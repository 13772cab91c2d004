"""Handoffs on the staff case page, and the centre's "try again now"; never on the resident's
pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.kit.models import AuditEntry
from civitas.open311 import tasks
from civitas.open311.models import ExternalSystem, Handoff
from civitas.org.models import Role
from tests.factories import member
from tests.open311.conftest import LIFT
from tests.open311.outside import Time, errors_doc, fake_outside, submit

H = Handoff.State
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def now() -> Iterator[Time]:
    t = Time(T0)
    yield t
    t.stack.close()


@pytest.fixture
def failing(o311: dict[str, Any], now: Time) -> Iterator[dict[str, Any]]:
    """A case whose handoff to Water Co failed twice (HTTP 400 with their reason)."""
    with fake_outside() as fake:
        with transaction.atomic():
            ExternalSystem.objects.create(
                unit=o311["T-D1-housing"],
                name="Water Co",
                endpoint=fake.endpoint,
                api_key="their-key",
                service_codes={LIFT: "LIFT-EXT"},
            )
        o311["resident"] = member("resident", Role.RESIDENT)
        o311["other_handler"] = member("handler2", Role.UNIT_HANDLER, o311["T-D2-housing"])
        o311["appeal"] = submit(o311)
        for attempt in (1, 2):
            if attempt > 1:
                now.at = Handoff.objects.get().next_attempt_at
                now.advance(seconds=0)
            fake.then(400, errors_doc("json", 400, "service_code LIFT-EXT is unknown"))
            tasks.run_handoffs()
        o311["fake"] = fake
        yield o311


def page(user: Any, path: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user)
    answer = client.get(path)
    return answer.status_code, answer.content.decode()


def retry(user: Any | None, ticket: str, pk: int) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.post(f"/case/{ticket}/handoff/{pk}/retry/")


class TestCasePage:
    def test_the_centre_sees_attempts_the_error_and_may_retry(
        self, failing: dict[str, Any]
    ) -> None:
        status, html = page(failing["dispatcher"], f"/case/{failing['appeal'].ticket}/")
        assert status == 200
        assert 'id="handoffs"' in html and "Water Co" in html
        assert "2 failed attempts in a row" in html
        assert "service_code LIFT-EXT is unknown" in html
        assert 'data-action="handoff-retry"' in html

    def test_the_lead_unit_sees_it_without_the_retry(self, failing: dict[str, Any]) -> None:
        status, html = page(failing["handler"], f"/case/{failing['appeal'].ticket}/")
        assert status == 200 and 'id="handoffs"' in html
        assert "service_code LIFT-EXT is unknown" in html
        assert 'data-action="handoff-retry"' not in html

    def test_a_case_without_handoffs_has_no_section(self, failing: dict[str, Any]) -> None:
        Handoff.objects.all().delete()
        _status, html = page(failing["dispatcher"], f"/case/{failing['appeal'].ticket}/")
        assert 'id="handoffs"' not in html

    def test_never_on_the_residents_page(self, failing: dict[str, Any]) -> None:
        status, html = page(failing["resident"], f"/my/appeals/{failing['appeal'].ticket}/")
        assert status == 200 and failing["appeal"].ticket in html
        assert "Water Co" not in html and "LIFT-EXT" not in html and "handoff" not in html


class TestRetry:
    def test_the_centre_makes_it_due_now_and_it_is_audited(
        self, failing: dict[str, Any], now: Time
    ) -> None:
        h = Handoff.objects.get()
        assert h.next_attempt_at > now.at
        answer = retry(failing["dispatcher"], failing["appeal"].ticket, h.pk)
        assert answer.status_code == 302 and answer["Location"].endswith(
            f"/case/{failing['appeal'].ticket}/"
        )
        assert Handoff.objects.get().next_attempt_at == now.at
        entry = AuditEntry.objects.filter(action="open311.handoff.retry").get()
        assert entry.object_id == str(h.pk)
        assert tasks.run_handoffs().sent == 1  # their side was fixed meanwhile
        assert Handoff.objects.get().state == H.SENT

    @pytest.mark.parametrize(("who", "code"), [("handler", 403), ("other_handler", 404)])
    def test_others_may_not(self, failing: dict[str, Any], now: Time, who: str, code: int) -> None:
        h = Handoff.objects.get()
        before = h.next_attempt_at
        assert retry(failing[who], failing["appeal"].ticket, h.pk).status_code == code
        assert Handoff.objects.get().next_attempt_at == before
        assert not AuditEntry.objects.filter(action="open311.handoff.retry").exists()

    def test_anonymous_and_get_are_refused(self, failing: dict[str, Any]) -> None:
        h = Handoff.objects.get()
        path = f"/case/{failing['appeal'].ticket}/handoff/{h.pk}/retry/"
        assert retry(None, failing["appeal"].ticket, h.pk).status_code == 302  # to the login
        client = Client()
        client.force_login(failing["dispatcher"])
        assert client.get(path).status_code == 405

    def test_a_finished_handoff_is_left_alone(self, failing: dict[str, Any], now: Time) -> None:
        Handoff.objects.update(state=H.CLOSED)
        h = Handoff.objects.get()
        client = Client()
        client.force_login(failing["dispatcher"])
        answer = client.post(f"/case/{failing['appeal'].ticket}/handoff/{h.pk}/retry/", follow=True)
        assert "nothing to try again" in answer.content.decode()
        assert Handoff.objects.get().next_attempt_at == h.next_attempt_at

    def test_a_handoff_of_another_case_is_not_found(
        self, failing: dict[str, Any], now: Time
    ) -> None:
        other = submit(failing, "The lift in building 5 is broken")
        h = Handoff.objects.get(appeal=failing["appeal"])
        assert retry(failing["dispatcher"], other.ticket, h.pk).status_code == 404


def test_the_timeline_names_handoff_events_and_the_outside_system(
    failing: dict[str, Any], now: Time
) -> None:
    now.advance(hours=1)
    tasks.run_handoffs()  # their side answers normally now: registered, and accepted for them
    _status, html = page(failing["dispatcher"], f"/case/{failing['appeal'].ticket}/")
    assert "Handed to an outside system" in html and "Registered by the outside system" in html
    assert "handoff_queued" not in html.replace("ev-handoff_queued", "")
    assert "open311:Water Co" not in html  # the actor is shown by its name
    _status, html = page(failing["resident"], f"/my/appeals/{failing['appeal'].ticket}/")
    assert "outside system" not in html
