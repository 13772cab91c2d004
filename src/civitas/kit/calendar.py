"""Business calendars: working days with public holidays and make-up working days.

Each city keeps its own list of exceptions (``CalendarDay``): a ``holiday`` on a weekday, or a
``workday`` on a weekend (China's 调休). Deadlines in working days (``15wd``) count whole
working days after the start and end at the same local time of day; hours and calendar days
are plain elapsed time, because urgent work does not stop at weekends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from civitas.kit.durations import Duration


@lru_cache(maxsize=64)
def _exceptions(calendar: str, version: int) -> dict[date, str]:
    from civitas.kit.models import CalendarDay

    return dict(CalendarDay.objects.filter(calendar=calendar).values_list("day", "kind"))


_versions: dict[str, int] = {}


def invalidate(calendar: str) -> None:
    """Forget cached exceptions of ``calendar`` (called by the services that change them)."""
    _versions[calendar] = _versions.get(calendar, 0) + 1


def is_working_day(day: date, *, calendar: str) -> bool:
    kind = _exceptions(calendar, _versions.get(calendar, 0)).get(day)
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return day.weekday() < 5


def add(start: datetime, duration: Duration, *, calendar: str, tz: str) -> datetime:
    """The moment ``duration`` after ``start`` (aware), on ``calendar`` in zone ``tz``."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if duration.unit == "m":
        return start + timedelta(minutes=duration.amount)
    if duration.unit == "h":
        return start + timedelta(hours=duration.amount)
    if duration.unit == "d":
        return start + timedelta(days=duration.amount)
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    remaining = round(duration.amount)
    day = local.date()
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, calendar=calendar):
            remaining -= 1
    end = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return end.astimezone(start.tzinfo)


def working_days_between(a: date, b: date, *, calendar: str) -> int:
    """Working days in (a, b]."""
    n, day = 0, a
    while day < b:
        day += timedelta(days=1)
        n += is_working_day(day, calendar=calendar)
    return n
