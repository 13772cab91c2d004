"""GeoReport v2 conformance: GET requests and requests/<id> — the record, every filter, the
defaults (90 days, 1,000 requests), the paging extensions — and privacy in every GET answer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import intake
from civitas.appeals import services as appeal_services
from civitas.appeals.models import Appeal
from civitas.kit import clock
from tests.open311.conftest import (
    CONTACT,
    FORM,
    FORM_ANSWERS,
    LIFT,
    WATER,
    Open311,
    at,
    create,
    request_form,
)

pytestmark = pytest.mark.django_db

FORMATS = ["xml", "json"]
T0 = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # "now" of the tests that freeze the clock


@pytest.fixture(params=FORMATS)
def fmt(request: Any) -> str:
    return str(request.param)


def w3(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(answer: Any) -> set[str]:
    assert answer.status == 200, (answer.status, answer.body[:500])
    return {str(r["service_request_id"]) for r in answer.data}


def create_at(moment: datetime, api: Open311, key: str, **overrides: Any) -> str:
    with clock.frozen(moment):
        return create(api, key, **overrides)


def atomic(fn: Callable[..., Any], /, **kw: Any) -> Any:
    with transaction.atomic():
        return fn(**kw)


def seconds(moment: datetime) -> datetime:
    """The precision of the answers (whole seconds are enough for the w3 format)."""
    return moment.replace(microsecond=0)


def fresh(ticket: str) -> Appeal:
    return Appeal.objects.get(ticket=ticket)


# -- one request -----------------------------------------------------------------------------------


class TestOneRequest:
    def test_a_one_element_list_with_every_field(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        ticket = create(api, api_key)
        appeal = fresh(ticket)
        answer = api.get(f"requests/{ticket}", fmt, kind="record")
        assert answer.status == 200
        record = answer.one()
        assert record["service_request_id"] == ticket
        assert record["status"] == "open"
        assert record["service_code"] == LIFT
        assert record["service_name"] in ("Lift out of service", "电梯故障")
        assert record["agency_responsible"] == appeal.lead_unit.name  # type: ignore[union-attr]
        assert at(record["requested_datetime"]) == seconds(appeal.received_at)
        assert appeal.resolve_due is not None
        assert at(record["expected_datetime"]) == seconds(appeal.resolve_due)
        assert at(record["updated_datetime"]) >= at(record["requested_datetime"])
        assert float(record["lat"]) == pytest.approx(0.5)
        assert float(record["long"]) == pytest.approx(0.5)

    def test_times_come_from_the_one_clock(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        """requested/updated/expected datetimes follow civitas.kit.clock (tests freeze it):
        nothing is updated after the server's now, nor before the request was made."""
        ticket = create_at(T0 - timedelta(days=3), api, api_key)
        with clock.frozen(T0):
            record = api.get(f"requests/{ticket}", "json", kind="record").one()
        assert at(record["requested_datetime"]) == T0 - timedelta(days=3)
        assert T0 - timedelta(days=3) <= at(record["updated_datetime"]) <= T0

    def test_json_numbers_for_coordinates(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        record = api.get(f"requests/{create(api, api_key)}", "json", kind="record").one()
        for name in ("lat", "long"):  # numbers, as the specification's JSON example
            assert isinstance(record[name], (int, float)) and not isinstance(record[name], bool)
            assert record[name] == pytest.approx(0.5)

    def test_both_formats_say_the_same(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(api, api_key)
        xml = api.get(f"requests/{ticket}", "xml", kind="record").one()
        js = api.get(f"requests/{ticket}", "json", kind="record").one()
        for name in xml:
            if name in ("lat", "long"):
                assert float(xml[name]) == pytest.approx(float(js[name]))
            elif name.endswith("_datetime"):
                assert (xml[name] == "") == (js[name] in ("", None))
                if xml[name]:
                    assert at(xml[name]) == at(js[name])
            else:
                assert xml[name] == ("" if js[name] is None else str(js[name])), name

    def test_an_unknown_id_is_404(self, o311: dict[str, Any], api: Open311, fmt: str) -> None:
        answer = api.get("requests/T-20990101-999999", fmt)
        assert answer.status == 404
        assert [int(e["code"]) for e in answer.errors()] == [404]

    def test_an_address_only_request_has_empty_coordinates(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True  # a typed address is the resident's text
        ticket = create(api, api_key, lat=None, long=None, address_string="Building 3, Elm 11")
        record = api.get(f"requests/{ticket}", fmt, kind="record").one()
        assert record["lat"] in ("", None) and record["long"] in ("", None)
        assert record["address"] == "Building 3, Elm 11"

    def test_a_case_of_another_channel_is_a_request_too(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        data = intake.AppealIn(
            city="T",
            text="The lift in building 9 is broken",
            lat=0.5,
            lon=0.5,
            matter_code=LIFT,
            contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
        )
        with transaction.atomic():
            ticket = intake.submit(actor="hotline", data=data).appeal.ticket
        answer = api.get(f"requests/{ticket}", fmt, kind="record")
        assert answer.one()["service_code"] == LIFT
        assert b"Li Lei" not in answer.body and b"13800000000" not in answer.body

    def test_another_citys_request_is_not_found_under_this_one(
        self,
        o311: dict[str, Any],
        second_city: dict[str, Any],
        api: Open311,
        api_key: str,
    ) -> None:
        ticket = create(api, api_key, jurisdiction_id="T")
        assert api.get(f"requests/{ticket}", "json", jurisdiction_id="T").status == 200
        assert api.get(f"requests/{ticket}", "json", jurisdiction_id="U").status == 404


# -- GET requests: filters -------------------------------------------------------------------------


class TestFilters:
    def test_lists_recent_requests(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        a, b = create(api, api_key), create(api, api_key)
        assert ids(api.get("requests", fmt, kind="record")) == {a, b}

    def test_service_request_ids_comma_separated_override_the_rest(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        a, b, c = (create(api, api_key) for _ in range(3))
        got = api.get("requests", fmt, kind="record", service_request_id=f"{a},{c}")
        assert ids(got) == {a, c}
        # the other filters are ignored when ids are given
        got = api.get(
            "requests",
            fmt,
            kind="record",
            service_request_id=f"{a},{c}",
            service_code=WATER,
            status="closed",
            start_date=w3(datetime.now(UTC) + timedelta(days=1)),
        )
        assert ids(got) == {a, c}
        assert b not in ids(got)

    def test_an_unknown_id_in_the_list_is_left_out(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        a = create(api, api_key)
        got = api.get("requests", "json", kind="record", service_request_id=f"{a},T-NOPE")
        assert ids(got) == {a}

    def test_service_codes_comma_separated(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        lift = create(api, api_key)
        water = create(api, api_key, service_code=WATER)
        form = create(api, api_key, service_code=FORM, **FORM_ANSWERS)
        assert ids(api.get("requests", fmt, kind="record", service_code=LIFT)) == {lift}
        both = api.get("requests", fmt, kind="record", service_code=f"{LIFT},{FORM}")
        assert ids(both) == {lift, form}
        assert water not in ids(both)

    def test_status_open_closed_and_both(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        first, second = create(api, api_key), create(api, api_key)
        atomic(
            appeal_services.mark_duplicate,
            actor=o311["dispatcher"],
            appeal=fresh(second),
            of=fresh(first),
        )
        assert ids(api.get("requests", fmt, kind="record", status="open")) == {first}
        closed = api.get("requests", fmt, kind="record", status="closed")
        assert ids(closed) == {second}
        assert closed.one()["status"] == "closed"
        both = api.get("requests", fmt, kind="record", status="open,closed")
        assert ids(both) == {first, second}

    def test_an_unknown_status_is_400(self, o311: dict[str, Any], api: Open311, fmt: str) -> None:
        answer = api.get("requests", fmt, status="dispatched")
        assert answer.status == 400 and "status" in answer.error_text()

    def test_start_and_end_dates(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        old = create_at(T0 - timedelta(days=10), api, api_key)
        new = create_at(T0 - timedelta(days=3), api, api_key)
        middle = w3(T0 - timedelta(days=5))
        with clock.frozen(T0):
            assert ids(api.get("requests", fmt, kind="record", start_date=middle)) == {new}
            assert ids(api.get("requests", fmt, kind="record", end_date=middle)) == {old}
            both = api.get(
                "requests",
                fmt,
                kind="record",
                start_date=w3(T0 - timedelta(days=11)),
                end_date=w3(T0),
            )
            assert ids(both) == {old, new}

    def test_dates_with_an_offset_zone(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        created = create_at(T0 - timedelta(hours=2), api, api_key)  # 00:00Z
        with clock.frozen(T0):
            # 07:30+08:00 is 23:30Z the day before: the request is after it
            got = api.get("requests", "json", start_date="2026-06-15T07:30:00+08:00")
            assert ids(got) == {created}
            got = api.get("requests", "json", start_date="2026-06-15T08:30:00+08:00")
            assert ids(got) == set()

    def test_more_than_90_days_apart_is_400(
        self, o311: dict[str, Any], api: Open311, fmt: str
    ) -> None:
        with clock.frozen(T0):
            answer = api.get(
                "requests",
                fmt,
                start_date=w3(T0 - timedelta(days=91)),
                end_date=w3(T0),
            )
        assert answer.status == 400
        assert "90" in answer.error_text()

    def test_exactly_90_days_is_allowed(self, o311: dict[str, Any], api: Open311) -> None:
        with clock.frozen(T0):
            answer = api.get(
                "requests", "json", start_date=w3(T0 - timedelta(days=90)), end_date=w3(T0)
            )
        assert answer.status == 200

    @pytest.mark.parametrize(
        "bad", ["yesterday", "2026-13-01T00:00:00Z", "2026-06-01T25:00:00Z", "1718416800"]
    )
    def test_a_bad_date_is_400_naming_it(
        self, o311: dict[str, Any], api: Open311, fmt: str, bad: str
    ) -> None:
        answer = api.get("requests", fmt, start_date=bad)
        assert answer.status == 400 and "start_date" in answer.error_text()
        answer = api.get("requests", fmt, end_date=bad)
        assert answer.status == 400 and "end_date" in answer.error_text()

    def test_start_after_end_is_400(self, o311: dict[str, Any], api: Open311) -> None:
        answer = api.get("requests", "json", start_date=w3(T0), end_date=w3(T0 - timedelta(days=1)))
        assert answer.status == 400

    def test_empty_parameters_are_absent(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        a = create(api, api_key)
        answer = api.get(
            "requests",
            fmt,
            kind="record",
            service_request_id="",
            service_code="",
            start_date="",
            end_date="",
            status="",
            jurisdiction_id="",
            updated_after="",
            updated_before="",
            page="",
            page_size="",
        )
        assert ids(answer) == {a}


# -- GET requests: defaults ------------------------------------------------------------------------


class TestDefaults:
    def test_the_most_recent_90_days(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        create_at(T0 - timedelta(days=100), api, api_key)
        recent = create_at(T0 - timedelta(days=10), api, api_key)
        with clock.frozen(T0):
            assert ids(api.get("requests", fmt, kind="record")) == {recent}

    def test_an_end_date_alone_looks_90_days_back_from_it(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        # end_date 120 days back: the window is 210 to 120 days back.
        older = create_at(T0 - timedelta(days=220), api, api_key)
        inside = create_at(T0 - timedelta(days=150), api, api_key)
        with clock.frozen(T0):
            got = ids(api.get("requests", "json", end_date=w3(T0 - timedelta(days=120))))
        assert got == {inside}
        assert older not in got

    def test_at_most_1000_requests(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        template = fresh(create(api, api_key))
        copies = []
        for i in range(1005):
            copy = Appeal.objects.get(pk=template.pk)
            copy.pk = None
            copy.ticket = f"T-BULK-{i:05d}"
            copy.token_hash = secrets.token_hex(32)
            copy.received_at = template.received_at - timedelta(minutes=i + 1)
            copies.append(copy)
        Appeal.objects.bulk_create(copies)
        answer = api.get("requests", fmt, kind="record")
        assert len(answer.data) == 1000
        # the most recent ones
        assert template.ticket in ids(answer)
        assert "T-BULK-01004" not in ids(answer)
        # and a bigger page is still at most 1,000
        assert len(api.get("requests", "json", page_size="5000").data) <= 1000


# -- extensions ------------------------------------------------------------------------------------


class TestExtensions:
    def test_updated_after_and_before(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        moved = create_at(T0 - timedelta(days=3), api, api_key)
        still = create_at(T0 - timedelta(days=3), api, api_key)
        with clock.frozen(T0 - timedelta(days=1)):
            atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(moved))
        cut = w3(T0 - timedelta(days=2))
        with clock.frozen(T0):
            after = api.get("requests", fmt, kind="record", updated_after=cut)
            before = api.get("requests", fmt, kind="record", updated_before=cut)
        assert ids(after) == {moved}
        assert ids(before) == {still}

    def test_a_bad_updated_after_is_400(self, o311: dict[str, Any], api: Open311) -> None:
        answer = api.get("requests", "json", updated_after="soon")
        assert answer.status == 400 and "updated_after" in answer.error_text()

    def test_pages(self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str) -> None:
        made = {create(api, api_key) for _ in range(5)}
        pages = [
            ids(api.get("requests", fmt, kind="record", page=str(n), page_size="2"))
            for n in (1, 2, 3, 4)
        ]
        assert [len(p) for p in pages] == [2, 2, 1, 0]
        assert pages[0] | pages[1] | pages[2] == made
        assert not (pages[0] & pages[1]) and not (pages[1] & pages[2])

    @pytest.mark.parametrize(
        ("name", "value"),
        [("page", "0"), ("page", "-1"), ("page", "two"), ("page_size", "0"), ("page_size", "x")],
    )
    def test_bad_paging_is_400(
        self, o311: dict[str, Any], api: Open311, name: str, value: str
    ) -> None:
        answer = api.get("requests", "json", **{name: value})
        assert answer.status == 400 and name in answer.error_text()


# -- privacy ---------------------------------------------------------------------------------------

SECRET_TEXT = (
    "The lift is stuck again. Call me on 13912345678 or write to meilin.x@example.org "
    "(or +86 139 1234 5678)."
)


def every_get(api: Open311, ticket: str, token: str | None = None) -> list[Any]:
    """Every public GET answer that could show this request, in both formats."""
    answers = []
    for fmt in FORMATS:
        answers += [
            api.get("requests", fmt, kind="record"),
            api.get(f"requests/{ticket}", fmt, kind="record"),
            api.get("requests", fmt, kind="record", service_request_id=ticket),
            api.get("servicerequestupdates", fmt, kind="update"),
            api.get("services", fmt),
            api.get("discovery", fmt),
        ]
        if token:
            answers.append(api.get(f"tokens/{token}", fmt, kind="token"))
    return answers


def assert_no_contact(answers: list[Any]) -> None:
    for answer in answers:
        assert answer.status == 200, (answer.url, answer.status)
        text = answer.text
        for value in (*CONTACT.values(), "139 1234 5678"):
            assert value not in text, f"{answer.url} shows {value!r}"


class TestPrivacy:
    def test_no_contact_details_and_no_description_by_default(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(
            api, api_key, description=SECRET_TEXT, media_url="https://p.example.org/1.jpg"
        )
        answers = every_get(api, ticket)
        assert_no_contact(answers)
        for fmt in FORMATS:
            record = api.get(f"requests/{ticket}", fmt, kind="record").one()
            assert record.get("description") in (None, ""), record["description"]
            assert record.get("media_url") in (None, ""), record["media_url"]
        for answer in answers:
            assert "stuck again" not in answer.text, answer.url

    def test_public_text_is_shown_without_contact_details(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
        ticket = create(
            api, api_key, description=SECRET_TEXT, media_url="https://p.example.org/1.jpg"
        )
        assert_no_contact(every_get(api, ticket))
        for fmt in FORMATS:
            record = api.get(f"requests/{ticket}", fmt, kind="record").one()
            assert "The lift is stuck again." in record["description"]
            assert record["media_url"] == "https://p.example.org/1.jpg"

    def test_a_deferred_request_shows_no_contact_either(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        from civitas.open311 import server

        settings.CIVITAS_OPEN311_DEFER = True
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
        token = api.post(
            "requests", "json", kind="deferred", **request_form(api_key, description=SECRET_TEXT)
        ).one()["token"]
        server.process_pending()
        ticket = api.get(f"tokens/{token}", "json", kind="token").one()["service_request_id"]
        assert_no_contact(every_get(api, ticket, token))

    def test_staff_notes_only_with_public_text_and_scrubbed(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        ticket = create(api, api_key)
        atomic(appeal_services.accept, actor=o311["handler"], appeal=fresh(ticket))
        atomic(
            appeal_services.resolve,
            actor=o311["handler"],
            appeal=fresh(ticket),
            result="Replaced the motor; told the resident on 13912345678.",
        )
        hidden = api.get(f"requests/{ticket}", "json", kind="record").one()
        assert "motor" not in str(hidden["status_notes"])
        assert_no_contact(every_get(api, ticket))
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
        shown = api.get(f"requests/{ticket}", "json", kind="record").one()
        assert "Replaced the motor" in str(shown["status_notes"])
        assert_no_contact(every_get(api, ticket))

    def test_internal_notes_never_appear(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_PUBLIC_TEXT = True
        ticket = create(api, api_key)
        atomic(
            appeal_services.internal_note,
            actor=o311["handler"],
            appeal=fresh(ticket),
            note="Internal: the landlord owes us money",
        )
        for answer in every_get(api, ticket):
            assert "landlord owes" not in answer.text, answer.url
