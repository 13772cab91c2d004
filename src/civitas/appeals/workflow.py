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

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

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
APP = "app"  # the client application (an Open311 app) that submitted the case

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
    "comment": _m((*OPEN, S.RESOLVED), None, RESIDENT, OPERATOR, APP),
}


# What each action is called in messages to people ("cannot <label> <ticket> ...").
ACTION_LABELS: dict[str, Any] = {
    "hold_for_triage": pgettext_lazy("workflow action", "hold for triage"),
    "dispatch": pgettext_lazy("workflow action", "dispatch"),
    "redispatch": pgettext_lazy("workflow action", "redispatch"),
    "accept": pgettext_lazy("workflow action", "accept"),
    "return": pgettext_lazy("workflow action", "return"),
    "arbitrate": pgettext_lazy("workflow action", "arbitrate"),
    "add_co_handler": pgettext_lazy("workflow action", "add a co-handler to"),
    "co_done": pgettext_lazy("workflow action", "report a co-handled part done on"),
    "progress": pgettext_lazy("workflow action", "record progress on"),
    "internal_note": pgettext_lazy("workflow action", "add an internal note to"),
    "request_info": pgettext_lazy("workflow action", "ask the resident about"),
    "resident_info": pgettext_lazy("workflow action", "answer the question on"),
    "reply": pgettext_lazy("workflow action", "reply on"),
    "request_extension": pgettext_lazy("workflow action", "request an extension for"),
    "decide_extension": pgettext_lazy("workflow action", "decide an extension for"),
    "request_suspension": pgettext_lazy("workflow action", "request a suspension of"),
    "decide_suspension": pgettext_lazy("workflow action", "decide a suspension of"),
    "suspend": pgettext_lazy("workflow action", "suspend"),
    "resume": pgettext_lazy("workflow action", "resume"),
    "whistle": pgettext_lazy("workflow action", "summon departments to"),
    "report_summons": pgettext_lazy("workflow action", "report to the summons on"),
    "resolve": pgettext_lazy("workflow action", "resolve"),
    "rate_closed": pgettext_lazy("workflow action", "rate and close"),
    "rate_reopen": pgettext_lazy("workflow action", "rate and reopen"),
    "rate_review": pgettext_lazy("workflow action", "rate and send to review"),
    "reopen": pgettext_lazy("workflow action", "reopen"),
    "close_review": pgettext_lazy("workflow action", "close the review of"),
    "auto_close": pgettext_lazy("workflow action", "close automatically"),
    "escalate": pgettext_lazy("workflow action", "supervise"),
    "mark_duplicate": pgettext_lazy("workflow action", "merge as a duplicate"),
    "relocate": pgettext_lazy("workflow action", "correct the place of"),
    "reclassify": pgettext_lazy("workflow action", "correct the category of"),
    "comment": pgettext_lazy("workflow action", "comment on"),
}


def action_label(action: str) -> str:
    """The action as people read it in a message, in the active language."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action.replace("_", " ")


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
        raise NotFound(_("unknown action %(action)s") % {"action": repr(action)})
    locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleCase(
            _(
                "%(ticket)s changed while you were looking at it (now: %(status)s); "
                "reload the case and try again"
            )
            % {"ticket": locked.ticket, "status": locked.get_status_display()},
            details={"version": locked.version},
        )
    if locked.status not in move.sources:
        raise IllegalMove(
            _("cannot %(action)s %(ticket)s while it is %(status)s")
            % {
                "action": action_label(action),
                "ticket": locked.ticket,
                "status": locked.get_status_display(),
            },
            details={"status": locked.status, "action": action},
        )
    if not parties & move.parties:
        raise Forbidden(
            _("you may not %(action)s %(ticket)s")
            % {"action": action_label(action), "ticket": locked.ticket},
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
    from civitas.appeals import followers, signals

    shown = move.public if public is None else public
    followers.case_moved(locked, action=action, public=shown, note=note)
    signals.case_moved.send(Appeal, appeal=locked, action=action, public=shown, note=note)
    return locked
