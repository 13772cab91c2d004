"""FixMyStreet's extension: servicerequestupdates GET (the public history of cases, with the
extended statuses) and POST (a resident app's update recorded on the case)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services as appeal_services
from civitas.appeals.models import Appeal
from civitas.kit import clock
from tests.open311.conftest import CONTACT, Open311, at, create

pytestmark = pytest.mark.django_db

FORMATS = ["xml", "json"]
T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


@pytest.fixture(params=FORMATS)
def fmt(request: Any) -> str:
    return str(request.param)


def w3(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic(fn: Callable[..., Any], /, **kw: Any) -> Any:
    with transaction.atomic():
        return fn(**kw)


def fresh(ticket: str) -> Appeal:
    return Appeal.objects.get(ticket=ticket)


def updates_of(api: Open311, ticket: str, fmt: str = "json", **params: Any) -> list[dict[str, Any]]:
    answer = api.get("servicerequestupdates", fmt, kind="update", **params)
    assert answer.status == 200, answer.body[:500]
    return [u for u in answer.data if str(u["service_request_id"]) == ticket]


def statuses(api: Open311, ticket: str, fmt: str = "json", **params: Any) -> list[str]:
    found = updates_of(api, ticket, fmt, **params)
    found.sort(key=lambda u: at(u["updated_datetime"]))
    return [str(u["status"]) for u in found]


class TestGetUpdates:
    def test_a_new_request_is_open(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        ticket = create(api, api_key)
        found = statuses(api, ticket, fmt)
        assert found and set(found) == {"OPEN"}, found

    def test_the_history_with_extended_statuses(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        ticket = create(api, api_key)
        atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(ticket))
        assert statuses(api, ticket, fmt)[-1] == "IN_PROGRESS"
        atomic(
            appeal_services.resolve,
            actor=o311["handler"],
            appeal=fresh(ticket),
            result="Replaced the motor",
        )
        history = statuses(api, ticket, fmt)
        assert history[-1] == "FIXED", history
        assert history[0] == "OPEN" and "IN_PROGRESS" in history

    def test_closed_after_the_callback(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(api, api_key)
        atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(ticket))
        atomic(appeal_services.resolve, actor=o311["handler"], appeal=fresh(ticket), result="ok")
        atomic(
            appeal_services.rate,
            actor=o311["operator"],
            appeal=fresh(ticket),
            responded=True,
            solved=True,
            satisfaction="satisfied",
            by_callback=True,
        )
        assert statuses(api, ticket)[-1] == "CLOSED"
        record = api.get(f"requests/{ticket}", "json", kind="record").one()
        assert record["status"] == "closed"

    def test_a_duplicate(self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str) -> None:
        first, second = create(api, api_key), create(api, api_key)
        atomic(
            appeal_services.mark_duplicate,
            actor=o311["dispatcher"],
            appeal=fresh(second),
            of=fresh(first),
        )
        assert statuses(api, second, fmt)[-1] == "DUPLICATE"
        assert "DUPLICATE" not in statuses(api, first, fmt)

    def test_update_ids_are_unique_and_dates_have_zones(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        tickets = [create(api, api_key) for _ in range(2)]
        for ticket in tickets:
            atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(ticket))
        answer = api.get("servicerequestupdates", "json", kind="update")
        update_ids = [str(u["update_id"]) for u in answer.data]
        assert len(update_ids) >= 4 and len(update_ids) == len(set(update_ids))

    def test_internal_events_are_not_updates(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(api, api_key)
        before = len(updates_of(api, ticket))
        atomic(
            appeal_services.internal_note,
            actor=o311["handler"],
            appeal=fresh(ticket),
            note="for staff only",
        )
        assert len(updates_of(api, ticket)) == before

    def test_start_and_end_dates(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        with clock.frozen(T0 - timedelta(days=10)):
            ticket = create(api, api_key)
        with clock.frozen(T0 - timedelta(days=2)):
            atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(ticket))
        cut = w3(T0 - timedelta(days=5))
        with clock.frozen(T0):
            assert set(statuses(api, ticket, fmt, start_date=cut)) == {"IN_PROGRESS"}
            assert set(statuses(api, ticket, fmt, end_date=cut)) == {"OPEN"}
            for update in updates_of(api, ticket, fmt, start_date=cut):
                assert at(update["updated_datetime"]) >= T0 - timedelta(days=5)

    @pytest.mark.parametrize("name", ["start_date", "end_date"])
    def test_a_bad_date_is_400(
        self, o311: dict[str, Any], api: Open311, fmt: str, name: str
    ) -> None:
        answer = api.get("servicerequestupdates", fmt, **{name: "last week"})
        assert answer.status == 400 and name in answer.error_text()

    def test_no_contact_details(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        create(api, api_key)
        for fmt in FORMATS:
            text = api.get("servicerequestupdates", fmt, kind="update").text
            for value in CONTACT.values():
                assert value not in text


def update_form(key: str, ticket: str, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "api_key": key,
        "service_request_id": ticket,
        "update_id": "app-update-1",
        "updated_datetime": w3(datetime.now(UTC)),
        "status": "OPEN",
        "description": "It is still stuck this morning; people are using the stairs.",
        "first_name": "Ana",
        "last_name": "Follower",
        "email": "ana.follower@example.org",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


class TestPostUpdates:
    def test_a_resident_apps_update_is_recorded_on_the_case(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        ticket = create(api, api_key)
        events_before = fresh(ticket).events.count()
        answer = api.post(
            "servicerequestupdates", fmt, kind="update_answer", **update_form(api_key, ticket)
        )
        assert answer.status in (200, 201), answer.body
        assert str(answer.one()["update_id"]).strip()
        appeal = fresh(ticket)
        assert appeal.events.count() == events_before + 1
        event = appeal.events.order_by("-at", "-pk").first()
        assert event is not None and "people are using the stairs" in event.note

    def test_the_posters_contact_is_not_published(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
        ticket = create(api, api_key)
        api.post("servicerequestupdates", "json", **update_form(api_key, ticket))
        for fmt in FORMATS:
            text = api.get("servicerequestupdates", fmt, kind="update").text
            assert "ana.follower@example.org" not in text and "Follower" not in text

    def test_no_api_key_is_403(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        ticket = create(api, api_key)
        answer = api.post(
            "servicerequestupdates", fmt, **update_form(api_key, ticket, api_key=None)
        )
        assert answer.status == 403
        answer = api.post("servicerequestupdates", fmt, **update_form("nope", ticket))
        assert answer.status == 403

    def test_an_unknown_request_is_404(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("servicerequestupdates", fmt, **update_form(api_key, "T-NOPE"))
        assert answer.status in (400, 404)
        text = answer.error_text()
        assert "service_request_id" in text or "t-nope" in text, text

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("service_request_id", None),
            ("description", None),
            ("description", ""),
            ("status", "MAYBE"),
            ("updated_datetime", "now"),
            ("description", "x" * 4001),
        ],
    )
    def test_bad_input_is_400_naming_the_field(
        self, o311: dict[str, Any], api: Open311, api_key: str, name: str, value: Any
    ) -> None:
        ticket = create(api, api_key)
        before = fresh(ticket).events.count()
        answer = api.post(
            "servicerequestupdates", "json", **update_form(api_key, ticket, **{name: value})
        )
        assert answer.status == 400, (name, value, answer.status)
        assert name in answer.error_text()
        assert fresh(ticket).events.count() == before
