"""Retention: closed appeals lose their personal data after ``CIVITAS_RETENTION_APPEALS_DAYS``.

A case closed longer ago than the period is *anonymised* once: the contact row is blanked
(name, phone, e-mail, on behalf of), the resident's account is unlinked, the tracking token
stops working, the notifications about it (outbox) lose their recipient, and every free text
of the case (title, description, address, timeline notes, notification bodies and data,
requests, summonses, parts, rating comments) goes through
:func:`civitas.kit.redact.anonymise` with the appellant's names mapped to neutral labels;
photos and evidence are deleted with their files. What the figures are made of stays: the
matter, the place (jurisdiction; the point rounded to about 100 m), the dates, the units, the
deadlines, the ratings and the outcome, so the assessment, the risk scans and the reports
count the same before and after.

A case on legal hold (``Appeal.legal_hold``: litigation, a petition, an inquiry) is never
anonymised; nor one that a higher layer still needs (``register_keep``: an open or held
dispute referred from it). Higher layers scrub their own rows about an anonymised case with
``register_step`` (participation: tasks arising from it, Open311 details).

Each batch is one transaction: the rows are locked and checked again, changed, and one audit
entry records the batch with its counts (no personal data). ``anonymised_at`` marks the done,
so a second run finds nothing. Run daily by the scheduler and by ``civitas retention``.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils.translation import gettext as _

from civitas.appeals.models import (
    Appeal,
    Assignment,
    Attachment,
    Contact,
    Event,
    Rating,
    Request,
    Status,
    Summons,
)
from civitas.kit import retention as kit_retention
from civitas.kit.models import OutboxMessage
from civitas.kit.redact import anonymise, anonymise_data
from civitas.org import access

# A higher layer's part of anonymising a case (see civitas.kit.retention.Step).
Step = kit_retention.Step
# fn() -> appeal ids (a values_list queryset or any iterable) that must not be anonymised yet.
Keep = Callable[[], Iterable[int] | models.QuerySet[Any]]
_steps: dict[str, Step] = {}
_keeps: dict[str, Keep] = {}


def register_step(name: str, fn: Step) -> None:
    """A higher layer's part of anonymising a case (call from ``AppConfig.ready()``)."""
    _steps[name] = fn


def register_keep(name: str, fn: Keep) -> None:
    """A higher layer's reason to keep cases as they are (call from ``AppConfig.ready()``)."""
    _keeps[name] = fn


SETTING, DEFAULT_DAYS = "CIVITAS_RETENTION_APPEALS_DAYS", 1095


def period_days() -> int:
    return kit_retention.period_days(SETTING, DEFAULT_DAYS)


def due(cutoff: datetime) -> models.QuerySet[Appeal]:
    """Closed cases past ``cutoff``, not anonymised, not held, not kept by another layer."""
    qs = Appeal.objects.filter(
        status=Status.CLOSED,
        closed_at__lt=cutoff,
        anonymised_at__isnull=True,
        legal_hold=False,
    )
    for keep in _keeps.values():
        qs = qs.exclude(pk__in=keep())
    return qs


def run(**options: Any) -> kit_retention.Outcome:
    """Anonymise every due case, one transaction per batch (``before``, ``dry_run``,
    ``batch_size``, ``progress``, ``on_total``: see :meth:`civitas.kit.retention.Sweep.run`)."""
    return SWEEP.run(**options)


def _dry_counts(due_ids: models.QuerySet[Any]) -> dict[str, int]:
    return {
        "contacts": Contact.objects.filter(appeal__in=due_ids).count(),
        "attachments": Attachment.objects.filter(appeal__in=due_ids).count(),
        "events": Event.objects.filter(appeal__in=due_ids).count(),
    }


def scheduled() -> str:
    """The daily job (``appeals.retention``)."""
    return str(run())


# -- one batch ---------------------------------------------------------------------------------


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):  # a file already gone is what we wanted
            default_storage.delete(name)


def _labels_for(case: Appeal, contact: Contact | None) -> dict[str, str]:
    names: dict[str, str] = {}
    appellant = _("Appellant")
    if contact is not None:
        if contact.name.strip():
            names[contact.name.strip()] = appellant
        if contact.on_behalf_of.strip():
            names[contact.on_behalf_of.strip()] = _("Person represented")
    user = case.resident
    if user is not None:
        for name in (
            getattr(user, "display_name", ""),
            user.get_full_name(),
            user.first_name,
            user.last_name,
        ):
            if name and name.strip() and name.strip() not in names:
                names[name.strip()] = appellant
    return names


