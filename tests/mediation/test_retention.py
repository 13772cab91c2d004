"""Retention of closed disputes: parties become labels, free text is scrubbed, figures stay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from civitas.appeals import intake
from civitas.appeals import retention as appeal_retention
from civitas.appeals.models import Appeal
from civitas.kit import audit, clock
from civitas.kit.errors import CivitasError
from civitas.kit.models import AuditEntry
from civitas.mediation import figures, retention, services
from civitas.mediation.models import (
    Agreement,
    Dispute,
    Event,
    FollowUp,
    Party,
    Session,
    Stage,
    Status,
)
from civitas.org.models import Role
from tests.factories import member
from tests.mediation.helpers import data

ZONE = ZoneInfo("Asia/Shanghai")
OLD = datetime(2021, 5, 10, 9, 0, tzinfo=ZONE)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=ZONE)
SECRETS = ("Wang", "Fang", "Li Lei", "13800000001", "13800000002", "Oak Road 1", "Oak Road 3")
SECRETS += ("flat 201", "430102199001011234", "湘A12345")


def concluded(med: dict[str, Any], at: datetime, **kw: Any) -> Dispute:
    """A dispute registered, mediated, agreed, followed up and closed around ``at``."""
    m = med["mediator_c"]
    with clock.frozen(at):
        d = services.register(
            actor=m,
            data=data(
                med,
                summary="Wang Fang (ID 430102199001011234) says the flat of Li Lei leaks; "
                "call 13800000001. Car 湘A12345 blocks the gate.",
                **kw,
            ),
        )
        d = services.accept(actor=m, dispute=d, version=1)
        s = services.schedule_session(
            actor=m,
            dispute=d,
            scheduled_at=clock.now() + timedelta(hours=1),
            place="Oak Road 1, flat 201",
            mediators=[m],
        )
    with clock.frozen(at + timedelta(hours=3)):
        services.record_session(
            actor=m,
            session=s,
            result=Session.Result.CONTINUE,
            minutes="Wang Fang and Mr Li spoke; Li Lei offered 800 yuan.",
            attendees="Wang Fang, Li Lei",
        )
        services.record_agreement(
            actor=m,
            dispute=d,
            facts="Leak from the flat of Li Lei (13800000002).",
            terms="Li Lei pays Wang Fang 800 yuan.",
            signed_on=clock.today(),
            amount="800",
        )
        f = FollowUp.objects.get(dispute=d)
        d = services.record_follow_up(
            actor=m, follow_up=f, kept=True, method=FollowUp.Method.PHONE, note="Wang Fang paid"
        )
    assert d.status == Status.CLOSED
    return Dispute.objects.get(pk=d.pk)


def dump(d: Dispute) -> str:
    rows: list[Any] = [model_to_dict(Dispute.objects.get(pk=d.pk))]
    for p in Party.objects.filter(dispute=d):
        rows.append({f: getattr(p, f) for f in ("name", "phone", "address", "representative")})
    for model in (Session, Agreement, FollowUp, Event, Stage):
        rows += [model_to_dict(r) for r in model.objects.filter(dispute=d)]
    return json.dumps(rows, default=str, ensure_ascii=False)


STATS = (
    "code", "city", "type", "source", "amount", "people_involved", "risk_level", "jurisdiction",
    "jurisdiction_path", "districts", "cross_district", "tier", "channel", "unit", "status",
    "outcome", "received_at", "accepted_at", "agreed_at", "closed_at", "escalation_count",
)  # fmt: skip


def figures_as_dict(med: dict[str, Any]) -> dict[str, Any]:
    with clock.frozen(NOW):
        f = figures.parse_filters(med["analyst"], {"from": "2021-01-01", "to": "2021-12-31"})
        return figures.as_dict(figures.compute(med["analyst"], f))


@pytest.mark.django_db
def test_old_closed_dispute_is_anonymised_and_its_figures_stay(med: dict[str, Any]) -> None:
    d = concluded(med, OLD)
    assert all(s in dump(d) for s in ("Wang Fang", "13800000001", "湘A12345"))
    stats = {f: getattr(d, f) for f in STATS}
    stages = list(Stage.objects.filter(dispute=d).values("tier", "unit", "result", "ended_at"))
    agreed = list(Agreement.objects.filter(dispute=d).values("amount", "signed_on", "number"))
    before = figures_as_dict(med)
    assert before["received"] == 1

    with clock.frozen(NOW):
        out = retention.run()
    assert (out.due, out.anonymised, out.counts["parties"]) == (1, 1, 2)

    after = Dispute.objects.get(pk=d.pk)
    text = dump(after)
    for secret in SECRETS:
        assert secret not in text, secret
    assert sorted(Party.objects.filter(dispute=d).values_list("name", flat=True)) == [
        "Applicant 1",
        "Respondent 1",
    ]
    assert all((p.phone, p.address) == ("", "") for p in Party.objects.filter(dispute=d))
    assert "Applicant 1" in after.summary and "Respondent 1" in after.summary
    assert "[ID number]" in after.summary and "[phone]" in after.summary
    minutes = Session.objects.get(dispute=d).minutes
    assert minutes == "Applicant 1 and Mr Respondent 1 spoke; Respondent 1 offered 800 yuan."
    assert after.anonymised_at == NOW
    assert {f: getattr(after, f) for f in STATS} == stats
    assert list(Stage.objects.filter(dispute=d).values("tier", "unit", "result", "ended_at")) == (
        stages
    )
    assert list(Agreement.objects.filter(dispute=d).values("amount", "signed_on", "number")) == (
        agreed
    )
    assert figures_as_dict(med) == before
    entry = AuditEntry.objects.get(action="mediation.anonymise")
    assert entry.summary["counts"] == {
        "agreements": 1,
        "disputes": 1,
        "events": Event.objects.filter(dispute=d).count(),
        "parties": 2,
        "sessions": 1,
    }
    assert audit.verify().ok


@pytest.mark.django_db
def test_recent_open_held_untouched_second_and_dry_runs_change_nothing(
    med: dict[str, Any],
) -> None:
    old = concluded(med, OLD)
    recent = concluded(med, NOW - timedelta(days=400))
    held = concluded(med, OLD)
    with clock.frozen(OLD):
        still_open = services.register(actor=med["mediator_c"], data=data(med))
    admin = member("admin", Role.ADMINISTRATOR, med["centre"])
    with pytest.raises(CivitasError):  # a mediator may not hold
        retention.set_legal_hold(actor=med["mediator_c"], dispute=held, hold=True, reason="x")
    retention.set_legal_hold(actor=admin, dispute=held, hold=True, reason="lawsuit (2024) 9")
    assert AuditEntry.objects.filter(action="mediation.legal_hold").count() == 1

    keep = {x.pk: dump(x) for x in (old, recent, held, still_open)}
    with clock.frozen(NOW):
        dry = retention.run(dry_run=True)
    assert (dry.due, dry.anonymised, dry.counts["parties"]) == (1, 0, 2)
    assert {pk: dump(Dispute(pk=pk)) for pk in keep} == keep

    with clock.frozen(NOW):
        assert retention.run().anonymised == 1
    for x in (recent, held, still_open):
        assert dump(x) == keep[x.pk]
    once = dump(old)
    entries = AuditEntry.objects.count()
    with clock.frozen(NOW):
        again = retention.run()
    assert (again.due, again.anonymised, again.batches) == (0, 0, 0)
    assert dump(old) == once and AuditEntry.objects.count() == entries
    assert audit.verify().ok


@pytest.mark.django_db
def test_an_appeal_referred_to_an_open_dispute_is_kept(med: dict[str, Any]) -> None:
    """The appeal's own period has passed, but its dispute is still being mediated."""
    resident = member("resident-r", Role.RESIDENT)
    with clock.frozen(OLD), transaction.atomic():
        appeal = intake.submit(
            actor=resident,
            data=intake.AppealIn(
                city="T",
                text="Neighbour noise",
                lat=0.5,
                lon=0.5,
                contact=intake.ContactIn(name="Wang Fang", phone="13800000001"),
            ),
        ).appeal
    Appeal.objects.filter(pk=appeal.pk).update(status="closed", closed_at=OLD)
    with clock.frozen(OLD):
        dispute = services.refer_from_appeal(
            actor=med["dispatcher"], appeal=Appeal.objects.get(pk=appeal.pk), data=data(med)
        )
    with clock.frozen(NOW):
        assert appeal_retention.run().anonymised == 0
    Dispute.objects.filter(pk=dispute.pk).update(status=Status.CLOSED, closed_at=NOW)
    with clock.frozen(NOW):
        assert appeal_retention.run().anonymised == 1
