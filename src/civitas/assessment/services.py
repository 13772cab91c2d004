"""Roll-ups: keep ``UnitDay`` rows in step with the appeals.

``refresh()`` recounts only the days touched since the last run: the days on which the cases
named by new timeline events were received. ``rebuild()`` recounts everything (after a bulk
load such as the Boston replay). Both are idempotent: running them twice gives the same rows.
Callers own the transaction (the command and the scheduled job open one).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate

from civitas.appeals.models import Appeal, Event, Rating, Satisfaction
from civitas.assessment.models import COUNTERS, RefreshState, UnitDay
from civitas.kit import clock

STATE = "unit_day"
BATCH_DAYS = 31
GAP_RUNS = 12  # how many runs a missing event id is looked for (an hour at 5 minutes)
MAX_GAPS = 10_000
MAX_GAP_SCAN = 1_000_000


def path_depth() -> int:
    """Roll-up rows keep the jurisdiction path down to this many levels (3: city, district,
    street), so a unit has a handful of rows a day, not one per community."""
    return int(getattr(settings, "CIVITAS_ASSESSMENT_PATH_DEPTH", 3))


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def cut_path(path: str, depth: int | None = None) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return ""
    return "/" + "/".join(parts[: depth or path_depth()]) + "/"


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Aware instants from the start of ``first`` to the end of ``last`` in local time."""
    tz = zone()
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    end = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class Refreshed:
    days: int
    rows: int
    seconds: float
    event_mark: int


Key = tuple[int, str, str, date]  # unit, city, path, day


def _key(r: dict[str, Any], unit: str, via: str) -> Key:
    return (r.pop(unit), r.pop(f"{via}city"), r.pop(f"{via}jurisdiction_path"), r.pop("d"))


def _count_days(days: list[date]) -> dict[Key, dict[str, int]]:
    """Count the cases received on ``days`` (contiguous runs queried together)."""
    tz = zone()
    wanted = set(days)
    rows: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    if not days:
        return rows
    start, end = day_bounds(min(days), max(days))
    received = {"received_at__gte": start, "received_at__lt": end}

    def add(key: Key, values: dict[str, Any]) -> None:
        if key[3] not in wanted:
            return
        k = (key[0], key[1], cut_path(key[2]), key[3])
        for name, value in values.items():
            rows[k][name] += int(value or 0)

    on_time_response = Q(accepted_at__isnull=False) & (
        Q(respond_due__isnull=True) | Q(accepted_at__lte=F("respond_due"))
    )
    resolved = Q(resolved_at__isnull=False)
    on_time_resolution = resolved & (
        Q(resolve_due__isnull=True) | Q(resolved_at__lte=F("resolve_due"))
    )
    cases = (
        Appeal.objects.filter(**received, lead_unit__isnull=False, dispatched_at__isnull=False)
        .annotate(d=TruncDate("received_at", tzinfo=tz))
        .values("lead_unit_id", "city", "jurisdiction_path", "d")
        .annotate(
            dispatched=Count("id"),
            responded_on_time=Count("id", filter=on_time_response),
            resolved=Count("id", filter=resolved),
            resolved_on_time=Count("id", filter=on_time_resolution),
            resolved_ever=Count("id", filter=resolved | Q(reopen_count__gt=0)),
            reopened=Count("id", filter=Q(reopen_count__gt=0)),
        )
        .order_by()
    )
    for r in cases:
        add(_key(r, "lead_unit_id", ""), r)

    ratings = (
        Rating.objects.filter(
            unit__isnull=False, **{f"appeal__{k}": v for k, v in received.items()}
        )
        .annotate(d=TruncDate("appeal__received_at", tzinfo=tz))
        .values("unit_id", "appeal__city", "appeal__jurisdiction_path", "d")
        .annotate(
            rated=Count("id"),
            solved=Count("id", filter=Q(solved=True)),
            satisfied=Count("id", filter=Q(satisfaction=Satisfaction.SATISFIED)),
            basic=Count("id", filter=Q(satisfaction=Satisfaction.BASIC)),
            dissatisfied=Count("id", filter=Q(satisfaction=Satisfaction.DISSATISFIED)),
        )
        .order_by()
    )
    for r in ratings:
        add(_key(r, "unit_id", "appeal__"), r)

    # A return is on the timeline with the unit that returned the case (its assignment is
    # withdrawn when the case is re-dispatched, so the timeline is the record).
    returns = (
        Event.objects.filter(
            action="return",
            unit__isnull=False,
            **{f"appeal__{k}": v for k, v in received.items()},
        )
        .annotate(d=TruncDate("appeal__received_at", tzinfo=tz))
        .values("unit_id", "appeal__city", "appeal__jurisdiction_path", "d")
        .annotate(returned=Count("id"))
        .order_by()
    )
    for r in returns:
        add(_key(r, "unit_id", "appeal__"), r)
    return rows


def _runs(days: Iterable[date]) -> list[list[date]]:
    """Split sorted days into batches of nearby days (one query per batch)."""
    batches: list[list[date]] = []
    for d in sorted(set(days)):
        if batches and (d - batches[-1][0]).days < BATCH_DAYS:
            batches[-1].append(d)
        else:
            batches.append([d])
    return batches


