"""Fixes after the review of issue 8: free texts have length limits, times make sense (no
session before the dispute, no result before the session, no agreement signed before the
dispute), and people who may not see the parties read no phone, identity number or e-mail
typed into a title or summary, nor the notes, minutes and agreements that name the parties."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from civitas.kit import clock
from civitas.kit.errors import InvalidInput
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.mediation import figures, services
from civitas.mediation.models import Dispute, FollowUp, Session
from tests.mediation.helpers import register

pytestmark = pytest.mark.django_db

PHONE = "13800000009"
ID_NUMBER = "110101199003071234"
TITLE = f"Leak at Wang's (call {PHONE})"
SUMMARY = f"Wang Fang (ID {ID_NUMBER}, wang.fang@example.com) says the flat above leaks."


def _as(user: Any) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def _mediating(med: dict[str, Any], **kw: Any) -> tuple[Dispute, Session]:
    d = register(med, **kw)
    d = services.accept(actor=med["mediator_c"], dispute=d, version=d.version)
    s = services.schedule_session(
        actor=med["mediator_c"],
        dispute=d,
        scheduled_at=clock.now() + timedelta(hours=1),
        place="Hall",
        mediators=[med["mediator_c"]],
    )
    return Dispute.objects.get(pk=d.pk), s


def _field(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    return str(exc.value.details["field"])


# -- times -----------------------------------------------------------------------------------


def test_a_session_before_the_dispute_was_received_is_refused(med: dict[str, Any]) -> None:
    d = services.accept(actor=med["mediator_c"], dispute=register(med))
    with pytest.raises(InvalidInput) as err:
        services.schedule_session(
            actor=med["mediator_c"],
            dispute=d,
            scheduled_at=d.received_at - timedelta(minutes=1),
            place="Hall",
            mediators=[med["mediator_c"]],
        )
    assert _field(err) == "scheduled_at"
    assert not Session.objects.filter(dispute=d).exists()
    s = services.schedule_session(
        actor=med["mediator_c"],
        dispute=d,
        scheduled_at=d.received_at,
        place="Hall",
        mediators=[med["mediator_c"]],
    )
    assert s.number == 1


@pytest.mark.parametrize("result", [Session.Result.AGREED, Session.Result.NO_SHOW])
def test_no_result_before_the_session_time(med: dict[str, Any], result: str) -> None:
    _, s = _mediating(med)
    with pytest.raises(InvalidInput) as err:
        services.record_session(actor=med["mediator_c"], session=s, result=result, minutes="m")
    assert _field(err) == "result"
    s.refresh_from_db()
    assert (s.result, s.held) == ("", False)
    with clock.frozen(s.scheduled_at + timedelta(hours=1)):
        s = services.record_session(actor=med["mediator_c"], session=s, result=result, minutes="m")
    assert s.result == result


def test_an_agreement_is_not_signed_before_the_dispute_was_received(med: dict[str, Any]) -> None:
    d, _ = _mediating(med)
    with pytest.raises(InvalidInput) as err:
        services.record_agreement(
            actor=med["mediator_c"],
            dispute=d,
            facts="f",
            terms="t",
            signed_on=d.received_at.date() - timedelta(days=30),
        )
    assert _field(err) == "signed_on"
    assert not d.agreements.exists()


# -- length limits ---------------------------------------------------------------------------


def test_minutes_and_attendees_are_capped(med: dict[str, Any]) -> None:
    _, s = _mediating(med)
    with clock.frozen(s.scheduled_at + timedelta(hours=1)):
        for kw, fld in (
            ({"minutes": "m" * (services.MINUTES_MAX + 1)}, "minutes"),
            ({"attendees": "a" * (services.ATTENDEES_MAX + 1)}, "attendees"),
        ):
            args: dict[str, Any] = {"minutes": "m", "attendees": "A, B", **kw}
            with pytest.raises(InvalidInput) as err:
                services.record_session(
                    actor=med["mediator_c"], session=s, result=Session.Result.CONTINUE, **args
                )
            assert _field(err) == fld
            assert str(getattr(services, f"{fld.upper()}_MAX")) in err.value.message
        s = services.record_session(
            actor=med["mediator_c"],
            session=s,
            result=Session.Result.CONTINUE,
            minutes="m" * services.MINUTES_MAX,
            attendees="a" * services.ATTENDEES_MAX,
        )
    assert len(s.minutes) == services.MINUTES_MAX


def test_summary_is_capped(med: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        register(med, summary="s" * (services.SUMMARY_MAX + 1))
    assert "summary" in err.value.details["fields"] or err.value.details.get("field") == "summary"


def test_agreement_texts_are_capped(med: dict[str, Any]) -> None:
    d, _ = _mediating(med)
    long = "x" * (services.AGREEMENT_MAX + 1)
    for kw, fld in (({"facts": long}, "facts"), ({"terms": long}, "terms")):
        args: dict[str, Any] = {"facts": "f", "terms": "t", **kw}
        with pytest.raises(InvalidInput) as err:
            services.record_agreement(
                actor=med["mediator_c"], dispute=d, signed_on=clock.today(), **args
            )
        assert _field(err) == fld


def test_notes_and_reasons_are_capped(med: dict[str, Any]) -> None:
    long = "n" * (services.NOTE_MAX + 1)
    d = register(med)
    with pytest.raises(InvalidInput) as err:
        services.accept(actor=med["mediator_c"], dispute=d, note=long)
    assert _field(err) == "note"
    d, _ = _mediating(med)
    for call, fld in (
        (lambda: services.fail(actor=med["mediator_c"], dispute=d, reason=long), "reason"),
        (lambda: services.withdraw(actor=med["mediator_c"], dispute=d, reason=long), "reason"),
        (
            lambda: services.refer(actor=med["mediator_c"], dispute=d, channel="court", note=long),
            "note",
        ),
        (
            lambda: services.close(
                actor=med["mediator_c"], dispute=d, outcome="unresolved", note=long
            ),
            "note",
        ),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert _field(err) == fld
    assert Dispute.objects.get(pk=d.pk).status == d.status


def test_a_follow_up_note_is_capped(med: dict[str, Any]) -> None:
    d, _ = _mediating(med)
    services.record_agreement(
        actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=clock.today()
    )
    f = FollowUp.objects.get(dispute=d)
    with pytest.raises(InvalidInput) as err:
        services.record_follow_up(
            actor=med["mediator_c"],
            follow_up=f,
            kept=False,
            method=FollowUp.Method.VISIT,
            note="n" * (services.NOTE_MAX + 1),
        )
    assert _field(err) == "note"
    f.refresh_from_db()
    assert f.done_at is None


# -- who reads what --------------------------------------------------------------------------


def _filled(med: dict[str, Any]) -> Dispute:
    d, s = _mediating(med, title=TITLE, summary=SUMMARY)
    with clock.frozen(s.scheduled_at + timedelta(hours=1)):
        services.record_session(
            actor=med["mediator_c"],
            session=s,
            result=Session.Result.CONTINUE,
            minutes="MINUTES-SECRET Wang and Li met",
            attendees="ATTENDEES-SECRET",
        )
        services.record_agreement(
            actor=med["mediator_c"],
            dispute=d,
            facts="FACTS-SECRET",
            terms="TERMS-SECRET",
            signed_on=clock.today(),
        )
        f = FollowUp.objects.get(dispute=d)
        services.record_follow_up(
            actor=med["mediator_c"],
            follow_up=f,
            kept=False,
            method=FollowUp.Method.VISIT,
            note="FOLLOWUP-SECRET",
        )
    return Dispute.objects.get(pk=d.pk)


def test_the_page_masks_texts_for_an_analyst_and_shows_them_to_the_mediator(
    med: dict[str, Any],
) -> None:
    d = _filled(med)
    url = reverse("mediation-dispute", args=[d.code])
    html = _as(med["analyst"]).get(url).content.decode()
    for secret in (PHONE, ID_NUMBER, "wang.fang@example.com", "MINUTES-SECRET"):
        assert secret not in html, secret
    for secret in ("ATTENDEES-SECRET", "FACTS-SECRET", "TERMS-SECRET", "FOLLOWUP-SECRET"):
        assert secret not in html, secret
    assert "138****0009" in html and "says the flat above leaks" in html
    assert "agreement-pdf" not in html
    html = _as(med["mediator_c"]).get(url).content.decode()
    for shown in (PHONE, ID_NUMBER, "MINUTES-SECRET", "FACTS-SECRET", "FOLLOWUP-SECRET"):
        assert shown in html, shown


def test_the_api_shows_the_summary_whole_to_the_mediator(med: dict[str, Any]) -> None:
    d = register(med, title=TITLE, summary=SUMMARY)
    body = _as(med["mediator_c"]).get(f"/api/mediation/disputes/{d.code}").json()
    assert body["summary"] == SUMMARY and body["title"] == TITLE
    body = _as(med["analyst"]).get(f"/api/mediation/disputes/{d.code}").json()
    assert PHONE not in body["title"] and "wang.fang" not in body["summary"]


def test_lists_mask_titles(med: dict[str, Any]) -> None:
    d = register(med, title=TITLE, summary=SUMMARY)
    for who in ("analyst", "mediator_c"):
        r = _as(med[who]).get("/api/mediation/disputes")
        assert r.status_code == 200, r.content
        assert d.code in r.content.decode() and PHONE not in r.content.decode()
        html = _as(med[who]).get(reverse("mediation-disputes") + "?view=area").content.decode()
        assert d.code in html and PHONE not in html and "138****0009" in html


def test_the_list_does_not_search_the_summary(med: dict[str, Any]) -> None:
    d = register(med, summary=SUMMARY)
    url = reverse("mediation-disputes") + "?view=area&status=all&q="
    assert d.code not in _as(med["analyst"]).get(url + ID_NUMBER).content.decode()
    assert d.code in _as(med["analyst"]).get(url + d.code).content.decode()


def test_the_profile_section_masks_titles(med: dict[str, Any]) -> None:
    d = register(med, title=TITLE)
    latest = figures.place_summary(med["analyst"], d.jurisdiction).latest
    assert [x.code for x in latest] == [d.code]
    assert PHONE not in latest[0].title and "138****0009" in latest[0].title
    assert Dispute.objects.get(pk=d.pk).title == TITLE  # masked for show, not saved


def test_notices_and_audit_carry_no_numbers(med: dict[str, Any]) -> None:
    for key in ("mediator_c", "mediator_s"):
        med[key].email = f"{med[key].username}@example.org"
        med[key].save(update_fields=["email"])
    d = register(med, title=TITLE, summary=SUMMARY)
    assert OutboxMessage.objects.filter(topic="mediation").exists()
    for m in OutboxMessage.objects.filter(topic="mediation"):
        assert PHONE not in m.subject and PHONE not in m.body
    d = services.accept(actor=med["mediator_c"], dispute=d)
    services.withdraw(actor=med["mediator_c"], dispute=d, reason=f"Wang called from {PHONE}")
    entry = AuditEntry.objects.get(action="dispute.withdraw", object_id=d.code)
    assert PHONE not in entry.reason and "138****0009" in entry.reason


def test_the_risk_register_entry_carries_no_numbers(med: dict[str, Any]) -> None:
    d = register(med, title=TITLE, risk_level="high")
    d.refresh_from_db()
    assert d.risk is not None
    assert PHONE not in d.risk.title and "138****0009" in d.risk.title
