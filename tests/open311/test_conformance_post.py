"""GeoReport v2 conformance: POST requests (locations, attributes of every datatype, keys,
limits), the appeal it makes in the ordinary intake, the token flow, and per-key rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals.models import Appeal, Channel, Status
from civitas.org import services as org_services
from tests.open311.conftest import (
    CONTACT,
    FORM,
    FORM_ANSWERS,
    LIFT,
    Open311,
    create,
    request_form,
)

pytestmark = pytest.mark.django_db

FORMATS = ["xml", "json"]


@pytest.fixture(params=FORMATS)
def fmt(request: Any) -> str:
    return str(request.param)


def refused(answer: Any, status: int, *words: str) -> None:
    """The answer is an error of this status whose description names each word."""
    assert answer.status == status, (answer.status, answer.body[:500])
    assert [int(e["code"]) for e in answer.errors()] and all(
        int(e["code"]) == status for e in answer.errors()
    ), answer.errors()
    text = answer.error_text()
    for word in words:
        assert word.lower() in text, f"{word!r} not named in {text!r}"


# -- a request and the appeal it becomes -----------------------------------------------------------


class TestCreate:
    def test_with_lat_long_answers_the_ticket_and_enters_the_intake(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("requests", fmt, kind="created", **request_form(api_key))
        assert answer.status == 201, answer.body
        record = answer.one()
        assert set(record) >= {"service_request_id", "service_notice", "account_id"}, record
        appeal = Appeal.objects.get(ticket=record["service_request_id"])
        assert appeal.channel == Channel.OPEN311
        assert appeal.matter is not None and appeal.matter.code == LIFT
        assert appeal.status == Status.DISPATCHED, appeal.status
        assert appeal.lead_unit is not None and appeal.lead_unit.code == "T-D1-HOUSING"
        assert abs(appeal.lat - 0.5) < 1e-9 and abs(appeal.lon - 0.5) < 1e-9
        assert "stuck on the 5th floor" in appeal.text
        received = appeal.events.get(action="received")
        assert received.data.get("channel") == "open311"

    def test_the_contact_is_kept_apart(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(api, api_key)
        contact = Appeal.objects.get(ticket=ticket).contact
        assert CONTACT["first_name"] in contact.name and CONTACT["last_name"] in contact.name
        assert contact.email == CONTACT["email"]
        assert contact.phone == CONTACT["phone"]

    def test_open311_extras_are_kept_beside_the_appeal(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(
            api,
            api_key,
            media_url="https://photos.example.org/lift.jpg",
            device_id="device-77",
            account_id="acct-12",
        )
        detail = Appeal.objects.get(ticket=ticket).open311
        assert detail.media_url == "https://photos.example.org/lift.jpg"
        assert detail.device_id == "device-77" and detail.account_id == "acct-12"

    def test_with_an_address_string_only(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        form = request_form(api_key, lat=None, long=None, address_string="Building 3, Elm 11 St")
        answer = api.post("requests", fmt, kind="created", **form)
        assert answer.status == 201, answer.body
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert appeal.address == "Building 3, Elm 11 St"
        assert appeal.status in (Status.DISPATCHED, Status.TRIAGE)

    def test_with_an_address_id_naming_a_place_of_the_city(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        form = request_form(api_key, lat=None, long=None, address_id="T-D1-S1-C1")
        answer = api.post("requests", fmt, kind="created", **form)
        assert answer.status == 201, answer.body
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert appeal.jurisdiction is not None and appeal.jurisdiction.code == "T-D1-S1-C1"
        assert appeal.status == Status.DISPATCHED
        assert appeal.lead_unit is not None and appeal.lead_unit.code == "T-D1-HOUSING"

    def test_an_unknown_address_id_is_refused(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        form = request_form(api_key, lat=None, long=None, address_id="NOWHERE")
        refused(api.post("requests", fmt, **form), 400, "address_id")

    def test_unicode_text_survives(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        ticket = create(api, api_key, description="3号楼电梯坏了，困在五楼。")
        assert Appeal.objects.get(ticket=ticket).text == "3号楼电梯坏了，困在五楼。"

    def test_a_description_of_4000_characters_is_accepted(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        ticket = create(api, api_key, description="x" * 4000)
        assert len(Appeal.objects.get(ticket=ticket).text) == 4000

    def test_empty_optional_parameters_are_absent(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        form = request_form(
            api_key,
            jurisdiction_id="",
            address_string="",
            address_id="",
            email="",
            phone="",
            first_name="",
            last_name="",
            device_id="",
            account_id="",
            media_url="",
        )
        answer = api.post("requests", fmt, kind="created", **form)
        assert answer.status == 201, answer.body

    def test_empty_lat_long_with_an_address_are_absent(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        form = request_form(api_key, lat="", long="", address_string="Building 3")
        assert api.post("requests", "json", kind="created", **form).status == 201

    def test_the_jurisdiction_of_two_cities(
        self, o311: dict[str, Any], second_city: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        refused(api.post("requests", "json", **request_form(api_key)), 400, "jurisdiction_id")
        form = request_form(api_key, jurisdiction_id="T")
        assert api.post("requests", "json", kind="created", **form).status == 201
        # a service of another city is not found under this one
        form = request_form(api_key, jurisdiction_id="U")
        answer = api.post("requests", "json", **form)
        assert answer.status in (400, 404) and "service_code" in answer.error_text()

    def test_an_unknown_jurisdiction_is_404(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("requests", fmt, **request_form(api_key, jurisdiction_id="NOPE"))
        refused(answer, 404, "jurisdiction")
        assert not Appeal.objects.exists()


# -- refusals --------------------------------------------------------------------------------------


class TestRefusals:
    def test_no_location(self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str) -> None:
        answer = api.post("requests", fmt, **request_form(api_key, lat=None, long=None))
        refused(answer, 400)
        text = answer.error_text()
        assert "lat" in text or "address" in text or "location" in text, text
        assert not Appeal.objects.exists()

    def test_lat_without_long(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        refused(api.post("requests", "json", **request_form(api_key, long=None)), 400, "long")

    def test_no_service_code(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("requests", fmt, **request_form(api_key, service_code=None))
        refused(answer, 400, "service_code")

    def test_an_empty_service_code_is_missing(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        refused(api.post("requests", "json", **request_form(api_key, service_code="")), 400)

    def test_an_unknown_service_code(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        """The specification lists 404 for a service_code not found (400 is accepted too)."""
        answer = api.post("requests", fmt, **request_form(api_key, service_code="NOPE"))
        assert answer.status in (400, 404)
        assert "service_code" in answer.error_text()
        assert not Appeal.objects.exists()

    def test_a_branch_of_the_catalogue_is_not_a_service(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        answer = api.post("requests", "json", **request_form(api_key, service_code="T-M1"))
        assert answer.status in (400, 404)

    @pytest.mark.parametrize(
        ("lat", "long", "named"),
        [
            ("abc", "0.5", "lat"),
            ("91", "0.5", "lat"),
            ("-90.5", "0.5", "lat"),
            ("0.5", "181", "long"),
            ("0.5", "east", "long"),
            ("nan", "0.5", "lat"),
            ("inf", "0.5", "lat"),
        ],
    )
    def test_a_bad_coordinate(
        self,
        o311: dict[str, Any],
        api: Open311,
        api_key: str,
        fmt: str,
        lat: str,
        long: str,
        named: str,
    ) -> None:
        refused(api.post("requests", fmt, **request_form(api_key, lat=lat, long=long)), 400, named)
        assert not Appeal.objects.exists()

    def test_a_description_over_4000_characters(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("requests", fmt, **request_form(api_key, description="x" * 4001))
        refused(answer, 400, "description")
        assert not Appeal.objects.exists()

    def test_a_bad_email(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        answer = api.post("requests", "json", **request_form(api_key, email="not-an-address"))
        refused(answer, 400, "email")

    def test_a_bad_media_url(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        answer = api.post("requests", "json", **request_form(api_key, media_url="not a url"))
        refused(answer, 400, "media_url")

    def test_no_api_key(self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str) -> None:
        refused(api.post("requests", fmt, **request_form(api_key, api_key=None)), 403, "api_key")
        assert not Appeal.objects.exists()

    def test_an_empty_api_key(self, o311: dict[str, Any], api: Open311, api_key: str) -> None:
        refused(api.post("requests", "json", **request_form(api_key, api_key="")), 403)

    def test_a_wrong_api_key(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        answer = api.post("requests", fmt, **request_form(api_key, api_key=api_key + "x"))
        refused(answer, 403, "api_key")
        assert not Appeal.objects.exists()

    def test_a_revoked_api_key(
        self,
        o311: dict[str, Any],
        api: Open311,
        api_key_row: Any,
        api_key: str,
        fmt: str,
    ) -> None:
        create(api, api_key)  # works before
        with transaction.atomic():
            org_services.revoke_api_key(actor="test", key=api_key_row[0], reason="leaked")
        refused(api.post("requests", fmt, **request_form(api_key)), 403, "api_key")
        assert Appeal.objects.count() == 1

    def test_a_key_without_the_submit_scope(self, o311: dict[str, Any], api: Open311) -> None:
        with transaction.atomic():
            _, clear = org_services.create_api_key(
                actor="test", name="reader", scopes=["reference:read"]
            )
        refused(api.post("requests", "json", **request_form(clear)), 403)

    def test_the_key_is_not_taken_from_the_query_string_of_a_get(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        """GET requests lists; it never creates, whatever parameters come with it."""
        api.get("requests", "json", **request_form(api_key))
        assert not Appeal.objects.exists()


# -- attributes ------------------------------------------------------------------------------------


def form_request(key: str, **answers: Any) -> dict[str, Any]:
    """A request for FORM with the required answers, changed by ``answers`` (None drops)."""
    return request_form(key, service_code=FORM, **{**FORM_ANSWERS, **answers})


class TestAttributes:
    def test_every_datatype_answered_is_kept(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str
    ) -> None:
        form = form_request(
            api_key,
            **{
                "attribute[height]": "4.5",
                "attribute[noticed]": "2026-11-20T21:15:00+08:00",
                "attribute[details]": "The lamp flickers, then goes dark.\nEvery night.",
                "attribute[hazards][]": ["wires", "glass"],
            },
        )
        answer = api.post("requests", fmt, kind="created", **form)
        assert answer.status == 201, answer.body
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert appeal.matter is not None and appeal.matter.code == FORM
        kept = appeal.open311.attributes
        assert kept["pole"] == "SL-0042"
        assert kept["colour"] == "dark"
        assert float(kept["height"]) == 4.5
        assert "2026-11-20" in str(kept["noticed"])
        assert "Every night." in kept["details"]
        assert sorted(kept["hazards"]) == ["glass", "wires"]

    def test_only_the_required_answers(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        answer = api.post("requests", "json", kind="created", **form_request(api_key))
        assert answer.status == 201, answer.body

    def test_one_choice_of_a_multivaluelist(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        form = form_request(api_key, **{"attribute[hazards][]": "leaning"})
        answer = api.post("requests", "json", kind="created", **form)
        assert answer.status == 201, answer.body
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert appeal.open311.attributes["hazards"] == ["leaning"]

    @pytest.mark.parametrize("code", ["pole", "colour"])
    def test_a_missing_required_answer_is_named(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str, code: str
    ) -> None:
        answer = api.post("requests", fmt, **form_request(api_key, **{f"attribute[{code}]": None}))
        refused(answer, 400, code)
        assert not Appeal.objects.exists()

    @pytest.mark.parametrize("code", ["pole", "colour"])
    def test_an_empty_required_answer_is_missing(
        self, o311: dict[str, Any], api: Open311, api_key: str, code: str
    ) -> None:
        answer = api.post("requests", "json", **form_request(api_key, **{f"attribute[{code}]": ""}))
        refused(answer, 400, code)

    @pytest.mark.parametrize(
        ("field", "value", "code"),
        [
            ("attribute[height]", "tall", "height"),
            ("attribute[height]", "4,5", "height"),
            ("attribute[noticed]", "yesterday", "noticed"),
            ("attribute[noticed]", "2026-13-45T25:00:00Z", "noticed"),
            ("attribute[colour]", "purple", "colour"),
            ("attribute[colour][]", ["red", "amber"], "colour"),
            ("attribute[hazards][]", ["wires", "fire"], "hazards"),
            ("attribute[hazards][]", "fire", "hazards"),
        ],
    )
    def test_a_bad_answer_is_named(
        self,
        o311: dict[str, Any],
        api: Open311,
        api_key: str,
        fmt: str,
        field: str,
        value: Any,
        code: str,
    ) -> None:
        overrides: dict[str, Any] = {field: value}
        if field == "attribute[colour][]":
            overrides["attribute[colour]"] = None
        answer = api.post("requests", fmt, **form_request(api_key, **overrides))
        refused(answer, 400, code)
        assert not Appeal.objects.exists()

    @pytest.mark.parametrize("code", ["height", "noticed", "details", "hazards"])
    def test_empty_optional_answers_are_absent(
        self, o311: dict[str, Any], api: Open311, api_key: str, code: str
    ) -> None:
        key = f"attribute[{code}][]" if code == "hazards" else f"attribute[{code}]"
        answer = api.post("requests", "json", kind="created", **form_request(api_key, **{key: ""}))
        assert answer.status == 201, answer.body
        appeal = Appeal.objects.get(ticket=answer.one()["service_request_id"])
        assert appeal.open311.attributes.get(code) in (None, "", [])

    def test_a_service_without_attributes_ignores_none(
        self, o311: dict[str, Any], api: Open311, api_key: str
    ) -> None:
        assert create(api, api_key)  # LIFT: no attribute[...] needed


# -- deferred creation: tokens ---------------------------------------------------------------------


class TestTokens:
    def test_a_token_then_the_id_once_background_work_ran(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str, settings: Any
    ) -> None:
        from civitas.open311 import server

        settings.CIVITAS_OPEN311_DEFER = True
        answer = api.post("requests", fmt, kind="deferred", **request_form(api_key))
        assert answer.status in (200, 201), answer.body
        token = str(answer.one()["token"])
        assert "service_request_id" not in answer.one() or not answer.one()["service_request_id"]
        assert not Appeal.objects.exists()

        waiting = api.get(f"tokens/{token}", fmt, kind="token")
        assert waiting.status == 200
        assert waiting.one()["token"] == token
        assert waiting.one()["service_request_id"] in ("", None)

        server.process_pending()
        done = api.get(f"tokens/{token}", fmt, kind="token")
        ticket = done.one()["service_request_id"]
        appeal = Appeal.objects.get(ticket=ticket)
        assert appeal.channel == Channel.OPEN311
        assert appeal.status == Status.DISPATCHED
        assert CONTACT["last_name"] in appeal.contact.name
        # and the id now answers requests/<id>
        assert api.get(f"requests/{ticket}", fmt, kind="record").one()["service_request_id"] == (
            ticket
        )

    def test_run_pending_is_the_scheduled_entry(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        from civitas.open311 import tasks

        settings.CIVITAS_OPEN311_DEFER = True
        token = api.post("requests", "json", kind="deferred", **request_form(api_key)).one()[
            "token"
        ]
        tasks.run_pending()
        assert api.get(f"tokens/{token}", "json", kind="token").one()["service_request_id"]

    def test_the_pending_payload_is_emptied_once_created(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        from civitas.open311 import server
        from civitas.open311.models import PendingRequest

        settings.CIVITAS_OPEN311_DEFER = True
        api.post("requests", "json", kind="deferred", **request_form(api_key))
        server.process_pending()
        pending = PendingRequest.objects.get()
        assert CONTACT["email"] not in str(pending.payload)
        assert CONTACT["phone"] not in str(pending.payload)

    def test_bad_input_is_refused_at_once_not_later(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_DEFER = True
        refused(api.post("requests", "json", **request_form(api_key, lat="abc")), 400, "lat")
        refused(api.post("requests", "json", **request_form(api_key, api_key="bad")), 403)
        answer = api.post("requests", "json", **form_request(api_key, **{"attribute[pole]": None}))
        refused(answer, 400, "pole")

    def test_an_unknown_token_is_404(self, o311: dict[str, Any], api: Open311, fmt: str) -> None:
        refused(api.get("tokens/no-such-token", fmt), 404)

    def test_tokens_are_unguessable(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_DEFER = True
        tokens = {
            api.post("requests", "json", kind="deferred", **request_form(api_key)).one()["token"]
            for _ in range(3)
        }
        assert len(tokens) == 3 and all(len(str(t)) >= 16 for t in tokens)


# -- rate limits -----------------------------------------------------------------------------------


class TestRateLimit:
    def test_posts_over_the_rate_of_a_key_are_429_with_retry_after(
        self, o311: dict[str, Any], api: Open311, api_key: str, fmt: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_POST_RATE = "2/m"
        create(api, api_key, fmt)
        create(api, api_key, fmt)
        answer = api.post("requests", fmt, **request_form(api_key))
        assert answer.status == 429, answer.body
        assert int(answer.headers["Retry-After"]) > 0
        assert [int(e["code"]) for e in answer.errors()] == [429]
        assert Appeal.objects.count() == 2

    def test_the_limit_is_per_key(
        self, o311: dict[str, Any], api: Open311, api_key: str, settings: Any
    ) -> None:
        settings.CIVITAS_OPEN311_POST_RATE = "1/m"
        create(api, api_key)
        assert api.post("requests", "json", **request_form(api_key)).status == 429
        with transaction.atomic():
            _, other = org_services.create_api_key(
                actor="test", name="Another app", scopes=["appeals:submit"]
            )
        assert create(api, other)
