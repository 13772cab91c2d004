"""The appeal lifecycle as one table, and the one function that moves a case.

``TRANSITIONS[action]`` says from which statuses an action may be taken, the status it leads
to (``None``: unchanged) and which parties may take it. ``transition()`` locks the case row,
checks the move, the actor's right and the version the actor saw, applies the change, and
writes the timeline event and the audit entry in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from civitas.appeals.models import Appeal, Event, Status
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, NotFound

S = Status

# Parties, decided per case by civitas.appeals.parties.parties_of(actor, appeal):
CENTRE = "centre"  # dispatchers (and operators) whose scope covers the case
OPERATOR = "operator"  # hotline operators whose scope covers the case
LEAD = "lead"  # handlers and leaders of the lead unit
LEADER = "leader"  # leaders of the lead unit
CO = "co"  # handlers of a co-handling unit
SUMMONED = "summoned"  # handlers of a department summoned by whistle
RESIDENT = "resident"  # the appellant (account or tracking token)
SYSTEM = "system"  # background work and intake

OPEN = (
    S.RECEIVED,
    S.TRIAGE,
    S.DISPATCHED,
    S.ACCEPTED,
    S.WAITING_RESIDENT,
    S.SUSPENDED,
    S.RETURNED,
    S.REVIEW,
)
HANDLING = (S.ACCEPTED, S.WAITING_RESIDENT)


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    target: str | None
    parties: frozenset[str]
    public: bool = True  # shown on the resident's tracking page


def _m(sources: tuple[str, ...], target: str | None, *parties: str, public: bool = True) -> Move:
    return Move(tuple(sources), target, frozenset(parties), public)


TRANSITIONS: dict[str, Move] = {
    "hold_for_triage": _m((S.RECEIVED,), S.TRIAGE, SYSTEM, CENTRE, public=False),
    "dispatch": _m((S.RECEIVED, S.TRIAGE, S.RETURNED, S.REVIEW), S.DISPATCHED, SYSTEM, CENTRE),
    "redispatch": _m((S.DISPATCHED, S.ACCEPTED), S.DISPATCHED, CENTRE),
    "accept": _m((S.DISPATCHED,), S.ACCEPTED, LEAD),
    "return": _m((S.DISPATCHED, S.ACCEPTED), S.RETURNED, LEAD),
    "arbitrate": _m((S.RETURNED,), S.DISPATCHED, CENTRE),
    "add_co_handler": _m((S.DISPATCHED, S.ACCEPTED), None, CENTRE, LEAD, public=False),
    "co_done": _m(HANDLING, None, CO, public=False),
    "progress": _m(HANDLING, None, LEAD, CO),
    "internal_note": _m(
        (*OPEN, S.RESOLVED, S.CLOSED), None, CENTRE, LEAD, CO, SUMMONED, public=False
    ),
    "request_info": _m((S.ACCEPTED,), S.WAITING_RESIDENT, LEAD),
    "resident_info": _m((S.WAITING_RESIDENT,), S.ACCEPTED, RESIDENT, OPERATOR),
    "reply": _m(HANDLING, None, LEAD),
    "request_extension": _m(HANDLING, None, LEAD, public=False),
    "decide_extension": _m((*HANDLING, S.SUSPENDED), None, LEADER, CENTRE, public=False),
    "request_suspension": _m(HANDLING, None, LEAD, public=False),
    "decide_suspension": _m(HANDLING, None, LEADER, CENTRE, public=False),
    "suspend": _m(HANDLING, S.SUSPENDED, SYSTEM),
    "resume": _m((S.SUSPENDED,), S.ACCEPTED, LEAD, CENTRE),
    "whistle": _m((S.DISPATCHED, S.ACCEPTED), None, LEAD, CENTRE),
    "report_summons": _m(OPEN, None, SUMMONED, public=False),
    "resolve": _m((S.ACCEPTED,), S.RESOLVED, LEAD),
    "rate_closed": _m((S.RESOLVED,), S.CLOSED, RESIDENT, OPERATOR),
    "rate_reopen": _m((S.RESOLVED,), S.DISPATCHED, RESIDENT, OPERATOR),
    "rate_review": _m((S.RESOLVED,), S.REVIEW, RESIDENT, OPERATOR),
    "reopen": _m((S.REVIEW, S.CLOSED), S.DISPATCHED, CENTRE),
    "close_review": _m((S.REVIEW,), S.CLOSED, CENTRE),
    "auto_close": _m((S.RESOLVED,), S.CLOSED, SYSTEM),
    "escalate": _m(OPEN, None, SYSTEM, CENTRE, public=False),
    "mark_duplicate": _m((S.RECEIVED, S.TRIAGE, S.DISPATCHED), S.CLOSED, CENTRE, SYSTEM),
    "relocate": _m((S.RECEIVED, S.TRIAGE, S.RETURNED, S.REVIEW), None, CENTRE, public=False),
    "reclassify": _m((S.RECEIVED, S.TRIAGE, S.RETURNED, S.REVIEW), None, CENTRE, public=False),
}


class IllegalMove(Conflict):
    code = "illegal_transition"


class StaleCase(Conflict):
    code = "stale_case"


def allowed_actions(appeal: Appeal, parties: frozenset[str]) -> list[str]:
    """The actions these parties may take on the case in its current status."""
    return [
        name
        for name, move in TRANSITIONS.items()
        if appeal.status in move.sources and parties & move.parties
    ]


def transition(
    *,
    appeal: Appeal,
    action: str,
    actor: Any,
    parties: frozenset[str],
    expected_version: int | None = None,
    note: str = "",
    apply: Callable[[Appeal], dict[str, Any] | None] | None = None,
    public: bool | None = None,
    unit: Any = None,
) -> Appeal:
    """Move ``appeal`` by ``action``. Runs inside the caller's transaction.

    ``apply`` changes the locked case (and related rows) and may return data for the event.
    Raises IllegalMove (409) for a move the table does not allow from the current status,
    Forbidden (403) when none of the actor's parties may take it, StaleCase (409) when the
    case changed since the actor saw it.
    """
    move = TRANSITIONS.get(action)
    if move is None:
        raise NotFound(f"unknown action {action!r}")
    locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleCase(
            f"{locked.ticket} changed while you were looking at it (now: "
            f"{locked.get_status_display()}); reload the case and try again",
            details={"version": locked.version},
        )
    if locked.status not in move.sources:
        raise IllegalMove(
            f"cannot {action.replace('_', ' ')} {locked.ticket} while it is "
            f"{locked.get_status_display()}",
            details={"status": locked.status, "action": action},
        )
    if not parties & move.parties:
        raise Forbidden(
            f"you may not {action.replace('_', ' ')} {locked.ticket}",
            details={"action": action},
        )
    before = {"status": locked.status, "lead_unit": locked.lead_unit_id}
    from_status = locked.status
    data = (apply(locked) if apply else None) or {}
    if move.target is not None:
        locked.status = move.target
    locked.version += 1
    locked.save()
    now = clock.now()
    Event.objects.create(
        appeal=locked,
        at=now,
        actor=audit.actor_label(actor),
        unit=unit,
        action=action,
        from_status=from_status,
        to_status=locked.status,
        note=note,
        public=move.public if public is None else public,
        data=data,
    )
    audit.record(
        actor=actor,
        action=f"appeal.{action}",
        object_type="appeals.appeal",
        object_id=locked.ticket,
        before=before,
        after={"status": locked.status, "lead_unit": locked.lead_unit_id, **data},
        reason=note[:500],
    )
    appeal.__dict__.update(locked.__dict__)
    from civitas.appeals import followers

    followers.case_moved(
        locked, action=action, public=move.public if public is None else public, note=note
    )
    return locked
