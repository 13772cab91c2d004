"""Handing cases to outside Open311 systems: the rows and the case's side of each exchange.

A case whose lead unit has an active :class:`ExternalSystem` gets a :class:`Handoff` when a
move puts it with that unit (``on_case_moved``, inside the move's transaction: rows only, no
HTTP). ``open311.tasks.run_handoffs`` does the HTTP outside any transaction and records each
outcome here, in a short transaction of its own that locks the handoff row (and, through
``appeals.services``, the case when the case moves):

- sent: their id (or token) is kept, the case is accepted for the lead unit (their id means
  they registered it), then polled every ``poll_seconds``;
- failed: the attempt is counted, the error kept for the case page and the admin, and the next
  attempt put off by exponential backoff with jitter (1, 2, 4 … minutes, at most an hour, or
  later when they asked so with Retry-After); nothing is ever given up;
- their status: new notes while open are the unit's progress on the case; closed resolves the
  case for the lead unit with their notes.

Every step is idempotent: a result is applied only to a handoff still in the state it was
claimed in, and the same status twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.appeals import services as appeal_services
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Event, Status
from civitas.kit import audit, clock
from civitas.kit.errors import CivitasError
from civitas.open311.client import Created, HandoffError, RemoteStatus
from civitas.open311.models import ExternalSystem, Handoff

H = Handoff.State
OPEN_STATES = (H.QUEUED, H.WAITING_ID, H.SENT)
# Moves that put the case with its (new) lead unit.
QUEUE_ACTIONS = frozenset({"dispatch", "redispatch", "arbitrate", "rate_reopen", "reopen"})

FIRST_DELAY = 60.0  # seconds before the second attempt
MAX_DELAY = 3600.0  # backoff never waits longer than this...
MAX_RETRY_AFTER = 86400.0  # ...unless they ask for more, up to a day
TOKEN_DELAY = 60.0  # how soon to ask again for the id behind a token
LEAD = frozenset({wf.LEAD})


def actor_for(system: ExternalSystem) -> str:
    """The audit and timeline label of what an outside system does on a case."""
    return f"open311:{system.name}"[:120]


def _event(appeal: Appeal, action: str, *, actor: str, note: str, **data: Any) -> None:
    """An internal timeline event (not a move: the case's status and version stay)."""
    Event.objects.create(
        appeal=appeal,
        at=clock.now(),
        actor=actor,
        unit=None,
        action=action,
        from_status=appeal.status,
        to_status=appeal.status,
        note=note,
        public=False,
        data=data,
    )


def _audit(handoff: Handoff, action: str, **extra: Any) -> None:
    audit.record(
        actor="system",
        action=f"open311.handoff.{action}",
        object_type="open311.handoff",
        object_id=handoff.pk,
        extra={"appeal": handoff.appeal_id, "system": handoff.system_id, **extra},
    )


# -- queue and cancel (inside the move's transaction) -------------------------------------------


def on_case_moved(sender: Any, *, appeal: Appeal, action: str, **kwargs: Any) -> None:
    """Receiver of ``appeals.signals.case_moved``: queue or cancel a handoff."""
    if action not in QUEUE_ACTIONS:
        if appeal.status in (Status.CLOSED, Status.RESOLVED):
            _drop_unsent(appeal, action)
        return
    system = (
        ExternalSystem.objects.filter(unit_id=appeal.lead_unit_id, active=True).first()
        if appeal.lead_unit_id
        else None
    )
    now = clock.now()
    # Whatever was with another system is no longer theirs.
    others = Handoff.objects.filter(appeal=appeal, state__in=OPEN_STATES).select_related("system")
    if system is not None:
        others = others.exclude(system=system)
    for old in others:
        Handoff.objects.filter(pk=old.pk).update(state=H.CANCELLED, closed_at=now)
        _event(
            appeal,
            "handoff_cancelled",
            actor="system",
            note=_("No longer with %(system)s: the case went to another unit.")
            % {"system": old.system.name},
            system=old.system.name,
            handoff=old.pk,
            external_id=old.external_id,
        )
        _audit(old, "cancel", move=action)
    if system is None:
        return
    handoff = Handoff.objects.filter(appeal=appeal, system=system).first()
    if handoff is not None and handoff.state in OPEN_STATES:
        return  # already theirs and on its way (a second dispatch to the same unit)
    fresh = {
        "state": H.QUEUED,
        "external_id": "",
        "token": "",
        "attempts": 0,
        "next_attempt_at": now,
        "last_attempt_at": None,
        "last_error": "",
        "external_status": "",
        "external_notes": "",
        "external_updated": "",
        "sent_at": None,
        "closed_at": None,
    }
    previous = ""
    if handoff is None:
        handoff = Handoff.objects.create(appeal=appeal, system=system, created_at=now, **fresh)
    else:  # closed or cancelled before: a new request at theirs
        previous = handoff.external_id
        Handoff.objects.filter(pk=handoff.pk).update(**fresh)
    _event(
        appeal,
        "handoff_queued",
        actor="system",
        note=_("Handed to %(system)s; it is sent in the background.") % {"system": system.name},
        system=system.name,
        handoff=handoff.pk,
        previous_external_id=previous,
    )
    _audit(handoff, "queue", move=action)


def _drop_unsent(appeal: Appeal, action: str) -> None:
    """A case finished here (merged as a duplicate, say) before it was sent: not sent at all."""
    for unsent in Handoff.objects.filter(appeal=appeal, state=H.QUEUED).select_related("system"):
        Handoff.objects.filter(pk=unsent.pk).update(state=H.CANCELLED, closed_at=clock.now())
        _event(
            appeal,
            "handoff_cancelled",
            actor="system",
            note=_("Not sent to %(system)s: the case was finished first.")
            % {"system": unsent.system.name},
            system=unsent.system.name,
            handoff=unsent.pk,
        )
        _audit(unsent, "cancel", move=action)


def idempotency_key(handoff: Handoff) -> str:
    """The same key for every attempt of one round (from one queueing to its request), so a
    server that honours Idempotency-Key creates the request once however often we retry."""
    queued = (
        Event.objects.filter(appeal_id=handoff.appeal_id, action="handoff_queued")
        .order_by("-at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    seed = f"civitas-handoff:{handoff.pk}:{queued or 0}"
    return hashlib.sha256(seed.encode()).hexdigest()[:40]


# -- outcomes (each in its own short transaction) ------------------------------------------------


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """The wait before the next attempt after ``attempts`` failures in a row."""
    base = min(FIRST_DELAY * 2 ** max(0, attempts - 1), MAX_DELAY)
    wait = base * random.uniform(0.85, 1.15)  # jitter, not a secret
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
    return timedelta(seconds=wait)


def _claimed(pk: int, state: str) -> Handoff | None:
    """The handoff row locked, if it is still in the state it was claimed in."""
    return (
        Handoff.objects.select_for_update()
        .select_related("system")
        .filter(pk=pk, state=state)
        .first()
    )


def failed(pk: int, state: str, error: HandoffError | str) -> Handoff | None:
    """Count a failed attempt, keep its error and put the next attempt off."""
    message = str(error)
    retry_after = error.retry_after if isinstance(error, HandoffError) else None
    with transaction.atomic():
        handoff = _claimed(pk, state)
        if handoff is None:
            return None
        now = clock.now()
        handoff.attempts += 1
        handoff.last_attempt_at = now
        handoff.last_error = message[:2000]
        handoff.next_attempt_at = now + backoff(handoff.attempts, retry_after)
        handoff.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at"])
        return handoff


def _ok(handoff: Handoff, now: Any) -> None:
    handoff.attempts = 0
    handoff.last_attempt_at = now
    handoff.last_error = ""


def sent(pk: int, created: Created) -> Handoff | None:
    """They took the request: keep their id (or token) and accept the case for the unit."""
    with transaction.atomic():
        handoff = _claimed(pk, H.QUEUED)
        if handoff is None:
            return None
        now = clock.now()
        system = handoff.system
        _ok(handoff, now)
        handoff.sent_at = now
        handoff.token = created.token
        if created.service_request_id:
            handoff.state = H.SENT
            handoff.external_id = created.service_request_id
            handoff.next_attempt_at = now + timedelta(seconds=system.poll_seconds)
        else:
            handoff.state = H.WAITING_ID
            handoff.next_attempt_at = now + timedelta(seconds=TOKEN_DELAY)
        handoff.save()
        appeal = Appeal.objects.get(pk=handoff.appeal_id)
        _event(
            appeal,
            "handoff_sent",
            actor=actor_for(system),
            note=(
                _("%(system)s registered the request as %(id)s.")
                % {"system": system.name, "id": created.service_request_id}
                if created.service_request_id
                else _("%(system)s took the request; its id follows (token %(token)s).")
                % {"system": system.name, "token": created.token}
            ),
            system=system.name,
            handoff=handoff.pk,
            external_id=created.service_request_id,
            token=created.token,
        )
        _audit(handoff, "sent", external_id=created.service_request_id, token=created.token)
        if created.service_request_id:
            _try(lambda: _accept(handoff, appeal))
        return handoff


def got_id(pk: int, external_id: str) -> Handoff | None:
    """The token resolved (or not yet, when ``external_id`` is empty)."""
    with transaction.atomic():
        handoff = _claimed(pk, H.WAITING_ID)
        if handoff is None:
            return None
        now = clock.now()
        _ok(handoff, now)
        if not external_id:
            handoff.next_attempt_at = now + timedelta(seconds=TOKEN_DELAY)
            handoff.save()
            return handoff
        handoff.state = H.SENT
        handoff.external_id = external_id
        handoff.next_attempt_at = now + timedelta(seconds=handoff.system.poll_seconds)
        handoff.save()
        appeal = Appeal.objects.get(pk=handoff.appeal_id)
        _event(
            appeal,
            "handoff_sent",
            actor=actor_for(handoff.system),
            note=_("%(system)s registered the request as %(id)s.")
            % {"system": handoff.system.name, "id": external_id},
            system=handoff.system.name,
            handoff=handoff.pk,
            external_id=external_id,
        )
        _audit(handoff, "sent", external_id=external_id)
        _try(lambda: _accept(handoff, appeal))
        return handoff


def _still_theirs(handoff: Handoff, appeal: Appeal) -> bool:
    return appeal.lead_unit_id == handoff.system.unit_id


def _accept(handoff: Handoff, appeal: Appeal) -> Appeal:
    """签收 for the lead unit when the case still waits for it."""
    if appeal.status == Status.DISPATCHED and _still_theirs(handoff, appeal):
        appeal = appeal_services.accept(
            actor=actor_for(handoff.system), appeal=appeal, parties=LEAD
        )
    return appeal


def polled(pk: int, remote: RemoteStatus | None) -> Handoff | None:
    """Apply their status to the case: progress on new notes, resolve when closed.

    ``remote`` None: they did not return the request (kept as an error, polled again)."""
    with transaction.atomic():
        handoff = _claimed(pk, H.SENT)
        if handoff is None:
            return None
        now = clock.now()
        system = handoff.system
        handoff.next_attempt_at = now + timedelta(seconds=system.poll_seconds)
        if remote is None:
            handoff.last_attempt_at = now
            handoff.last_error = _("%(system)s did not return the request %(id)s") % {
                "system": system.name,
                "id": handoff.external_id,
            }
            handoff.save()
            return handoff
        _ok(handoff, now)
        notes_changed = remote.status_notes != handoff.external_notes
        handoff.external_status = remote.status[:40]
        handoff.external_notes = remote.status_notes
        handoff.external_updated = remote.updated_datetime[:40]
        appeal = Appeal.objects.get(pk=handoff.appeal_id)
        if remote.closed:
            handoff.state = H.CLOSED
            handoff.closed_at = now
            handoff.save()
            _close(handoff, appeal, remote)
            return handoff
        handoff.save()
        if notes_changed and remote.status_notes:
            _progress(handoff, appeal, remote.status_notes)
        return handoff


def _try(step: Any) -> CivitasError | None:
    """Run a move of the case in a savepoint; its refusal is returned, not raised."""
    try:
        with transaction.atomic():
            step()
    except CivitasError as exc:
        return exc
    return None


def _progress(handoff: Handoff, appeal: Appeal, notes: str) -> None:
    system = handoff.system
    actor = actor_for(system)

    def step() -> None:
        case = _accept(handoff, appeal)
        appeal_services.progress(actor=actor, appeal=case, note=notes, parties=LEAD)

    if _still_theirs(handoff, appeal) and appeal.status in (Status.DISPATCHED, *wf.HANDLING):
        refused = _try(step)
        if refused is None:
            return
    _event(
        appeal,
        "handoff_update",
        actor=actor,
        note=_("%(system)s: %(notes)s") % {"system": system.name, "notes": notes},
        system=system.name,
        handoff=handoff.pk,
    )


def _close(handoff: Handoff, appeal: Appeal, remote: RemoteStatus) -> None:
    system = handoff.system
    actor = actor_for(system)
    if remote.status_notes:
        result = _("Closed by %(system)s: %(notes)s") % {
            "system": system.name,
            "notes": remote.status_notes,
        }
    else:
        result = _("Closed by %(system)s.") % {"system": system.name}

    def step() -> None:
        case = _accept(handoff, appeal)
        appeal_services.resolve(actor=actor, appeal=case, result=result, parties=LEAD)

    refused: CivitasError | None = None
    if _still_theirs(handoff, appeal) and appeal.status in (Status.DISPATCHED, Status.ACCEPTED):
        refused = _try(step)
        if refused is None:
            _audit(handoff, "closed", external_id=handoff.external_id)
            return
    appeal.refresh_from_db()
    why = (
        refused.message
        if refused is not None
        else _("the case is %(status)s here") % {"status": appeal.get_status_display()}
    )
    if appeal.status in wf.OPEN:
        handoff.last_error = _(
            "%(system)s closed its request, but the case could not be resolved "
            "automatically (%(why)s): the centre should look at it"
        ) % {"system": system.name, "why": why}
        handoff.save(update_fields=["last_error"])
    _event(
        appeal,
        "handoff_closed",
        actor=actor,
        note=result,
        system=system.name,
        handoff=handoff.pk,
        external_id=handoff.external_id,
    )
    _audit(handoff, "closed", external_id=handoff.external_id, resolved=False)


# -- for the case page --------------------------------------------------------------------------


def of_case(appeal: Appeal) -> list[Handoff]:
    return list(appeal.handoffs.select_related("system").order_by("-created_at", "-pk"))
