"""Retention: closed disputes lose their personal data after ``CIVITAS_RETENTION_DISPUTES_DAYS``.

A dispute closed longer ago than the period is *anonymised* once: each party's name becomes
a label by side ("Applicant 1", "Respondent 1", "Third party 1") and its phone, address,
credit code and representative are blanked; the free texts (title, summary, address, outcome,
session places, attendees and minutes, agreement facts and terms, follow-up notes, history
notes and data, the linked risk's texts) go through :func:`civitas.kit.redact.anonymise` with
the parties' names mapped to those labels. What the figures are made of stays: type, source,
amount, people involved, level and channel of every stage with its dates and result, the
place (jurisdiction, districts; the point rounded to about 100 m), the outcome and its dates,
so ``mediation.figures`` answer the same before and after.

A dispute on legal hold (``Dispute.legal_hold``) is never anonymised. An appeal referred to a
dispute that is still open or on hold is kept too (``appeals.retention.register_keep``).
One transaction and one audit entry (counts only) per batch; ``anonymised_at`` marks the
done. Run daily by the scheduler and by ``civitas retention``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from civitas.kit import retention as kit_retention
from civitas.kit.redact import PHONE_MARK, anonymise, anonymise_data
from civitas.mediation.models import (
    OPEN_STATUSES,
    Agreement,
    Dispute,
    Event,
    FollowUp,
    Party,
    Session,
    Stage,
    Status,
)
from civitas.org import access
from civitas.risk.models import RiskItem

Step = kit_retention.Step
_steps: dict[str, Step] = {}


def register_step(name: str, fn: Step) -> None:
    _steps[name] = fn


SETTING, DEFAULT_DAYS = "CIVITAS_RETENTION_DISPUTES_DAYS", 1825


def period_days() -> int:
    return kit_retention.period_days(SETTING, DEFAULT_DAYS)


def due(cutoff: datetime) -> models.QuerySet[Dispute]:
    return Dispute.objects.filter(
        status=Status.CLOSED,
        closed_at__lt=cutoff,
        anonymised_at__isnull=True,
        legal_hold=False,
    )


def appeals_kept() -> models.QuerySet[Any]:
    """Appeals referred to a dispute still open or on hold: their case is not over."""
    return (
        Dispute.objects.filter(appeal__isnull=False)
        .filter(models.Q(status__in=OPEN_STATUSES) | models.Q(legal_hold=True))
        .values_list("appeal_id", flat=True)
    )


def run(**options: Any) -> kit_retention.Outcome:
    """Anonymise every due dispute, one transaction per batch (options: see
    :meth:`civitas.kit.retention.Sweep.run`)."""
    return SWEEP.run(**options)


def _dry_counts(due_ids: models.QuerySet[Any]) -> dict[str, int]:
    return {
        "parties": Party.objects.filter(dispute__in=due_ids).count(),
        "sessions": Session.objects.filter(dispute__in=due_ids).count(),
        "agreements": Agreement.objects.filter(dispute__in=due_ids).count(),
    }


def scheduled() -> str:
    """The daily job (``mediation.retention``)."""
    return str(run())


def _side_label(side: str, n: int) -> str:
    if side == Party.Side.APPLICANT:
        return _("Applicant %(n)d") % {"n": n}
    if side == Party.Side.RESPONDENT:
        return _("Respondent %(n)d") % {"n": n}
    return _("Third party %(n)d") % {"n": n}


def _scrub(d: Dispute, now: datetime, counts: Counter[str]) -> dict[str, str]:
    parties = list(Party.objects.filter(dispute=d).order_by("side", "pk"))
    names: dict[str, str] = {}
    places: dict[str, str] = {}
    numbers: Counter[str] = Counter()
    for p in parties:
        numbers[p.side] += 1
        label = _side_label(p.side, numbers[p.side])
        if p.name.strip():
            names.setdefault(p.name.strip(), label)
        if p.representative.strip():
            names.setdefault(
                p.representative.strip(), _("Representative of %(party)s") % {"party": label}
            )
        if p.address.strip():
            places.setdefault(p.address.strip(), _("[address of %(party)s]") % {"party": label})
        if p.phone.strip():
            places.setdefault(p.phone.strip(), PHONE_MARK)
        # Through the model's attributes, so encrypted fields are written the way they read.
        p.name, p.phone, p.address, p.credit_code, p.representative = label, "", "", "", ""
        p.save(update_fields=["name", "phone", "address", "credit_code", "representative"])
    counts["parties"] += len(parties)

    def text(value: str) -> str:
        return anonymise(value, names, places)

    sessions = list(Session.objects.filter(dispute=d))
    for s in sessions:
        s.place, s.attendees, s.minutes = text(s.place), text(s.attendees), text(s.minutes)
    Session.objects.bulk_update(sessions, ["place", "attendees", "minutes"])
    counts["sessions"] += len(sessions)

    agreements = list(Agreement.objects.filter(dispute=d))
    for a in agreements:
        a.facts, a.terms = text(a.facts), text(a.terms)
    Agreement.objects.bulk_update(agreements, ["facts", "terms"])
    counts["agreements"] += len(agreements)

    visits = list(FollowUp.objects.filter(dispute=d))
    for f in visits:
        f.note = text(f.note)
    FollowUp.objects.bulk_update(visits, ["note"])

    events = list(Event.objects.filter(dispute=d))
    for e in events:
        e.note, e.data = text(e.note), anonymise_data(e.data, names, places)
    Event.objects.bulk_update(events, ["note", "data"])
    counts["events"] += len(events)

    stages = list(Stage.objects.filter(dispute=d))
    for st in stages:
        st.reasons = anonymise_data(st.reasons, names, places)
    Stage.objects.bulk_update(stages, ["reasons"])

    if d.risk_id is not None:
        risk = RiskItem.objects.filter(pk=d.risk_id).first()
        if risk is not None:
            RiskItem.objects.filter(pk=risk.pk).update(
                title=text(risk.title),
                description=text(risk.description),
                measures=text(risk.measures),
                outcome_note=text(risk.outcome_note),
            )
            counts["risks"] += 1

    Dispute.objects.filter(pk=d.pk).update(
        title=text(d.title),
        summary=text(d.summary),
        address=text(d.address),
        outcome_note=text(d.outcome_note),
        lat=kit_retention.rounded(d.lat),
        lon=kit_retention.rounded(d.lon),
        anonymised_at=now,
        updated_at=now,
        version=models.F("version") + 1,
    )
    return names


def set_legal_hold(*, actor: Any, dispute: Dispute, hold: bool, reason: str) -> Dispute:
    """Put a dispute on legal hold (or lift it): an administrator of its area, with a reason."""

    def allowed(d: Dispute) -> None:
        access.require(actor, "records.hold", path=d.jurisdiction_path)

    def anonymised(d: Dispute) -> str:
        return _("dispute %(code)s was anonymised on %(day)s; there is nothing left to hold") % {
            "code": d.code,
            "day": f"{d.anonymised_at:%Y-%m-%d}",
        }

    d: Dispute = kit_retention.set_hold(
        Dispute,
        dispute.pk,
        actor=actor,
        hold=hold,
        reason=reason,
        allowed=allowed,
        anonymised=anonymised,
        action="mediation.legal_hold",
    )
    return d


SWEEP = kit_retention.Sweep(
    kind="disputes",
    setting=SETTING,
    default_days=DEFAULT_DAYS,
    action="mediation.anonymise",
    object_type="dispute",
    due=due,
    scrub=_scrub,
    dry_counts=_dry_counts,
    steps=_steps,
)
