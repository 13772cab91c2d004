"""Civitas statuses and timeline actions in the words of GeoReport v2 and its extensions.

The standard knows ``open`` and ``closed``; the updates extension (``servicerequestupdates``)
reports the extended statuses FixMyStreet and other clients understand.
"""

from __future__ import annotations

from civitas.appeals.models import Status

CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})

OPEN = "OPEN"
CLOSED = "CLOSED"
FIXED = "FIXED"
IN_PROGRESS = "IN_PROGRESS"
ACTION_SCHEDULED = "ACTION_SCHEDULED"
INVESTIGATING = "INVESTIGATING"
DUPLICATE = "DUPLICATE"
NOT_RESPONSIBLE = "NOT_COUNCILS_RESPONSIBILITY"
NO_FURTHER_ACTION = "NO_FURTHER_ACTION"
INTERNAL_REFERRAL = "INTERNAL_REFERRAL"
EXTENDED = (
    OPEN,
    CLOSED,
    FIXED,
    IN_PROGRESS,
    ACTION_SCHEDULED,
    INVESTIGATING,
    DUPLICATE,
    NOT_RESPONSIBLE,
    NO_FURTHER_ACTION,
    INTERNAL_REFERRAL,
)

# A timeline action → the extended status it reports (actions not listed report by status).
_BY_ACTION = {
    "received": OPEN,
    "dispatch": OPEN,
    "redispatch": INTERNAL_REFERRAL,
    "arbitrate": INTERNAL_REFERRAL,
    "return": INTERNAL_REFERRAL,
    "accept": IN_PROGRESS,
    "progress": IN_PROGRESS,
    "reply": IN_PROGRESS,
    "whistle": IN_PROGRESS,
    "request_info": INVESTIGATING,
    "resident_info": IN_PROGRESS,
    "resume": IN_PROGRESS,
    "suspend": ACTION_SCHEDULED,
    "resolve": FIXED,
    "rate_closed": CLOSED,
    "close_review": CLOSED,
    "auto_close": CLOSED,
    "rate_reopen": OPEN,
    "reopen": OPEN,
    "rate_review": INVESTIGATING,
    "mark_duplicate": DUPLICATE,
}


def standard(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def extended(action: str, to_status: str) -> str:
    if action in _BY_ACTION:
        return _BY_ACTION[action]
    return CLOSED if to_status in CLOSED_STATUSES else OPEN