def _insert(rows: dict[Key, dict[str, int]]) -> int:
    """Insert roll-up rows with one ``executemany`` per chunk (Django's bulk_create spends
    most of a rebuild preparing values one by one)."""
    table = connection.ops.quote_name(UnitDay._meta.db_table)
    columns = ["unit_id", "city", "jurisdiction_path", "day", *COUNTERS]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    # Table and column names come from the model; values go as parameters.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
    values: list[Any] = [
        (k[0], k[1], k[2], connection.ops.adapt_datefield_value(k[3]), *(v[c] for c in COUNTERS))
        for k, v in rows.items()
        if any(v.values())
    ]
    with connection.cursor() as cursor:
        for i in range(0, len(values), 5000):
            cursor.executemany(sql, values[i : i + 5000])
    return len(values)


def recount(*, days: Iterable[date]) -> int:
    """Replace the rows of ``days`` with fresh counts. Returns the number of rows written."""
    written = 0
    for batch in _runs(days):
        counted = _count_days(batch)
        UnitDay.objects.filter(day__in=batch).delete()
        written += _insert(counted)
    return written


def _days_of(appeal_ids: Iterable[int]) -> set[date]:
    ids = list(set(appeal_ids))
    days: set[date] = set()
    for i in range(0, len(ids), 500):
        days |= set(
            Appeal.objects.filter(pk__in=ids[i : i + 500])
            .annotate(d=TruncDate("received_at", tzinfo=zone()))
            .values_list("d", flat=True)
            .distinct()
        )
    return days


def _state() -> RefreshState:
    state, _ = RefreshState.objects.select_for_update().get_or_create(name=STATE)
    return state


def _finish(
    state: RefreshState,
    *,
    days: int,
    rows: int,
    mark: int,
    started: float,
    pending: list[Any],
    appeal_mark: int,
) -> Refreshed:
    state.event_mark, state.pending = mark, pending
    state.appeal_mark = max(state.appeal_mark, appeal_mark)
    state.ran_at = clock.now()
    state.days = days
    state.seconds = round(time.perf_counter() - started, 3)
    state.save()
    return Refreshed(days=days, rows=rows, seconds=state.seconds, event_mark=mark)


def _new_events(state: RefreshState, mark: int) -> tuple[set[int], list[Any]]:
    """Appeals named by events after the last mark, or by events that were missing then.

    An id below the mark that was missing at the last run (a gap) belongs to a transaction
    still running then, or rolled back. Gaps are looked for again for ``GAP_RUNS`` runs.
    """
    pending = {int(i): int(age) for i, age in state.pending}
    q = Q(id__gt=state.event_mark, id__lte=mark)
    if pending:
        q |= Q(id__in=list(pending))
    seen: dict[int, int] = dict(Event.objects.filter(q).values_list("id", "appeal_id"))
    keep = [[i, age + 1] for i, age in pending.items() if i not in seen and age + 1 < GAP_RUNS]
    if mark - state.event_mark <= MAX_GAP_SCAN:
        gaps = set(range(state.event_mark + 1, mark + 1)) - set(seen)
        keep += [[i, 0] for i in sorted(gaps)]
    return set(seen.values()), keep[-MAX_GAPS:]


def refresh(*, since: datetime | None = None) -> Refreshed:
    """Recount the days touched since the last run (or by cases changed since ``since``).

    The first run, with no mark yet, rebuilds everything.
    """
    started = time.perf_counter()
    state = _state()
    mark = Event.objects.aggregate(m=Max("id"))["m"] or 0
    appeal_mark = Appeal.objects.aggregate(m=Max("id"))["m"] or 0
    pending: list[Any] = state.pending
    if since is not None:
        days = _days_of(Appeal.objects.filter(updated_at__gte=since).values_list("id", flat=True))
        mark = state.event_mark  # the events since the mark are still to be read
    elif state.ran_at is None:
        return _rebuild(state, mark, appeal_mark, started)
    else:
        appeal_ids, pending = _new_events(state, mark)
        days = _days_of(appeal_ids)
        # Appeals loaded in bulk, without timeline events.
        loaded = Appeal.objects.filter(id__gt=state.appeal_mark, id__lte=appeal_mark)
        days |= set(
            loaded.annotate(d=TruncDate("received_at", tzinfo=zone()))
            .values_list("d", flat=True)
            .order_by()
            .distinct()
        )
    rows = recount(days=days)
    return _finish(
        state,
        days=len(days),
        rows=rows,
        mark=mark,
        started=started,
        pending=pending,
        appeal_mark=appeal_mark,
    )


def rebuild() -> Refreshed:
    """Recount every day that has cases (and drop rows of days that no longer have any)."""
    started = time.perf_counter()
    state = _state()
    mark = Event.objects.aggregate(m=Max("id"))["m"] or 0
    appeal_mark = Appeal.objects.aggregate(m=Max("id"))["m"] or 0
    return _rebuild(state, mark, appeal_mark, started)


def _rebuild(state: RefreshState, mark: int, appeal_mark: int, started: float) -> Refreshed:
    span = Appeal.objects.aggregate(first=Min("received_at"), last=Max("received_at"))
    UnitDay.objects.all().delete()
    days: list[date] = []
    if span["first"] is not None:
        tz = zone()
        d, last = span["first"].astimezone(tz).date(), span["last"].astimezone(tz).date()
        while d <= last:
            days.append(d)
            d += timedelta(days=1)
    rows = recount(days=days)
    # A full rebuild saw everything committed so far: the next run starts from here.
    return _finish(
        state,
        days=len(days),
        rows=rows,
        mark=mark,
        started=started,
        pending=[],
        appeal_mark=appeal_mark,
    )


def totals() -> dict[str, int]:
    """Sum of every counter over every row (for checks and the command's report)."""
    agg = UnitDay.objects.aggregate(**{c: Sum(c) for c in COUNTERS})
    return {c: int(agg[c] or 0) for c in COUNTERS}
