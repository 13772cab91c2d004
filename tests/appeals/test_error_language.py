"""Refusals speak the reader's language: English by default, Simplified Chinese when the
reader asks for it (the active language in a service call; Accept-Language or the language
cookie through the API)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import translation

from civitas.appeals import services
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Status
from civitas.kit.errors import Forbidden, InvalidInput
from tests.appeals.conftest import fresh, submit
from tests.web.test_translation import compiled_messages  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_messages")]


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def resolved(c: dict[str, Any]) -> Appeal:
    a = submit(c).appeal
    with transaction.atomic():
        services.accept(actor=c["handler"], appeal=a)
        services.resolve(actor=c["handler"], appeal=fresh(a), result="Repaired")
    return fresh(a)


def accept_url(appeal: Appeal) -> str:
    return f"/api/appeals/{appeal.ticket}/actions/accept"


class TestServiceMessages:
    def test_an_illegal_move_in_english_by_default(self, case_city: dict[str, Any]) -> None:
        a = resolved(case_city)
        with (
            translation.override("en"),
            pytest.raises(wf.IllegalMove) as exc,
            transaction.atomic(),
        ):
            services.accept(actor=case_city["handler"], appeal=a)
        assert exc.value.message == f"cannot accept {a.ticket} while it is Resolved"

    def test_an_illegal_move_in_chinese(self, case_city: dict[str, Any]) -> None:
        a = resolved(case_city)
        with (
            translation.override("zh-hans"),
            pytest.raises(wf.IllegalMove) as exc,
            transaction.atomic(),
        ):
            services.accept(actor=case_city["handler"], appeal=a)
        message = exc.value.message
        assert message == f"工单{a.ticket}当前状态为“已办结”，不能执行“签收”操作"
        assert exc.value.details == {"status": Status.RESOLVED, "action": "accept"}

    def test_the_wrong_party_in_chinese(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city).appeal
        with (
            translation.override("zh-hans"),
            pytest.raises(Forbidden) as exc,
            transaction.atomic(),
        ):
            services.accept(actor=case_city["resident"], appeal=a)
        assert exc.value.message == f"您无权对工单{a.ticket}执行“签收”操作"

    def test_a_missing_reason_in_chinese(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city).appeal
        with (
            translation.override("zh-hans"),
            pytest.raises(InvalidInput) as exc,
            transaction.atomic(),
        ):
            services.return_case(actor=case_city["handler"], appeal=a, reason=" ")
        assert exc.value.message == "请填写退单理由"
        assert exc.value.details == {"field": "reason"}

    def test_every_action_has_a_label_in_both_languages(self) -> None:
        assert set(wf.ACTION_LABELS) == set(wf.TRANSITIONS)
        with translation.override("zh-hans"):
            untranslated = [a for a in wf.TRANSITIONS if not has_chinese(wf.action_label(a))]
        assert untranslated == []
        with translation.override("en"):
            assert wf.action_label("accept") == "accept"


class TestApiMessages:
    def test_accept_language_chooses_chinese(self, case_city: dict[str, Any]) -> None:
        a = resolved(case_city)
        client = Client()
        client.force_login(case_city["handler"])
        r = client.post(
            accept_url(a), {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )
        assert r.status_code == 409
        error = r.json()["error"]
        assert error["code"] == "illegal_transition"  # codes stay stable in every language
        assert error["message"] == f"工单{a.ticket}当前状态为“已办结”，不能执行“签收”操作"

    def test_the_language_cookie_chooses_chinese(self, case_city: dict[str, Any]) -> None:
        a = submit(case_city).appeal
        client = Client()
        client.force_login(case_city["handler"])
        client.cookies["civitas_language"] = "zh-hans"
        r = client.post(
            f"/api/appeals/{a.ticket}/actions/return", {}, content_type="application/json"
        )
        assert r.status_code == 422
        assert r.json()["error"]["message"] == "请填写退单理由"

    def test_english_without_a_preference(self, case_city: dict[str, Any]) -> None:
        a = resolved(case_city)
        client = Client()
        client.force_login(case_city["handler"])
        r = client.post(accept_url(a), {}, content_type="application/json")
        assert r.status_code == 409
        message = r.json()["error"]["message"]
        assert message == f"cannot accept {a.ticket} while it is Resolved"
        assert not has_chinese(message)
