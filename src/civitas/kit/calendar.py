"""Business calendars: working days with public holidays and make-up working days.

Each city keeps its own list of exceptions (``CalendarDay``): a ``holiday`` on a weekday, or a
``workday`` on a weekend (China's 调休). Deadlines in working days (``15wd``) count whole
working days after the start and end at the same local time of day; hours and calendar days
are plain elapsed time, because urgent work does not stop at weekends.

The exceptions of a calendar are cached in each process. The services below invalidate the
cache of the writing process at once; other processes (web workers, ``civitas worker``)
notice a change within ``RECHECK_SECONDS`` through a cheap count/max(id) query (every change
replaces the row, so its id changes).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Max

from civitas.kit import audit
from civitas.kit.durations import Duration
from civitas.kit.errors import InvalidInput, NotFound

RECHECK_SECONDS = 2.0
KINDS = ("holiday", "workday")


@dataclass
class _Cached:
    days: dict[date, str]
    signature: tuple[int, int | None]
    checked: float


_cache: dict[str, _Cached] = {}


def _signature(calendar: str) -> tuple[int, int | None]:
    from civitas.kit.models import CalendarDay

    row = CalendarDay.objects.filter(calendar=calendar).aggregate(n=Count("id"), top=Max("id"))
    return (row["n"], row["top"])


def _exceptions(calendar: str) -> dict[date, str]:
    from civitas.kit.models import CalendarDay

    cached = _cache.get(calendar)
    now = time.monotonic()
    if cached is not None and now - cached.checked < RECHECK_SECONDS:
        return cached.days
    signature = _signature(calendar)
    if cached is not None and cached.signature == signature:
        cached.checked = now
        return cached.days
    days = dict(CalendarDay.objects.filter(calendar=calendar).values_list("day", "kind"))
    _cache[calendar] = _Cached(days, signature, now)
    return days


def invalidate(calendar: str | None = None) -> None:
    """Forget cached exceptions of ``calendar`` (of every calendar when None)."""
    if calendar is None:
        _cache.clear()
    else:
        _cache.pop(calendar, None)


def _working(day: date, exceptions: dict[date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == "holiday":
        return False
    if kind == "workday":
        return True
    return day.weekday() < 5


def is_working_day(day: date, *, calendar: str) -> bool:
    return _working(day, _exceptions(calendar))


def add(start: datetime, duration: Duration, *, calendar: str, tz: str) -> datetime:
    """The moment ``duration`` after ``start`` (aware), on ``calendar`` in zone ``tz``.

    Working days end at the same local wall-clock time as the start, also across a daylight
    saving change (a case received at 10:00 is due at 10:00 local time).
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    elapsed = {"m": "minutes", "h": "hours", "d": "days"}.get(duration.unit)
    if elapsed is not None:
        # in UTC: adding to a local time would add wall-clock time across a DST change
        delta = timedelta(**{elapsed: duration.amount})
        return (start.astimezone(UTC) + delta).astimezone(start.tzinfo)
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    exceptions = _exceptions(calendar)
    remaining = round(duration.amount)
    day = local.date()
    while remaining > 0:
        day += timedelta(days=1)
        if _working(day, exceptions):
            remaining -= 1
    end = datetime.combine(day, local.timetz().replace(tzinfo=None, fold=0), tzinfo=zone)
    return end.astimezone(start.tzinfo)


def working_days_between(a: date, b: date, *, calendar: str) -> int:
    """Working days in (a, b]."""
    exceptions = _exceptions(calendar)
    n, day = 0, a
    while day < b:
        day += timedelta(days=1)
        n += _working(day, exceptions)
    return n


# -- services: every change is audited ---------------------------------------------------------


def _check_calendar(calendar: str) -> str:
    calendar = (calendar or "").strip()
    if not calendar or len(calendar) > 40:
        raise InvalidInput("name the calendar (the city code)", details={"field": "calendar"})
    return calendar


