"""Every move on a dispute, and every refusal of an illegal one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from civitas.appeals.models import Event as AppealEvent
from civitas.kit import clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from civitas.mediation import services
from civitas.mediation.models import (
    Channel,
    Dispute,
    Event,
    FollowUp,
    Outcome,
    Session,
    Source,
    Stage,
    Status,
    Tier,
)
from civitas.mediation.services import PartyIn
from civitas.org.models import User
from tests.mediation.helpers import data, recipients, register

pytestmark = pytest.mark.django_db


def _emails(med: dict[str, Any]) -> None:
    for key in ("mediator_c", "mediator_s", "mediator_s2", "mediator_d", "mediator_city"):
        u: User = med[key]
        u.email = f"{u.username}@example.org"
        u.save(update_fields=["email"])


def _stages(d: Dispute) -> list[tuple[str, str, str]]:
    return [(s.tier, s.unit.code, s.result) for s in Stage.objects.filter(dispute=d)]


def _to_mediating(med: dict[str, Any], d: Dispute, who: str = "mediator_c") -> Dispute:
    d = services.accept(actor=med[who], dispute=d, version=d.version)
    services.schedule_session(
        actor=med[who],
        dispute=d,
        scheduled_at=clock.now() + timedelta(days=1),
        place="Community hall",
        mediators=[med[who]],
    )
    return Dispute.objects.get(pk=d.pk)


# -- register --------------------------------------------------------------------------------


def test_register_goes_to_the_community_committee_with_a_deadline(med: dict[str, Any]) -> None:
    _emails(med)
    with clock.frozen(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        d = register(med)
    assert d.code == "T-MD-2026-00001"
    assert (d.status, d.tier, d.channel) == (Status.REGISTERED, Tier.COMMUNITY, Channel.PEOPLES)
    assert d.unit == med["T-D1-S1-C1-med"]
    assert d.due_at == datetime(2026, 3, 17, 9, tzinfo=UTC)
    assert d.districts == ["T-D1"] and not d.cross_district
    assert d.jurisdiction_path == med["T-D1-S1-C1"].path
    assert _stages(d) == [(Tier.COMMUNITY, "T-D1-S1-C1-MEDIATION", "")]
    assert d.parties.count() == 2
    assert d.registered_by_user == med["mediator_c"]
    assert Event.objects.get(dispute=d).action == "register"
    assert AuditEntry.objects.filter(action="dispute.register", object_id=d.code).exists()
    assert recipients() == {"med-c111@example.org"}


def test_register_numbers_disputes_in_order(med: dict[str, Any]) -> None:
    codes = [register(med).code for _ in range(3)]
    assert codes == [f"T-MD-{clock.now().year}-0000{i}" for i in (1, 2, 3)]


def test_without_a_community_committee_the_street_takes_it(med: dict[str, Any]) -> None:
    d = register(med, place="T-D1-S1-C2")
    assert (d.tier, d.unit) == (Tier.STREET, med["T-D1-S1-med"])
    assert {"code": "no_body", "tier": Tier.STREET} in Stage.objects.get(dispute=d).reasons


def test_parties_in_two_districts_go_to_the_city(med: dict[str, Any]) -> None:
    from tests.mediation.helpers import parties

    d = register(med, parties=parties(med, "T-D1-S1-C1", "T-D2-S1-C1"))
    assert (d.tier, d.unit, d.cross_district) == (Tier.CITY, med["T-med"], True)
    assert d.districts == ["T-D1", "T-D2"]
    assert d.due_at is not None and (d.due_at - d.received_at).days == 45


def test_a_point_on_the_map_finds_the_place(med: dict[str, Any]) -> None:
    d = register(med, jurisdiction=None, lat=0.5, lon=0.5)
    assert d.jurisdiction == med["T-D1-S1-C1"]


def test_register_names_every_bad_field(med: dict[str, Any]) -> None:
    bad = data(
        med,
        title="",
        type="dragons",
        amount="lots",
        people_involved=0,
        parties=[PartyIn(side="judge", name="", phone="call me", credit_code="x")],
    )
    with pytest.raises(InvalidInput) as err:
        services.register(actor=med["mediator_c"], data=bad)
    fields = err.value.details["fields"]
    assert set(fields) == {
        "title",
        "type",
        "amount",
        "people_involved",
        "parties",
        "parties[0].side",
        "parties[0].name",
        "parties[0].phone",
        "parties[0].credit_code",
    }
    assert err.value.details["field"] == "title"
    assert Dispute.objects.count() == 0


def test_register_needs_a_place(med: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        register(med, jurisdiction=None)
    assert err.value.details["field"] == "jurisdiction"
    with pytest.raises(InvalidInput) as err:
        register(med, jurisdiction=None, lat=50.0, lon=50.0)
    assert err.value.details["field"] == "lat"


def test_register_needs_the_permission(med: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        register(med, actor=med["analyst"])


def test_a_grid_worker_registers_and_sees_the_parties(med: dict[str, Any]) -> None:
    d = services.register(actor=med["gridworker"], data=data(med), source=Source.GRID)
    assert d.source == Source.GRID
    assert services.may_see_parties(med["gridworker"], d)
    assert not services.may_act(med["gridworker"], d)


# -- the path through one level --------------------------------------------------------------


def test_accept_session_agreement_follow_up_kept_closes_resolved(med: dict[str, Any]) -> None:
    d = register(med)
    d = services.accept(actor=med["mediator_c"], dispute=d, version=1)
    assert d.status == Status.ACCEPTED and d.lead_mediator == med["mediator_c"]
    when = clock.now() + timedelta(days=2)
    s = services.schedule_session(
        actor=med["mediator_c"],
        dispute=d,
        scheduled_at=when,
        place="Hall",
        mediators=[med["mediator_c"]],
    )
    assert s.number == 1 and Dispute.objects.get(pk=d.pk).status == Status.MEDIATING
    with pytest.raises(InvalidInput) as err:  # not before the session's time
        services.record_session(
            actor=med["mediator_c"], session=s, result=Session.Result.CONTINUE, minutes="m"
        )
    assert err.value.details["field"] == "result"
    with clock.frozen(when + timedelta(hours=2)):
        s = services.record_session(
            actor=med["mediator_c"],
            session=s,
            result=Session.Result.CONTINUE,
            minutes="Both sides heard.",
            attendees="Wang, Li",
        )
        assert s.held and s.result == Session.Result.CONTINUE
        with pytest.raises(Conflict):
            services.record_session(
                actor=med["mediator_c"], session=s, result=Session.Result.AGREED, minutes="again"
            )
        a = services.record_agreement(
            actor=med["mediator_c"],
            dispute=d,
            facts="Leak from flat 301.",
            terms="Li pays 800 yuan for repairs.",
            signed_on=clock.today(),
            amount="800",
            perform_by=clock.today() + timedelta(days=10),
        )
        d = Dispute.objects.get(pk=d.pk)
        assert d.status == Status.AGREED and a.number == f"{d.code}-A1"
        f = FollowUp.objects.get(dispute=d)
        assert f.due_on == clock.today() + timedelta(days=17)
        d = services.record_follow_up(
            actor=med["mediator_c"], follow_up=f, kept=True, method=FollowUp.Method.PHONE
        )
        assert (d.status, d.outcome) == (Status.CLOSED, Outcome.RESOLVED)
        assert _stages(d) == [(Tier.COMMUNITY, "T-D1-S1-C1-MEDIATION", Stage.Result.AGREED)]
        actions = list(Event.objects.filter(dispute=d).values_list("action", flat=True))
        assert actions == [
            "register",
            "accept",
            "schedule_session",
            "record_session",
            "record_agreement",
            "record_follow_up",
        ]


def test_follow_up_not_kept_goes_back_to_mediation(med: dict[str, Any]) -> None:
    d = _to_mediating(med, register(med))
    services.record_agreement(
        actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=clock.today()
    )
    f = FollowUp.objects.get(dispute=d)
    with pytest.raises(InvalidInput) as err:
        services.record_follow_up(actor=med["mediator_c"], follow_up=f, kept=False, method="visit")
    assert err.value.details["field"] == "note"
    d = services.record_follow_up(
        actor=med["mediator_c"], follow_up=f, kept=False, method="visit", note="Li did not pay"
    )
    assert (d.status, d.tier) == (Status.MEDIATING, Tier.COMMUNITY)
    with pytest.raises(Conflict):
        services.record_follow_up(actor=med["mediator_c"], follow_up=f, kept=True, method="visit")


def test_follow_up_not_kept_may_go_up(med: dict[str, Any]) -> None:
    d = _to_mediating(med, register(med))
    services.record_agreement(
        actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=clock.today()
    )
    f = FollowUp.objects.get(dispute=d)
    d = services.record_follow_up(
        actor=med["mediator_c"], follow_up=f, kept=False, method="visit", note="no", then="escalate"
    )
    assert (d.status, d.tier, d.unit) == (Status.REGISTERED, Tier.STREET, med["T-D1-S1-med"])


def test_failure_moves_up_level_by_level_then_to_court(med: dict[str, Any]) -> None:
    _emails(med)
    d = _to_mediating(med, register(med))
    d = services.fail(actor=med["mediator_c"], dispute=d, reason="Li refuses to talk")
    assert (d.status, d.tier, d.unit, d.escalation_count) == (
        Status.REGISTERED,
        Tier.STREET,
        med["T-D1-S1-med"],
        1,
    )
    assert d.lead_mediator is None
    assert "med-s11@example.org" in recipients()
    # the community committee no longer acts, but still sees it
    with pytest.raises(Forbidden):
        services.accept(actor=med["mediator_c"], dispute=d)
    d = _to_mediating(med, d, "mediator_s")
    d = services.fail(actor=med["mediator_s"], dispute=d, reason="no")
    assert (d.tier, d.unit) == (Tier.DISTRICT, med["T-D1-med"])
    d = _to_mediating(med, d, "mediator_d")
    d = services.fail(actor=med["mediator_d"], dispute=d, reason="no")
    assert (d.tier, d.unit) == (Tier.CITY, med["T-med"])
    d = _to_mediating(med, d, "mediator_city")
    d = services.fail(actor=med["mediator_city"], dispute=d, reason="no")
    assert (d.status, d.channel) == (Status.REFERRED, Channel.COURT)
    assert [s[2] for s in _stages(d)] == [Stage.Result.FAILED] * 4
    assert Stage.objects.filter(dispute=d, ended_at__isnull=True).count() == 0
    d = services.close(actor=med["mediator_city"], dispute=d, outcome=Outcome.REFERRED)
    assert (d.status, d.outcome) == (Status.CLOSED, Outcome.REFERRED)


def test_labour_failure_goes_to_arbitration(med: dict[str, Any]) -> None:
    d = register(med, type="labour")
    assert d.channel == Channel.PEOPLES
    assert d.due_at is not None and (d.due_at - d.received_at).days == 15
    d = _to_mediating(med, d)
    d = services.fail(actor=med["mediator_c"], dispute=d, reason="the firm will not pay")
    assert (d.status, d.channel, d.tier) == (
        Status.REFERRED,
        Channel.LABOUR_ARBITRATION,
        Tier.COMMUNITY,
    )


def test_refer_withdraw_and_close(med: dict[str, Any]) -> None:
    d = register(med)
    with pytest.raises(InvalidInput) as err:
        services.refer(actor=med["mediator_c"], dispute=d, channel=Channel.PEOPLES, note="x")
    assert err.value.details["field"] == "channel"
    d = services.refer(
        actor=med["mediator_c"], dispute=d, channel=Channel.PETITION, note="a petition matter"
    )
    assert d.status == Status.REFERRED
    with pytest.raises(InvalidInput):
        services.close(actor=med["mediator_c"], dispute=d, outcome=Outcome.RESOLVED, note="x")
    d = services.close(actor=med["mediator_c"], dispute=d, outcome=Outcome.REFERRED)
    assert d.outcome == Outcome.REFERRED

    d2 = register(med)
    d2 = services.withdraw(actor=med["mediator_c"], dispute=d2, reason="they made up")
    assert (d2.status, d2.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)
    assert _stages(d2)[0][2] == Stage.Result.WITHDRAWN

    d3 = _to_mediating(med, register(med))
    with pytest.raises(InvalidInput) as err:
        services.close(actor=med["mediator_c"], dispute=d3, outcome=Outcome.UNRESOLVED)
    assert err.value.details["field"] == "note"
    d3 = services.close(
        actor=med["mediator_c"], dispute=d3, outcome=Outcome.UNRESOLVED, note="moved away"
    )
    assert d3.outcome == Outcome.UNRESOLVED


@pytest.mark.parametrize(
    "move",
    [
        lambda m, d: services.accept(actor=m, dispute=d),
        lambda m, d: services.fail(actor=m, dispute=d, reason="x"),
        lambda m, d: services.escalate(actor=m, dispute=d, reason="x"),
        lambda m, d: services.refer(actor=m, dispute=d, channel="court", note="x"),
        lambda m, d: services.withdraw(actor=m, dispute=d, reason="x"),
        lambda m, d: services.close(actor=m, dispute=d, outcome="resolved", note="x"),
        lambda m, d: services.set_risk_level(actor=m, dispute=d, level="medium", reason="x"),
        lambda m, d: services.record_agreement(
            actor=m, dispute=d, facts="f", terms="t", signed_on=date(2026, 1, 1)
        ),
    ],
)
def test_a_closed_dispute_refuses_every_move(med: dict[str, Any], move: Any) -> None:
    d = services.withdraw(actor=med["mediator_c"], dispute=register(med), reason="gone")
    with pytest.raises(Conflict) as err:
        move(med["mediator_c"], d)
    assert err.value.code == "illegal_transition"


def test_wrong_status_moves_are_refused(med: dict[str, Any]) -> None:
    d = register(med)
    for move in (
        lambda: services.fail(actor=med["mediator_c"], dispute=d, reason="x"),
        lambda: services.record_agreement(
            actor=med["mediator_c"], dispute=d, facts="f", terms="t", signed_on=date(2026, 1, 1)
        ),
        lambda: services.schedule_session(
            actor=med["mediator_c"],
            dispute=d,
            scheduled_at=clock.now(),
            place="x",
            mediators=[med["mediator_c"]],
        ),
        lambda: services.close(actor=med["mediator_c"], dispute=d, outcome="resolved", note="x"),
    ):
        with pytest.raises(Conflict):
            move()
    d = services.accept(actor=med["mediator_c"], dispute=d)
    with pytest.raises(Conflict):
        services.accept(actor=med["mediator_c"], dispute=d)


def test_other_units_may_not_move_it(med: dict[str, Any]) -> None:
    d = register(med)
    for who in ("mediator_s", "mediator_s2", "gridworker", "analyst", "handler", "dispatcher"):
        with pytest.raises(Forbidden):
            services.accept(actor=med[who], dispute=d)
    assert Dispute.objects.get(pk=d.pk).status == Status.REGISTERED


def test_a_stale_version_is_refused(med: dict[str, Any]) -> None:
    d = register(med)
    services.accept(actor=med["mediator_c"], dispute=d, version=1)
    with pytest.raises(Conflict) as err:
        services.withdraw(actor=med["mediator_c"], dispute=d, reason="x", version=1)
    assert err.value.code == "stale" and err.value.details == {"version": 2}


def test_lead_mediator_must_belong_to_the_unit(med: dict[str, Any]) -> None:
    d = services.accept(actor=med["mediator_c"], dispute=register(med))
    with pytest.raises(InvalidInput) as err:
        services.assign_lead_mediator(
            actor=med["mediator_c"], dispute=d, mediator=med["mediator_s"]
        )
    assert err.value.details["field"] == "mediator"
    from civitas.org.models import Role
    from tests.factories import member

    other = member("med-c111b", Role.MEDIATOR, med["T-D1-S1-C1-med"])
    d = services.assign_lead_mediator(actor=med["mediator_c"], dispute=d, mediator=other)
    assert d.lead_mediator == other


def test_session_input_is_checked(med: dict[str, Any]) -> None:
    d = services.accept(actor=med["mediator_c"], dispute=register(med))
    for kw, fld in (
        ({"place": ""}, "place"),
        ({"mediators": []}, "mediators"),
        ({"mediators": [med["mediator_s"]]}, "mediators"),
        ({"scheduled_at": datetime(2026, 1, 1)}, "scheduled_at"),
    ):
        args: dict[str, Any] = {
            "scheduled_at": clock.now(),
            "place": "Hall",
            "mediators": [med["mediator_c"]],
            **kw,
        }
        with pytest.raises(InvalidInput) as err:
            services.schedule_session(actor=med["mediator_c"], dispute=d, **args)
        assert err.value.details["field"] == fld
    s = services.schedule_session(
        actor=med["mediator_c"],
        dispute=d,
        scheduled_at=clock.now(),
        place="Hall",
        mediators=[med["mediator_c"]],
    )
    with pytest.raises(InvalidInput) as err:
        services.record_session(actor=med["mediator_c"], session=s, result="agreed", minutes="")
    assert err.value.details["field"] == "minutes"
    s = services.record_session(
        actor=med["mediator_c"], session=s, result=Session.Result.NO_SHOW, minutes=""
    )
    assert not s.held


def test_agreement_input_is_checked(med: dict[str, Any]) -> None:
    d = _to_mediating(med, register(med))
    today = clock.today()
    for kw, fld in (
        ({"terms": ""}, "terms"),
        ({"facts": " "}, "facts"),
        ({"signed_on": today + timedelta(days=3)}, "signed_on"),
        ({"perform_by": today - timedelta(days=3)}, "perform_by"),
        ({"amount": "-5"}, "amount"),
    ):
        args: dict[str, Any] = {"facts": "f", "terms": "t", "signed_on": today, **kw}
        with pytest.raises(InvalidInput) as err:
            services.record_agreement(actor=med["mediator_c"], dispute=d, **args)
        assert err.value.details["field"] == fld
    assert Dispute.objects.get(pk=d.pk).status == Status.MEDIATING


# -- escalation ------------------------------------------------------------------------------


def test_manual_escalation_and_its_limits(med: dict[str, Any]) -> None:
    d = register(med)
    with pytest.raises(InvalidInput) as err:
        services.escalate(actor=med["mediator_c"], dispute=d, reason="")
    assert err.value.details["field"] == "reason"
    d = services.escalate(
        actor=med["mediator_c"], dispute=d, reason="too big", to_tier=Tier.DISTRICT
    )
    assert (d.tier, d.unit) == (Tier.DISTRICT, med["T-D1-med"])
    with pytest.raises(Conflict):
        services.escalate(actor=med["mediator_d"], dispute=d, reason="down", to_tier=Tier.STREET)
    # the city's dispatcher coordinates: may escalate, may not accept
    d = services.escalate(actor=med["dispatcher"], dispute=d, reason="city decides")
    assert (d.tier, d.unit) == (Tier.CITY, med["T-med"])
    with pytest.raises(Conflict):
        services.escalate(actor=med["mediator_city"], dispute=d, reason="more")
    assert Stage.objects.filter(dispute=d).count() == 3
    assert Stage.objects.filter(dispute=d, ended_at__isnull=True).count() == 1


def test_rising_risk_escalates_and_opens_one_risk(med: dict[str, Any]) -> None:
    from civitas.risk.models import RiskItem

    d = register(med)
    d = services.set_risk_level(actor=med["mediator_c"], dispute=d, level="medium", reason="angry")
    assert (d.tier, d.risk_id) == (Tier.STREET, None)
    assert _stages(d)[0][2] == Stage.Result.RISK
    d = services.set_risk_level(actor=med["mediator_s"], dispute=d, level="high", reason="threats")
    assert d.tier == Tier.DISTRICT and d.risk is not None
    risk = RiskItem.objects.get()
    assert risk.owner_unit == med["T-D1-centre"]
    assert risk.jurisdiction == med["T-D1-S1-C1"]
    assert risk.created_by.startswith("system:mediation")
    assert AuditEntry.objects.filter(
        action="risk.create", actor__startswith="system:mediation"
    ).exists()
    d = services.set_risk_level(actor=med["mediator_d"], dispute=d, level="low", reason="calm")
    d = services.set_risk_level(actor=med["mediator_d"], dispute=d, level="high", reason="again")
    assert RiskItem.objects.count() == 1 and d.tier == Tier.DISTRICT
    with pytest.raises(Conflict):
        services.set_risk_level(actor=med["mediator_d"], dispute=d, level="high", reason="same")


def test_registering_high_risk_goes_to_the_district_and_the_register(med: dict[str, Any]) -> None:
    d = register(med, risk_level="high")
    assert d.tier == Tier.DISTRICT and d.risk is not None


# -- appeals ---------------------------------------------------------------------------------


def _appeal(med: dict[str, Any]) -> Any:
    from django.db import transaction

    from civitas.appeals import intake
    from civitas.appeals.models import Appeal
    from civitas.org.models import Role
    from tests.factories import member

    resident = member("resident-1", Role.RESIDENT)
    data = intake.AppealIn(
        city="T",
        title="Neighbour noise every night",
        text="The neighbours play loud music every night and will not talk to me.",
        lat=0.5,
        lon=0.5,
        contact=intake.ContactIn(name="Wang Fang", phone="13800000001"),
    )
    with transaction.atomic():
        done = intake.submit(actor=resident, data=data, resident=resident)
    return Appeal.objects.get(pk=done.appeal.pk)


def test_an_appeal_becomes_a_dispute_once(med: dict[str, Any]) -> None:
    appeal = _appeal(med)
    d = services.refer_from_appeal(
        actor=med["dispatcher"],
        appeal=appeal,
        data=services.DisputeIn(type="neighbour", parties=data(med).parties),
    )
    assert (d.appeal, d.source, d.title) == (appeal, Source.APPEAL, appeal.title)
    assert d.summary == appeal.text and d.jurisdiction == med["T-D1-S1-C1"]
    ev = AppealEvent.objects.get(appeal=appeal, action="referred_to_mediation")
    assert not ev.public and ev.data == {"dispute": d.code}
    with pytest.raises(Conflict) as err:
        services.refer_from_appeal(
            actor=med["dispatcher"],
            appeal=appeal,
            data=services.DisputeIn(type="neighbour", parties=data(med).parties),
        )
    assert err.value.details == {"dispute": d.code}
    assert Dispute.objects.filter(appeal=appeal).count() == 1


def test_an_appeal_out_of_sight_cannot_be_referred(med: dict[str, Any]) -> None:
    appeal = _appeal(med)
    with pytest.raises(Forbidden):
        services.refer_from_appeal(
            actor=med["mediator_s2"],
            appeal=appeal,
            data=services.DisputeIn(type="neighbour", parties=data(med).parties),
        )
