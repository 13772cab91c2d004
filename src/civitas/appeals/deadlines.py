"""Response and resolution deadlines, and the traffic light of a case."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import F, Q

from civitas.appeals.models import OPEN_STATUSES, Appeal
from civitas.kit import calendar, clock, durations

DEFAULTS = {
    "urgent": {"respond": "2h", "resolve": "24h"},
    "normal": {"respond": "24h", "resolve": "15wd"},
    "low": {"respond": "48h", "resolve": "20wd"},
}
GREEN, YELLOW, RED = "green", "yellow", "red"


def limits(appeal: Appeal) -> dict[str, str]:
    matter_limits = (appeal.matter.deadlines if appeal.matter else {}) or {}
    chosen = dict(DEFAULTS.get(appeal.urgency, DEFAULTS["normal"]))
    chosen.update(matter_limits.get(appeal.urgency, {}))
    return chosen


def due(appeal: Appeal, start: datetime, which: str) -> datetime:
    return calendar.add(
        start, durations.parse(limits(appeal)[which]), calendar=appeal.city, tz=settings.TIME_ZONE
    )


def set_deadlines(appeal: Appeal, start: datetime, *, respond: bool = True) -> None:
    if respond:
        appeal.respond_due = due(appeal, start, "respond")
    appeal.resolve_due = due(appeal, start, "resolve")


def extend(appeal: Appeal, working_days: int) -> None:
    base = appeal.resolve_due or clock.now()
    appeal.resolve_due = calendar.add(
        base, durations.Duration(working_days, "wd"), calendar=appeal.city, tz=settings.TIME_ZONE
    )


def warn_share() -> float:
    return float(getattr(settings, "CIVITAS_WARN_SHARE", 0.8))


def light(appeal: Appeal, now: datetime | None = None) -> str:
    """Green while in time, yellow past the warning share of the allowed time, red overdue."""
    if not appeal.is_open or appeal.resolve_due is None:
        return GREEN
    now = now or clock.now()
    if now >= appeal.resolve_due:
        return RED
    start = appeal.dispatched_at or appeal.received_at
    total = (appeal.resolve_due - start).total_seconds()
    if total > 0 and (now - start).total_seconds() >= warn_share() * total:
        return YELLOW
    return GREEN


def finished_at(appeal: Appeal) -> datetime | None:
    """When the unit's work ended: resolution (办结), else closing (e.g. as a duplicate)."""
    if appeal.is_open:
        return None
    return appeal.resolved_at or appeal.closed_at


def on_time(appeal: Appeal, as_of: datetime | None = None) -> bool:
    """Whether a case is (or was) within its resolution deadline, as of ``as_of`` (now).

    A finished case is on time when it was resolved (or closed) by ``resolve_due``; an open
    case while ``as_of`` has not passed ``resolve_due``; a case without a deadline is on time.
    This is the one definition (``on_time_q`` is the same rule as a database filter, for
    counting); the Boston replay is checked against the records with it.
    """
    if appeal.resolve_due is None:
        return True
    done = finished_at(appeal)
    if done is not None:
        return done <= appeal.resolve_due
    return (as_of or clock.now()) <= appeal.resolve_due


def on_time_q(as_of: datetime | None = None) -> Q:
    """``on_time`` as a database filter, for counting many cases at once."""
    as_of = as_of or clock.now()
    is_open = Q(status__in=OPEN_STATUSES)
    return (
        Q(resolve_due__isnull=True)
        | (is_open & Q(resolve_due__gte=as_of))
        | (~is_open & Q(resolved_at__isnull=False, resolved_at__lte=F("resolve_due")))
        | (~is_open & Q(resolved_at__isnull=True, closed_at__lte=F("resolve_due")))
        | (~is_open & Q(resolved_at__isnull=True, closed_at__isnull=True, resolve_due__gte=as_of))
    )
