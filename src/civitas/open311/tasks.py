"""Scheduled Open311 work: deferred requests (tokens) and handoffs to outside systems.

``run_handoffs`` claims the handoffs that are due in a short transaction (``SKIP LOCKED``, so
several workers share them; a claim puts the handoff's next attempt a lease ahead, so a worker
that dies leaves it due again), then talks to the outside systems with no transaction open,
then records each outcome in its own short transaction (``civitas.open311.handoff``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction

from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.open311 import client, handoff
from civitas.open311.models import Handoff

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claimed handoff is not claimed again before this
BATCH = 50  # ids per GET requests


@dataclass
class Outcome:
    sent: int = 0
    waiting: int = 0
    polled: int = 0
    closed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(limit: int) -> list[Handoff]:
    now = clock.now()
    with transaction.atomic():
        due = list(
            Handoff.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("system")
            .filter(state__in=handoff.OPEN_STATES, next_attempt_at__lte=now, system__active=True)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        Handoff.objects.filter(pk__in=[h.pk for h in due]).update(next_attempt_at=now + LEASE)
    return due


def _failed(h: Handoff, error: Exception, outcome: Outcome) -> None:
    if not isinstance(error, client.HandoffError):
        log.exception("open311 handoff %s failed unexpectedly", h.pk, exc_info=error)
        error = client.HandoffError(f"{type(error).__name__}: {error}")
    handoff.failed(h.pk, h.state, error)
    outcome.failed += 1
    outcome.errors.append(str(error))


def _send(h: Handoff, outcome: Outcome, transport: Any) -> None:
    try:
        appeal = Appeal.objects.select_related("matter", "jurisdiction", "contact").get(
            pk=h.appeal_id
        )
        created = client.post_request(
            h.system, appeal, idempotency_key=handoff.idempotency_key(h), transport=transport
        )
    except Exception as exc:  # every failure is kept on the handoff
        _failed(h, exc, outcome)
        return
    done = handoff.sent(h.pk, created)
    if done is not None:
        outcome.sent += 1
        if done.state == Handoff.State.WAITING_ID:
            outcome.waiting += 1


def _resolve_token(h: Handoff, outcome: Outcome, transport: Any) -> None:
    try:
        external_id = client.get_token(h.system, h.token, transport=transport)
    except Exception as exc:
        _failed(h, exc, outcome)
        return
    handoff.got_id(h.pk, external_id)
    if not external_id:
        outcome.waiting += 1


def _poll(handoffs: list[Handoff], outcome: Outcome, transport: Any) -> None:
    """One GET requests for up to BATCH handoffs of one system."""
    system = handoffs[0].system
    try:
        found = client.get_requests(system, [h.external_id for h in handoffs], transport=transport)
    except Exception as exc:
        for h in handoffs:
            _failed(h, exc, outcome)
        return
    for h in handoffs:
        done = handoff.polled(h.pk, found.get(h.external_id))
        outcome.polled += 1
        if done is not None and done.state == Handoff.State.CLOSED:
            outcome.closed += 1


def run_handoffs(limit: int = 200, *, transport: Any = None) -> Outcome:
    """Send due handoffs, ask for the ids behind tokens, and poll sent ones.

    ``transport`` (an httpx transport) is for tests; it defaults to real HTTP."""
    outcome = Outcome()
    polls: dict[int, list[Handoff]] = defaultdict(list)
    for h in _claim(limit):
        if h.state == Handoff.State.QUEUED:
            _send(h, outcome, transport)
        elif h.state == Handoff.State.WAITING_ID:
            _resolve_token(h, outcome, transport)
        else:
            polls[h.system_id].append(h)
    for group in polls.values():
        for start in range(0, len(group), BATCH):
            _poll(group[start : start + BATCH], outcome, transport)
    return outcome


def run_pending() -> None:
    """Create the appeals of requests accepted with a token."""
    from civitas.open311 import server

    server.process_pending()
