"""The appeals JSON API: submission with idempotency, scoped reading, actions, tracking."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.appeals import services
from civitas.appeals.models import Appeal, Channel, Status
from civitas.org import services as org_services
from civitas.org.models import Role, Unit
from tests.appeals.conftest import fresh, submit
from tests.factories import member

BODY = {
    "city": "T",
    "text": "The lift in building 3 is broken again",
    "kind": "complaint",
    "lat": 0.5,
    "lon": 0.5,
    "contact": {"name": "Li Lei", "phone": "13800000000"},
}


def key_client(unit: Unit | None, scopes: list[str]) -> Client:
    with transaction.atomic():
        _, clear = org_services.create_api_key(actor="test", name="app", scopes=scopes, unit=unit)
    return Client(headers={"X-Api-Key": clear})


def person(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


@pytest.mark.django_db
class TestSubmitWithAnApiKey:
    def test_creates_an_appeal_and_returns_the_token_once(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        r = post(client, "/api/appeals", BODY, **{"Idempotency-Key": "k-1"})
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["ticket"].startswith("T-") and body["token"]
        assert body["status"] == Status.DISPATCHED and body["lead_unit"] == "T-D1-HOUSING"
        appeal = Appeal.objects.get(ticket=body["ticket"])
        assert appeal.channel == Channel.API and appeal.resident is None
        assert "Idempotent-Replayed" not in r.headers

    def test_a_retry_returns_the_first_appeal(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        first = post(client, "/api/appeals", BODY, **{"Idempotency-Key": "k-1"}).json()
        again = post(client, "/api/appeals", BODY, **{"Idempotency-Key": "k-1"})
        assert again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["ticket"] == first["ticket"] and again.json()["token"] is None
        assert Appeal.objects.count() == 1

    def test_the_same_key_with_another_body_is_refused(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        post(client, "/api/appeals", BODY, **{"Idempotency-Key": "k-1"})
        other = post(
            client, "/api/appeals", {**BODY, "text": "Noise at night"}, **{"Idempotency-Key": "k-1"}
        )
        assert other.status_code == 422
        assert other.json()["error"]["code"] == "idempotency_mismatch"
        assert Appeal.objects.count() == 1

    def test_without_a_key_each_post_is_a_new_appeal(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        a = post(client, "/api/appeals", BODY).json()["ticket"]
        b = post(client, "/api/appeals", BODY).json()["ticket"]
        assert a != b

    def test_a_key_without_the_submit_scope_is_refused(self, case_city: dict[str, Any]) -> None:
        r = post(key_client(case_city["centre"], ["appeals:read"]), "/api/appeals", BODY)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"

    def test_anonymous_callers_are_refused(self, case_city: dict[str, Any]) -> None:
        assert post(Client(), "/api/appeals", BODY).status_code == 401


@pytest.mark.django_db
class TestSubmitValidation:
    def test_a_missing_field_is_named(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        r = post(client, "/api/appeals", {k: v for k, v in BODY.items() if k != "text"})
        assert r.status_code == 422
        assert [d["field"] for d in r.json()["error"]["details"]] == ["text"]

    def test_a_bad_value_is_named(self, case_city: dict[str, Any]) -> None:
        client = key_client(None, ["appeals:submit"])
        r = post(client, "/api/appeals", {**BODY, "kind": "rant", "lat": 95})
        assert r.status_code == 422
        fields = {d["field"] for d in r.json()["error"]["details"]}
        assert fields == {"kind", "lat"}
        assert Appeal.objects.count() == 0


@pytest.mark.django_db
class TestSubmitAsAPerson:
    def test_a_resident_submits_through_the_web_channel(self, case_city: dict[str, Any]) -> None:
        r = post(person(case_city["resident"]), "/api/appeals", BODY)
        assert r.status_code == 201
        appeal = Appeal.objects.get(ticket=r.json()["ticket"])
        assert appeal.channel == Channel.WEB and appeal.resident == case_city["resident"]

    def test_an_operator_enters_a_call_on_behalf(self, case_city: dict[str, Any]) -> None:
        body = {**BODY, "contact": {"name": "Wang", "phone": "139", "on_behalf_of": "his mother"}}
        r = post(person(case_city["operator"]), "/api/appeals", body)
        appeal = Appeal.objects.get(ticket=r.json()["ticket"])
        assert appeal.channel == Channel.HOTLINE and appeal.resident is None
        assert appeal.contact.on_behalf_of == "his mother"

    def test_a_grid_worker_reports_through_the_grid_channel(
        self, case_city: dict[str, Any]
    ) -> None:
        worker = member("grid", Role.GRID_WORKER, case_city["T-D1-S1-office"])
        r = post(person(worker), "/api/appeals", BODY)
        assert Appeal.objects.get(ticket=r.json()["ticket"]).channel == Channel.GRID

    def test_a_resident_cannot_claim_the_hotline_channel(self, case_city: dict[str, Any]) -> None:
        r = post(person(case_city["resident"]), "/api/appeals", {**BODY, "channel": "hotline"})
        assert Appeal.objects.get(ticket=r.json()["ticket"]).channel == Channel.WEB


def _two_districts(c: dict[str, Any]) -> tuple[Appeal, Appeal]:
    d1 = submit(c).appeal
    d2 = submit(c, lat=0.5, lon=2.5).appeal
    assert d1.lead_unit.code == "T-D1-HOUSING" and d2.lead_unit.code == "T-D2-HOUSING"
    return d1, d2


@pytest.mark.django_db
class TestListIsScoped:
    def test_a_district_key_sees_only_its_district(self, case_city: dict[str, Any]) -> None:
        d1, d2 = _two_districts(case_city)
        client = key_client(case_city["T-D1-centre"], ["appeals:read"])
        body = client.get("/api/appeals").json()
        assert [a["ticket"] for a in body["items"]] == [d1.ticket]
        assert client.get(f"/api/appeals/{d2.ticket}").status_code == 404
        assert client.get(f"/api/appeals/{d1.ticket}").status_code == 200

    def test_a_key_without_the_read_scope_sees_nothing(self, case_city: dict[str, Any]) -> None:
        _two_districts(case_city)
        client = key_client(case_city["centre"], ["appeals:submit"])
        assert client.get("/api/appeals").json()["items"] == []

    def test_a_resident_sees_their_own_appeals(self, case_city: dict[str, Any]) -> None:
        d1, _ = _two_districts(case_city)
        other = submit(case_city)
        Appeal.objects.filter(pk=other.appeal.pk).update(resident=None)
        items = person(case_city["resident"]).get("/api/appeals").json()["items"]
        assert other.appeal.ticket not in {a["ticket"] for a in items}
        assert d1.ticket in {a["ticket"] for a in items}

    def test_filters(self, case_city: dict[str, Any]) -> None:
        d1, d2 = _two_districts(case_city)
        with transaction.atomic():
            services.accept(actor=case_city["handler"], appeal=d1)
        client = person(case_city["dispatcher"])

        def tickets(query: str) -> list[str]:
            r = client.get(f"/api/appeals?{query}")
            assert r.status_code == 200, r.content
            return [a["ticket"] for a in r.json()["items"]]

        assert tickets("status=accepted") == [d1.ticket]
        assert set(tickets("status=accepted,dispatched")) == {d1.ticket, d2.ticket}
        assert tickets("jurisdiction=T-D2") == [d2.ticket]
        assert tickets("jurisdiction=T-D2-S1-C1") == [d2.ticket]
        assert tickets("lead_unit=T-D1-HOUSING") == [d1.ticket]
        assert set(tickets("matter=T-M1")) == {d1.ticket, d2.ticket}
        assert tickets("received_after=2999-01-01T00:00:00Z") == []
        assert len(tickets("received_before=2999-01-01T00:00:00Z")) == 2
        assert client.get("/api/appeals?status=lost").status_code == 422
        assert client.get("/api/appeals?limit=1").json()["count"] == 2


@pytest.mark.django_db
class TestCaseView:
    def test_contact_is_hidden_from_co_handlers(self, case_city: dict[str, Any]) -> None:
        c = case_city
        appeal = submit(c).appeal
        with transaction.atomic():
            services.add_co_handler(
                actor=c["dispatcher"], appeal=appeal, unit=c["T-D2-housing"], part="the pump"
            )
        lead = person(c["handler"]).get(f"/api/appeals/{appeal.ticket}").json()
        co = person(c["other_handler"]).get(f"/api/appeals/{appeal.ticket}")
        assert lead["contact"]["phone"] == "13800000000"
        assert co.status_code == 200 and co.json()["contact"] is None
        assert "13800000000" not in co.content.decode()

    def test_internal_events_only_for_staff(self, case_city: dict[str, Any]) -> None:
        c = case_city
        appeal = submit(c).appeal
        with transaction.atomic():
            services.internal_note(actor=c["handler"], appeal=appeal, note="caller is rude")
        staff = person(c["handler"]).get(f"/api/appeals/{appeal.ticket}").json()
        mine = person(c["resident"]).get(f"/api/appeals/{appeal.ticket}").json()
        assert "internal_note" in [e["action"] for e in staff["events"]]
        assert "internal_note" not in [e["action"] for e in mine["events"]]
        assert mine["assignments"] == [] and "accept" in staff["allowed_actions"]


@pytest.mark.django_db
class TestActions:
    def url(self, appeal: Appeal, action: str) -> str:
        return f"/api/appeals/{appeal.ticket}/actions/{action}"

    def test_the_handler_accepts_and_a_second_accept_is_409(
        self, case_city: dict[str, Any]
    ) -> None:
        appeal = submit(case_city).appeal
        client = person(case_city["handler"])
        r = post(client, self.url(appeal, "accept"), {"version": appeal.version})
        assert r.status_code == 200 and r.json()["status"] == Status.ACCEPTED
        again = post(client, self.url(appeal, "accept"), {})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "illegal_transition"

    def test_a_stale_version_is_409(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        seen = appeal.version
        with transaction.atomic():
            services.internal_note(actor=case_city["dispatcher"], appeal=appeal, note="x")
        r = post(person(case_city["handler"]), self.url(appeal, "accept"), {"version": seen})
        assert r.status_code == 409 and r.json()["error"]["code"] == "stale_case"
        assert fresh(appeal).status == Status.DISPATCHED

    def test_the_wrong_party_is_403(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        r = post(person(case_city["resident"]), self.url(appeal, "accept"), {})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"

    def test_someone_who_cannot_see_the_case_gets_404(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        r = post(person(case_city["other_handler"]), self.url(appeal, "accept"), {})
        assert r.status_code == 404

    def test_a_missing_reason_is_422_naming_the_field(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        r = post(person(case_city["handler"]), self.url(appeal, "return"), {})
        assert r.status_code == 422 and r.json()["error"]["details"] == {"field": "reason"}

    def test_an_unknown_action_is_404(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        assert post(person(case_city["handler"]), self.url(appeal, "fly"), {}).status_code == 404

    def test_the_path_from_return_to_rating(self, case_city: dict[str, Any]) -> None:
        c = case_city
        appeal = submit(c).appeal
        h, d, ld = person(c["handler"]), person(c["dispatcher"]), person(c["leader"])
        steps = [
            (h, "return", {"reason": "not ours"}, Status.RETURNED),
            (d, "arbitrate", {"unit": "T-D1-HOUSING", "reason": "it is"}, Status.DISPATCHED),
            (h, "accept", {}, Status.ACCEPTED),
            (h, "request_extension", {"days": 3, "reason": "parts"}, Status.ACCEPTED),
            (ld, "decide_extension", {"approve": True}, Status.ACCEPTED),
            (h, "whistle", {"units": ["T-D2-HOUSING"], "note": "help"}, Status.ACCEPTED),
            (person(c["other_handler"]), "report_summons", {"note": "here"}, Status.ACCEPTED),
            (h, "resolve", {"result": "Repaired"}, Status.RESOLVED),
            (
                person(c["resident"]),
                "rate",
                {"responded": True, "solved": True, "satisfaction": "satisfied"},
                Status.CLOSED,
            ),
        ]
        for client, action, body, status in steps:
            r = post(client, self.url(appeal, action), body)
            assert r.status_code == 200, (action, r.content)
            assert r.json()["status"] == status, action
        case = fresh(appeal)
        assert case.arbitrated and case.summonses.get().reported_at is not None
        assert post(h, self.url(appeal, "return"), {"reason": "x"}).status_code == 409


@pytest.mark.django_db
class TestTracking:
    def test_the_resident_sees_public_steps_only(self, case_city: dict[str, Any]) -> None:
        c = case_city
        done = submit(c)
        with transaction.atomic():
            services.internal_note(actor=c["handler"], appeal=done.appeal, note="SECRET remark")
            services.accept(actor=c["handler"], appeal=done.appeal)
            services.reply(actor=c["handler"], appeal=done.appeal, text="We are on it")
        r = Client().get(f"/api/track/{done.token}")
        assert r.status_code == 200
        body = r.json()
        assert body["ticket"] == done.appeal.ticket and body["status"] == Status.ACCEPTED
        actions = [e["action"] for e in body["events"]]
        assert "internal_note" not in actions and "reply" in actions
        text = r.content.decode()
        assert "SECRET" not in text and "handler" not in text and "user:" not in text
        assert "13800000000" not in text and "We are on it" in text

    def test_an_unknown_token_is_404(self, case_city: dict[str, Any]) -> None:
        submit(case_city)
        assert Client().get("/api/track/not-a-token").status_code == 404

    def test_the_resident_answers_and_rates_without_an_account_or_csrf(
        self, case_city: dict[str, Any]
    ) -> None:
        c = case_city
        done = submit(c)
        client = Client(enforce_csrf_checks=True)
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=done.appeal)
            services.request_info(actor=c["handler"], appeal=done.appeal, question="Which floor?")
        assert client.get(f"/api/track/{done.token}").json()["can_answer"] is True
        r = post(client, f"/api/track/{done.token}/info", {"answer": "Floor 7"})
        assert r.status_code == 200 and r.json()["status"] == Status.ACCEPTED
        bad = post(
            client,
            f"/api/track/{done.token}/rate",
            {"responded": True, "solved": True, "satisfaction": "satisfied"},
        )
        assert bad.status_code == 409  # not resolved yet
        with transaction.atomic():
            services.resolve(actor=c["handler"], appeal=done.appeal, result="Fixed")
        r = post(
            client,
            f"/api/track/{done.token}/rate",
            {"responded": True, "solved": False, "satisfaction": "dissatisfied", "comment": "no"},
        )
        assert r.status_code == 200 and r.json()["status"] == Status.DISPATCHED
        assert fresh(done.appeal).reopen_count == 1
        rated = fresh(done.appeal).ratings.get()
        assert rated.recorded_by == f"resident-token:{done.appeal.pk}"

    def test_a_bad_satisfaction_is_422(self, case_city: dict[str, Any]) -> None:
        done = submit(case_city)
        r = post(
            Client(),
            f"/api/track/{done.token}/rate",
            {"responded": True, "solved": True, "satisfaction": "meh"},
        )
        assert r.status_code == 422


@pytest.mark.django_db
class TestApiKeysHandleForTheirUnit:
    def url(self, appeal: Appeal, action: str) -> str:
        return f"/api/appeals/{appeal.ticket}/actions/{action}"

    def test_a_handle_key_of_the_lead_unit_accepts_and_resolves(
        self, case_city: dict[str, Any]
    ) -> None:
        appeal = submit(case_city).appeal
        client = key_client(case_city["T-D1-housing"], ["appeals:handle"])
        assert post(client, self.url(appeal, "accept"), {}).status_code == 200
        r = post(client, self.url(appeal, "resolve"), {"result": "Repaired"})
        assert r.status_code == 200 and r.json()["status"] == Status.RESOLVED
        assert fresh(appeal).events.get(action="resolve").actor.startswith("apikey")

    def test_a_read_only_key_may_not_act(self, case_city: dict[str, Any]) -> None:
        appeal = submit(case_city).appeal
        client = key_client(case_city["T-D1-housing"], ["appeals:read"])
        assert client.get(f"/api/appeals/{appeal.ticket}").status_code == 200
        assert post(client, self.url(appeal, "accept"), {}).status_code == 403

    def test_a_centre_key_dispatches_within_its_area(self, case_city: dict[str, Any]) -> None:
        c = case_city
        appeal = submit(c, lat=None, lon=None).appeal
        client = key_client(c["centre"], ["appeals:handle"])
        r = post(client, self.url(appeal, "relocate"), {"jurisdiction": "T-D1-S1-C1"})
        assert r.status_code == 200, r.content
        r = post(client, self.url(appeal, "dispatch"), {"unit": "T-D1-HOUSING"})
        assert r.status_code == 200 and r.json()["lead_unit"] == "T-D1-HOUSING"
        other = key_client(c["T-D2-centre"], ["appeals:handle"])
        assert post(other, self.url(appeal, "escalate"), {}).status_code == 404