def _scrub_case(case: Appeal, now: datetime, counts: Counter[str]) -> dict[str, str]:
    contact = Contact.objects.filter(appeal=case).first()
    names = _labels_for(case, contact)
    resident_label = case.resident.audit_label() if case.resident is not None else None
    resident_word = _("resident")

    def who(label: str) -> str:
        return resident_word if resident_label and label == resident_label else label

    def text(value: str) -> str:
        return anonymise(value, names)

    if contact is not None:
        # Through the model's attributes, so encrypted fields are written the way they read.
        contact.name = contact.phone = contact.email = contact.on_behalf_of = ""
        contact.wants_notifications = False
        contact.save(
            update_fields=["name", "phone", "email", "on_behalf_of", "wants_notifications"]
        )
        counts["contacts"] += 1

    changed: Counter[str] = Counter()
    events = list(Event.objects.filter(appeal=case))
    for e in events:
        e.note, e.data, e.actor = text(e.note), anonymise_data(e.data, names), who(e.actor)
    Event.objects.bulk_update(events, ["note", "data", "actor"])
    changed["events"] = len(events)

    reqs = list(Request.objects.filter(appeal=case))
    for r in reqs:
        r.reason, r.decision_note = text(r.reason), text(r.decision_note)
    Request.objects.bulk_update(reqs, ["reason", "decision_note"])
    changed["requests"] = len(reqs)

    summonses = list(Summons.objects.filter(appeal=case))
    for s in summonses:
        s.note = text(s.note)
    Summons.objects.bulk_update(summonses, ["note"])

    parts = list(Assignment.objects.filter(appeal=case))
    for a in parts:
        a.note, a.part = text(a.note), text(a.part)
    Assignment.objects.bulk_update(parts, ["note", "part"])

    ratings = list(Rating.objects.filter(appeal=case))
    for rt in ratings:
        rt.comment, rt.recorded_by = text(rt.comment), who(rt.recorded_by)
    Rating.objects.bulk_update(ratings, ["comment", "recorded_by"])
    changed["ratings"] = len(ratings)

    # Notifications to the appellant (appeals.followers, topic "appeal:<pk>") hold their phone
    # or e-mail as recipient and in the dedupe key, and notes in the body. One still pending
    # for a case closed years ago is not sent any more.
    messages = list(OutboxMessage.objects.filter(topic=f"appeal:{case.pk}"))
    for m in messages:
        m.recipient, m.dedupe_key, m.body = "", None, text(m.body)
        if m.state == OutboxMessage.State.PENDING:
            m.state, m.last_error = OutboxMessage.State.FAILED, "anonymised before sending"
    OutboxMessage.objects.bulk_update(
        messages, ["recipient", "dedupe_key", "body", "state", "last_error"]
    )
    changed["notifications"] = len(messages)

    attachments = list(Attachment.objects.filter(appeal=case))
    files = [a.file.name for a in attachments if a.file.name]
    Attachment.objects.filter(pk__in=[a.pk for a in attachments]).delete()
    if files:  # once the batch is committed: a rolled-back batch keeps its files
        transaction.on_commit(lambda: _delete_files(files))
    changed["attachments"] = len(attachments)

    Appeal.objects.filter(pk=case.pk).update(
        title=text(case.title),
        text=text(case.text),
        address=text(case.address),
        duplicate_reason=text(case.duplicate_reason),
        submitted_by=who(case.submitted_by),
        resident=None,
        # The tracking token stops working: its hash is replaced by one of nothing known.
        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        lat=kit_retention.rounded(case.lat),
        lon=kit_retention.rounded(case.lon),
        anonymised_at=now,
        updated_at=now,
        version=models.F("version") + 1,
    )
    counts.update(changed)
    return names


# -- legal hold --------------------------------------------------------------------------------


def set_legal_hold(*, actor: Any, appeal: Appeal, hold: bool, reason: str) -> Appeal:
    """Put a case on legal hold (or lift it): an administrator of its area, with a reason."""

    def allowed(case: Appeal) -> None:
        access.require(actor, "records.hold", path=case.jurisdiction_path or None)

    def anonymised(case: Appeal) -> str:
        return _("case %(ticket)s was anonymised on %(day)s; there is nothing left to hold") % {
            "ticket": case.ticket,
            "day": f"{case.anonymised_at:%Y-%m-%d}",
        }

    case: Appeal = kit_retention.set_hold(
        Appeal,
        appeal.pk,
        actor=actor,
        hold=hold,
        reason=reason,
        allowed=allowed,
        anonymised=anonymised,
        action="appeals.legal_hold",
    )
    return case


SWEEP = kit_retention.Sweep(
    kind="appeals",
    setting=SETTING,
    default_days=DEFAULT_DAYS,
    action="appeals.anonymise",
    object_type="appeal",
    due=due,
    scrub=_scrub_case,
    dry_counts=_dry_counts,
    steps=_steps,
    related=("resident",),
)
