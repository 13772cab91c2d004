"""The mediation pages through Django's test client: who sees the list and a dispute, masked
parties, registration and referral from an appeal, every action form, and refusals that show a
message and change nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.mediation import services
from civitas.mediation.models import (
    Agreement,
    Dispute,
    Event,
    FollowUp,
    Outcome,
    Party,
    Session,
    Source,
    Status,
    Tier,
)
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.helpers import parties, register

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def page(c: Client, url: str, status: int = 200) -> str:
    r = c.get(url)
    assert r.status_code == status, r.content[:2000]
    return r.content.decode()


def case_url(d: Dispute) -> str:
    return reverse("mediation-dispute", args=[d.code])


def act(c: Client, d: Dispute, action: str, **fields: Any) -> Any:
    d.refresh_from_db()
    data = {f"{action}-version": d.version}
    data.update({f"{action}-{k}": v for k, v in fields.items()})
    return c.post(reverse("mediation-act", args=[d.code, action]), data, follow=True)


def messages_of(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def fresh(d: Dispute) -> Dispute:
    return Dispute.objects.get(pk=d.pk)


# -- the list ------------------------------------------------------------------------------


def test_the_list_shows_my_queue_and_my_area(med: dict[str, Any]) -> None:
    mine = register(med, title="Leaking ceiling")
    other = register(
        med,
        actor=med["mediator_s2"],
        place="T-D2-S1-C1",
        title="Barking dog",
        parties=parties(med, "T-D2-S1-C1", "T-D2-S1-C1"),
    )
    html = page(client_for(med["mediator_c"]), reverse("mediation-disputes"))
    assert mine.code in html and other.code not in html
    assert "My queue" in html
    # The city dispatcher's area is the whole city: both.
    html = page(client_for(med["dispatcher"]), reverse("mediation-disputes"))
    assert mine.code in html and other.code in html
    # The district 2 street committee sees only its own.
    html = page(client_for(med["mediator_s2"]), reverse("mediation-disputes") + "?view=area")
    assert other.code in html and mine.code not in html


def test_people_without_the_permission_are_refused(med: dict[str, Any]) -> None:
    resident = member("res-1", Role.RESIDENT)
    d = register(med)
    page(client_for(resident), reverse("mediation-disputes"), 403)
    page(client_for(resident), case_url(d), 403)
    r = Client().get(reverse("mediation-disputes"))
    assert r.status_code == 302 and "/login/" in r["Location"]
    # A mediator of another district reads nothing of it.
    page(client_for(med["mediator_s2"]), case_url(d), 404)


def test_filters_narrow_the_list_and_bad_values_say_so(med: dict[str, Any]) -> None:
    a = register(med, title="Ceiling leak", type="neighbour")
    b = register(med, title="Unpaid wages", type="labour")
    c = client_for(med["dispatcher"])
    url = reverse("mediation-disputes")
    html = page(c, url + "?view=area&type=labour")
    assert b.code in html and a.code not in html
    html = page(c, url + "?view=area&q=ceiling")
    assert a.code in html and b.code not in html
    html = page(c, url + "?view=area&tier=city")
    assert a.code not in html and b.code not in html
    html = page(c, url + "?view=area&status=closed")
    assert "No dispute matches." in html
    # Overdue: move the clock past the deadline.
    Dispute.objects.filter(pk=a.pk).update(due_at=clock.now() - timedelta(days=1))
    html = page(c, url + "?view=area&overdue=on")
    assert a.code in html and b.code not in html and "overdue" in html
    r = c.get(url + "?view=area&tier=moon")
    assert r.status_code == 422
    assert "Level" in r.content.decode()


# -- the dispute's page --------------------------------------------------------------------


def test_handlers_see_the_parties_others_see_them_masked(med: dict[str, Any]) -> None:
    d = register(med)
    html = page(client_for(med["mediator_c"]), case_url(d))
    assert "Wang Fang" in html and "13800000001" in html
    assert "Oak Road 1, flat 201" in html
    analyst = page(client_for(med["analyst"]), case_url(d))
    assert d.code in analyst
    assert "Wang Fang" not in analyst and "13800000001" not in analyst
    assert "Oak Road" not in analyst
    assert "Applicant 1" in analyst and "Respondent 1" in analyst
    assert 'id="parties-masked"' in analyst
    # The analyst may not act: no action forms.
    assert 'id="dispute-actions"' not in analyst


def test_the_page_shows_level_reasons_stages_and_only_allowed_forms(med: dict[str, Any]) -> None:
    d = register(med)
    html = page(client_for(med["mediator_c"]), case_url(d))
    assert "Community mediation committee" in html
    assert "handled where it arose" in html
    assert 'id="form-accept"' in html and 'id="form-withdraw"' in html
    assert 'id="form-agreement"' not in html  # not before it is accepted
    assert f'name="accept-version" value="{d.version}"' in html


def test_the_page_in_chinese(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    r = c.get(case_url(d), headers={"accept-language": "zh-hans"})
    assert r.status_code == 200
    assert '<html lang="zh-hans">' in r.content.decode()


# -- registering ---------------------------------------------------------------------------


def _form(med: dict[str, Any], **kw: Any) -> dict[str, Any]:
    data = {
        "city": "T",
        "title": "Wages unpaid on the building site",
        "type": "neighbour",
        "summary": "Two neighbours quarrel about a wall.",
        "amount": "",
        "people_involved": "2",
        "risk_level": "low",
        "jurisdiction": "T-D1-S1-C1",
        "address": "Oak Road 5",
        "lat": "",
        "lon": "",
        "p-TOTAL_FORMS": "2",
        "p-INITIAL_FORMS": "0",
        "p-MIN_NUM_FORMS": "0",
        "p-MAX_NUM_FORMS": "20",
        "p-0-side": "applicant",
        "p-0-kind": "person",
        "p-0-name": "Zhang San",
        "p-0-phone": "13900000001",
        "p-0-address": "Oak Road 5",
        "p-0-jurisdiction": "T-D1-S1-C1",
        "p-1-side": "respondent",
        "p-1-kind": "person",
        "p-1-name": "Zhao Si",
        "p-1-phone": "",
        "p-1-address": "",
        "p-1-jurisdiction": "T-D1-S1-C1",
    }
    data.update(kw)
    return data


def test_register_shows_the_rules_choice_then_saves(med: dict[str, Any]) -> None:
    c = client_for(med["mediator_c"])
    url = reverse("mediation-new")
    html = page(c, url)
    assert 'name="p-TOTAL_FORMS"' in html and 'id="pick-map"' in html
    r = c.post(url, {**_form(med), "preview": "1"})
    assert r.status_code == 200
    text = r.content.decode()
    assert 'id="rules-choice"' in text and "Community mediation committee" in text
    assert "T-D1-S1-C1 Mediation Committee" in text
    assert Dispute.objects.count() == 0
    r = c.post(url, _form(med), follow=True)
    d = Dispute.objects.get()
    assert r.redirect_chain[-1][0] == case_url(d)
    assert d.source == Source.WALK_IN and d.tier == Tier.COMMUNITY
    assert [p.name for p in d.parties.order_by("pk")] == ["Zhang San", "Zhao Si"]
    assert "is registered" in messages_of(r)


def test_register_refuses_bad_input_naming_the_field(med: dict[str, Any]) -> None:
    c = client_for(med["mediator_c"])
    url = reverse("mediation-new")
    r = c.post(url, _form(med, summary="", amount="-5"))
    assert r.status_code == 422
    text = r.content.decode()
    assert "What the dispute is about" in text and "Amount at stake" in text
    r = c.post(url, _form(med, **{"p-0-name": "", "p-1-name": ""}))
    assert r.status_code == 422 and "Party 1, Name" in r.content.decode()
    r = c.post(url, _form(med, jurisdiction="", address=""))
    assert r.status_code == 422 and "Choose the place" in r.content.decode()
    assert Dispute.objects.count() == 0


def test_a_cross_district_dispute_goes_to_the_city(med: dict[str, Any]) -> None:
    c = client_for(med["dispatcher"])
    r = c.post(
        reverse("mediation-new"),
        _form(med, **{"p-1-jurisdiction": "T-D2-S1-C1"}),
        follow=True,
    )
    d = Dispute.objects.get()
    assert d.tier == Tier.CITY and d.cross_district and d.unit == med["T-med"]
    assert d.source == Source.HOTLINE
    html = r.content.decode()
    assert "City coordination" in html and "different districts" in html


def test_only_registrars_may_register(med: dict[str, Any]) -> None:
    page(client_for(med["analyst"]), reverse("mediation-new"), 403)


# -- referral from an appeal ---------------------------------------------------------------


def _appeal(med: dict[str, Any]) -> Appeal:
    resident = member("res-appeal", Role.RESIDENT)
    data = intake.AppealIn(
        city="T",
        text="My neighbour's water heater leaks into my flat and he refuses to repair it",
        lat=0.5,
        lon=0.5,
        contact=intake.ContactIn(name="Chen Mei", phone="13700000009"),
    )
    with transaction.atomic():
        return intake.submit(actor=resident, data=data, resident=resident).appeal


def test_an_appeal_is_referred_with_its_history(med: dict[str, Any]) -> None:
    appeal = _appeal(med)
    c = client_for(med["dispatcher"])
    case = page(c, reverse("case", args=[appeal.ticket]))
    assert reverse("mediation-refer", args=[appeal.ticket]) in case
    url = reverse("mediation-refer", args=[appeal.ticket])
    html = page(c, url)
    assert "water heater leaks" in html  # the summary prefilled
    assert 'value="Chen Mei"' in html  # the appellant as the applicant
    form = _form(med, title="Leaking water heater")
    form.update({"p-INITIAL_FORMS": "0"})
    r = c.post(url, form, follow=True)
    d = Dispute.objects.get()
    assert d.appeal == appeal and d.source == Source.APPEAL
    html = r.content.decode()
    assert f"Referred from appeal {appeal.ticket}" in html
    assert 'id="appeal-history"' in html
    # A second referral leads to the dispute.
    r = c.get(url, follow=True)
    assert r.redirect_chain[-1][0] == case_url(d)
    assert Dispute.objects.count() == 1


def test_the_refer_button_needs_the_right_to_register(med: dict[str, Any]) -> None:
    appeal = _appeal(med)
    html = page(client_for(med["analyst"]), reverse("case", args=[appeal.ticket]))
    assert 'id="refer-mediation"' not in html
    page(client_for(med["analyst"]), reverse("mediation-refer", args=[appeal.ticket]), 403)


# -- the actions ---------------------------------------------------------------------------


def _session(med: dict[str, Any], d: Dispute, c: Client) -> Session:
    act(
        c,
        d,
        "schedule",
        scheduled_at=(clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        place="Community hall",
        mediators=[med["mediator_c"].pk],
    )
    return Session.objects.filter(dispute=d).order_by("-number").first()  # type: ignore[return-value]


def test_accept_assign_schedule_and_record_a_session(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    r = act(c, d, "accept", note="we take it")
    assert "accepted" in messages_of(r)
    assert fresh(d).status == Status.ACCEPTED
    second = member("med-c112", Role.MEDIATOR, med["T-D1-S1-C1-med"])
    r = act(c, d, "assign", mediator=second.pk)
    assert fresh(d).lead_mediator == second
    s = _session(med, d, c)
    assert s is not None and fresh(d).status == Status.MEDIATING
    with clock.frozen(s.scheduled_at + timedelta(hours=1)):  # a result once it is held
        r = act(
            c,
            d,
            "session_result",
            session=s.pk,
            result=Session.Result.CONTINUE,
            attendees="both",
            minutes="They talked.",
        )
    s.refresh_from_db()
    assert s.result == Session.Result.CONTINUE and s.held and s.minutes == "They talked."
    html = r.content.decode()
    assert "They talked." in html and "Session recorded" in html


def test_agreement_and_a_follow_up_that_closes(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    act(c, d, "accept")
    _session(med, d, c)
    today = clock.today().isoformat()
    r = act(
        c,
        d,
        "agreement",
        facts="The pipe of the flat above leaks.",
        terms="The upper neighbour repairs the pipe and pays 800 yuan.",
        amount="800",
        signed_on=today,
    )
    assert fresh(d).status == Status.AGREED
    a = Agreement.objects.get(dispute=d)
    assert a.number in r.content.decode()
    assert FollowUp.objects.filter(dispute=d, done_at__isnull=True).count() == 1
    r = act(c, d, "follow_up", method="visit", kept="yes", note="Repaired.", then="mediate")
    d = fresh(d)
    assert d.status == Status.CLOSED and d.outcome == Outcome.RESOLVED
    assert "follow-up visit is recorded" in messages_of(r)


def test_a_failed_mediation_goes_up_to_the_street(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    act(c, d, "accept")
    s = _session(med, d, c)
    act(c, d, "session_result", session=s.pk, result="failed", minutes="No agreement.")
    r = act(c, d, "fail", note="The respondent refuses any settlement.")
    d = fresh(d)
    assert d.tier == Tier.STREET and d.status == Status.REGISTERED
    assert d.unit == med["T-D1-S1-med"]
    assert "Mediation failed here" in messages_of(r)
    # The community committee still reads it but no longer acts.
    html = r.content.decode()
    assert 'id="dispute-actions"' not in html
    html = page(client_for(med["mediator_s"]), case_url(d))
    assert 'id="form-accept"' in html and "mediation failed at the level below" in html


def test_escalate_risk_refer_withdraw_close(med: dict[str, Any]) -> None:
    c = client_for(med["mediator_c"])
    d = register(med)
    act(c, d, "escalate", note="Too big for the committee.")
    assert fresh(d).tier == Tier.STREET
    d2 = register(med)
    act(c, d2, "risk", level="medium", note="Threats were made.")
    d2 = fresh(d2)
    assert d2.risk_level == "medium" and d2.tier == Tier.STREET
    d3 = register(med)
    act(c, d3, "refer_out", channel="court", note="They want a judge.")
    d3 = fresh(d3)
    assert d3.status == Status.REFERRED and d3.channel == "court"
    act(client_for(med["mediator_c"]), d3, "close", outcome="referred", note="")
    assert fresh(d3).status == Status.CLOSED
    d4 = register(med)
    act(c, d4, "withdraw", note="They made peace.")
    d4 = fresh(d4)
    assert d4.status == Status.CLOSED and d4.outcome == Outcome.WITHDRAWN
    d5 = register(med)
    act(c, d5, "accept")
    act(c, d5, "close", outcome="unresolved", note="Parties stopped coming.")
    assert fresh(d5).outcome == Outcome.UNRESOLVED


# -- refusals ------------------------------------------------------------------------------


def test_a_stale_form_is_refused_and_changes_nothing(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    stale = d.version
    services.accept(actor=med["mediator_c"], dispute=d, version=d.version)
    events = Event.objects.filter(dispute=d).count()
    r = c.post(
        reverse("mediation-act", args=[d.code, "withdraw"]),
        {"withdraw-version": stale, "withdraw-note": "gone"},
        follow=True,
    )
    assert "changed" in messages_of(r) and "reload" in messages_of(r)
    assert fresh(d).status == Status.ACCEPTED
    assert Event.objects.filter(dispute=d).count() == events


def test_someone_else_may_not_act(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["analyst"])
    r = act(c, d, "accept")
    assert "may not" in messages_of(r)
    assert fresh(d).status == Status.REGISTERED
    # A mediator of the street above reads it (area? no: not its unit) — nothing changes.
    r = act(client_for(med["mediator_d"]), d, "withdraw", note="no")
    assert fresh(d).status == Status.REGISTERED


def test_an_illegal_move_is_refused(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    r = act(c, d, "agreement", facts="x", terms="y", signed_on=clock.today().isoformat())
    assert "not" in messages_of(r)
    assert fresh(d).status == Status.REGISTERED
    assert not Agreement.objects.filter(dispute=d).exists()


def test_bad_input_names_the_field_and_keeps_the_form(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    act(c, d, "accept")
    s = _session(med, d, c)
    r = act(c, d, "session_result", session=s.pk, result="failed", minutes="")
    assert r.status_code == 422
    assert "Minutes" in messages_of(r)
    s.refresh_from_db()
    assert s.result == ""
    future = (clock.today() + timedelta(days=3)).isoformat()
    r = act(c, d, "agreement", facts="f", terms="t", signed_on=future)
    assert r.status_code == 422
    assert re.search(r"Signed on: .*future", messages_of(r))
    assert fresh(d).status == Status.MEDIATING


def test_unknown_action_is_404(med: dict[str, Any]) -> None:
    d = register(med)
    r = client_for(med["mediator_c"]).post(reverse("mediation-act", args=[d.code, "explode"]))
    assert r.status_code == 404
    assert Party.objects.filter(dispute=d).count() == 2


def test_a_grid_worker_registers_from_the_field_and_sees_the_parties(med: dict[str, Any]) -> None:
    c = client_for(med["gridworker"])
    r = c.post(reverse("mediation-new"), _form(med), follow=True)
    d = Dispute.objects.get()
    assert d.source == Source.GRID and d.registered_by_user == med["gridworker"]
    assert "Zhang San" in r.content.decode()  # the person who registered it


def test_a_high_risk_enters_the_register_and_links_to_it(med: dict[str, Any]) -> None:
    d = register(med)
    act(client_for(med["mediator_c"]), d, "risk", level="high", note="A crowd gathered.")
    d = fresh(d)
    assert d.risk_level == "high" and d.risk is not None and d.tier == Tier.DISTRICT
    html = page(client_for(med["dispatcher"]), case_url(d))
    assert reverse("risk-risk", args=[d.risk.code]) in html
    # The community committee (no risk.read) sees no link into the register.
    html = page(client_for(med["mediator_c"]), case_url(d))
    assert reverse("risk-risk", args=[d.risk.code]) not in html


def test_a_follow_up_not_kept_sends_it_back_or_up(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    act(c, d, "accept")
    _session(med, d, c)
    today = clock.today().isoformat()
    act(c, d, "agreement", facts="f", terms="t", signed_on=today)
    r = act(c, d, "follow_up", method="phone", kept="no", note="", then="mediate")
    assert r.status_code == 422 and "Note" in messages_of(r)
    assert fresh(d).status == Status.AGREED
    act(c, d, "follow_up", method="phone", kept="no", note="Not paid.", then="escalate")
    d = fresh(d)
    assert d.tier == Tier.STREET and d.status == Status.REGISTERED


def test_a_no_show_needs_no_minutes(med: dict[str, Any]) -> None:
    d = register(med)
    c = client_for(med["mediator_c"])
    act(c, d, "accept")
    s = _session(med, d, c)
    with clock.frozen(s.scheduled_at + timedelta(hours=1)):  # a result once it is held
        act(c, d, "session_result", session=s.pk, result="no_show", minutes="")
    s.refresh_from_db()
    assert s.result == Session.Result.NO_SHOW and not s.held


def test_another_party_row_keeps_what_was_typed(med: dict[str, Any]) -> None:
    c = client_for(med["mediator_c"])
    r = c.post(reverse("mediation-new"), {**_form(med), "more": "1"})
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="p-TOTAL_FORMS" value="3"' in html
    assert 'value="Zhang San"' in html and 'value="Zhao Si"' in html
    assert 'value="Wages unpaid on the building site"' in html
    assert "This field is required" not in html
    assert Dispute.objects.count() == 0
    # The three rows post back as they are: the third left empty is ignored.
    form = _form(med, **{"p-TOTAL_FORMS": "3", "p-INITIAL_FORMS": "2"})
    form.update({"p-2-side": "applicant", "p-2-kind": "person"})
    r = c.post(reverse("mediation-new"), form, follow=True)
    assert Dispute.objects.get().parties.count() == 2