def _check_day(day: date, kind: str, name: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(
            f"kind must be holiday or workday, not {kind!r}", details={"field": "kind"}
        )
    if kind == "workday" and day.weekday() < 5:
        raise InvalidInput(
            f"{day.isoformat()} is a {day:%A}, a working day already: a make-up working day "
            "falls on a weekend",
            details={"field": "kind"},
        )
    if len(name) > 120:
        raise InvalidInput("the name is at most 120 characters", details={"field": "name"})


def set_day(
    *, actor: Any, calendar: str, day: date, kind: str, name: str = "", reason: str = ""
) -> bool:
    """Make ``day`` a holiday or a make-up working day of ``calendar``. Returns False when it
    already was exactly that (nothing changes, nothing is audited). Runs in the caller's
    transaction."""
    from civitas.kit.models import CalendarDay

    calendar = _check_calendar(calendar)
    name = (name or "").strip()
    _check_day(day, kind, name)
    existing = CalendarDay.objects.filter(calendar=calendar, day=day).first()
    if existing is not None and existing.kind == kind and existing.name == name:
        return False
    before = {"kind": existing.kind, "name": existing.name} if existing else None
    if existing is not None:
        existing.delete()  # replaced, so that other processes see a new id
    CalendarDay.objects.create(calendar=calendar, day=day, kind=kind, name=name)
    audit.record(
        actor=actor,
        action="calendar.set_day",
        object_type="kit.calendarday",
        object_id=f"{calendar}:{day.isoformat()}",
        before=before,
        after={"kind": kind, "name": name},
        reason=reason,
    )
    _changed(calendar)
    return True


def remove_day(*, actor: Any, calendar: str, day: date, reason: str = "") -> None:
    """Return ``day`` to the ordinary week (Monday to Friday work)."""
    from civitas.kit.models import CalendarDay

    calendar = _check_calendar(calendar)
    existing = CalendarDay.objects.filter(calendar=calendar, day=day).first()
    if existing is None:
        raise NotFound(f"{day.isoformat()} is not an exception in calendar {calendar}")
    existing.delete()
    audit.record(
        actor=actor,
        action="calendar.remove_day",
        object_type="kit.calendarday",
        object_id=f"{calendar}:{day.isoformat()}",
        before={"kind": existing.kind, "name": existing.name},
        reason=reason,
    )
    _changed(calendar)


def _changed(calendar: str) -> None:
    invalidate(calendar)
    transaction.on_commit(lambda: invalidate(calendar))


@dataclass(frozen=True)
class DayIn:
    day: date
    kind: str
    name: str


def parse_csv(text: str) -> list[DayIn]:
    """Rows ``date,kind,name`` (a header row is optional). Collects every problem and raises
    one InvalidInput naming each line and field."""
    problems: list[str] = []
    out: list[DayIn] = []
    seen: dict[date, int] = {}
    for lineno, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if lineno == 1 and row[0].strip().lower() == "date":
            continue
        if len(row) < 2 or len(row) > 3:
            problems.append(f"line {lineno}: expected date,kind,name ({len(row)} fields found)")
            continue
        raw_day, kind = row[0].strip(), row[1].strip().lower()
        name = row[2].strip() if len(row) == 3 else ""
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"line {lineno}, field date: {raw_day!r} is not a date (YYYY-MM-DD)")
            continue
        try:
            _check_day(day, kind, name)
        except InvalidInput as exc:
            field = (exc.details or {}).get("field", "kind")
            problems.append(f"line {lineno}, field {field}: {exc.message}")
            continue
        if day in seen:
            problems.append(
                f"line {lineno}, field date: {raw_day} already appears on line {seen[day]}"
            )
            continue
        seen[day] = lineno
        out.append(DayIn(day, kind, name))
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s) in the calendar file, nothing was imported:\n"
            + "\n".join(problems),
            details={"problems": problems},
        )
    return out


def load_days(*, actor: Any, calendar: str, days: Iterable[DayIn], reason: str = "") -> int:
    """Set every day (all in the caller's transaction); return how many changed."""
    return sum(
        set_day(actor=actor, calendar=calendar, day=d.day, kind=d.kind, name=d.name, reason=reason)
        for d in days
    )


def days_of(calendar: str, year: int | None = None) -> list[Any]:
    from civitas.kit.models import CalendarDay

    qs = CalendarDay.objects.filter(calendar=calendar)
    if year is not None:
        qs = qs.filter(day__year=year)
    return list(qs.order_by("day"))


def calendars() -> list[tuple[str, int]]:
    from civitas.kit.models import CalendarDay

    return list(
        CalendarDay.objects.values_list("calendar")
        .annotate(n=Count("id"))
        .order_by("calendar")
        .values_list("calendar", "n")
    )
