"""Response and resolution deadlines, and the traffic light of a case."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from civitas.appeals.models import Appeal
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


def overdue_filter_time(now: datetime | None = None) -> datetime:
    return now or clock.now()


def response_late(appeal: Appeal) -> bool:
    if appeal.respond_due is None:
        return False
    accepted = appeal.accepted_at or clock.now()
    return accepted > appeal.respond_due


ONE_MINUTE = timedelta(minutes=1)
