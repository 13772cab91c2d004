"""Reads for the assessment page, the API and the exports: roll-ups summed per unit, the live
count of open work (overdue, or still inside its response deadline), rates and ranks.

Every read goes through ``org.access.readable`` (roll-up rows, units, appeals)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import OPEN_STATUSES, Appeal
from civitas.assessment import rates as R
from civitas.assessment.models import COUNTERS, UnitDay
from civitas.assessment.services import day_bounds, zone
from civitas.kit import clock, replica
from civitas.kit.errors import InvalidInput
from civitas.matters.vocabulary import DepartmentType
from civitas.org.access import readable, require
from civitas.org.models import Unit, UnitKind

GROUPS = {"streets": _("Streets and townships"), "departments": _("Departments")}
STREET_LEVELS = ("street", "township")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    label: str

    @property
    def is_month(self) -> bool:
        return len(self.label) == 7

    def previous(self) -> Period:
        if self.is_month:
            last = self.first - timedelta(days=1)
            return month(last.year, last.month)
        d = self.first - timedelta(days=1)
        return Period(d, d, d.isoformat())


def month(year: int, mon: int) -> Period:
    first = date(year, mon, 1)
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    return Period(first, nxt - timedelta(days=1), f"{year:04d}-{mon:02d}")


def parse_period(text: str) -> Period:
    """``2026-11`` (a month) or ``2026-11-05`` (a day)."""
    m = _PERIOD.match((text or "").strip())
    try:
        if m is None:
            raise ValueError(text)
        year, mon, day = int(m[1]), int(m[2]), m[3]
        if day is None:
            return month(year, mon)
        d = date(year, mon, int(day))
        return Period(d, d, d.isoformat())
    except ValueError:
        raise InvalidInput(
            "write the period as YYYY-MM (a month) or YYYY-MM-DD (a day)",
            details={"field": "period"},
        ) from None


def group_filter(group: str) -> Q:
    if group == "streets":
        return Q(kind=UnitKind.GOVERNMENT) & (
            Q(department_type=DepartmentType.STREET_OFFICE)
            | Q(jurisdiction__level__code__in=STREET_LEVELS)
        )
    if group == "departments":
        return Q(kind=UnitKind.DEPARTMENT)
    raise InvalidInput(f"group must be one of {', '.join(GROUPS)}", details={"field": "group"})


def _rows(actor: Any) -> QuerySet[UnitDay]:
    return readable(actor, UnitDay.objects.all())


def cities(actor: Any) -> list[str]:
    """Cities of the units the actor may see (units, not roll-up rows: a cheap query)."""
    return sorted(set(readable(actor, Unit.objects.all()).values_list("city", flat=True)))


def latest_period(actor: Any, city: str) -> Period:
    """The latest month with figures the actor may see (this month when there are none)."""
    last = _rows(actor).filter(city=city).aggregate(d=Max("day"))["d"]
    last = last or clock.now().astimezone(zone()).date()
    return month(last.year, last.month)


@dataclass
class Line:
    unit: Unit
    counts: dict[str, int]
    rates: dict[str, float | None]
    score: float | None
    rank: int | None = None
    previous_score: float | None = None
    previous_rank: int | None = None

    @property
    def rate_list(self) -> list[float | None]:
        """The six rates in percent, in the order of ``rates.RATES``."""
        return percent(self.rates)

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return round(self.score - self.previous_score, 2)


@dataclass
class Table:
    city: str
    group: str
    period: Period
    previous: Period
    as_of: datetime
    lines: list[Line]
    total: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)


def percent(rates: dict[str, float | None]) -> list[float | None]:
    return [None if rates[k] is None else 100 * (rates[k] or 0.0) for k in R.RATES]


def _empty() -> dict[str, int]:
    return {**dict.fromkeys(COUNTERS, 0), "open_overdue": 0, "awaiting": 0}


def _counts(
    actor: Any, *, city: str, unit_ids: list[int], period: Period, as_of: datetime
) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    summed = (
        _rows(actor)
        .filter(city=city, day__gte=period.first, day__lte=period.last)
        .filter(unit_id__in=unit_ids)
        .values("unit_id")
        .annotate(**{c: Sum(c) for c in COUNTERS})
        .order_by()
    )
    for r in summed:
        out.setdefault(r.pop("unit_id"), _empty()).update({k: int(v or 0) for k, v in r.items()})
    # Live: open work of the period's cases, overdue now or still inside its response
    # deadline (only open cases are read: the (city, status, received_at) index).
    start, end = day_bounds(period.first, period.last)
    live = (
        readable(
            actor,
            Appeal.objects.filter(
                city=city,
                status__in=list(OPEN_STATUSES),
                received_at__gte=start,
                received_at__lt=end,
                lead_unit_id__in=unit_ids,
                dispatched_at__isnull=False,
            ),
        )
        .values("lead_unit_id")
        .annotate(
            open_overdue=Count("id", filter=Q(resolve_due__lt=as_of), distinct=True),
            awaiting=Count(
                "id",
                filter=Q(accepted_at__isnull=True, respond_due__gte=as_of),
                distinct=True,
            ),
        )
        .order_by()
    )
    for r in live:
        if r["lead_unit_id"] in out:
            out[r["lead_unit_id"]]["open_overdue"] = r["open_overdue"]
            out[r["lead_unit_id"]]["awaiting"] = r["awaiting"]
    return out


def _rank(lines: list[Line], attr: str, target: str) -> None:
    scored = sorted(
        (ln for ln in lines if getattr(ln, attr) is not None),
        key=lambda ln: -(getattr(ln, attr) or 0.0),
    )
    rank, last = 0, None
    for i, ln in enumerate(scored, start=1):
        value = getattr(ln, attr)
        if value != last:
            rank, last = i, value
        setattr(ln, target, rank)


@replica.reading()  # read-only figures: from the replica when there is one
def table(
    actor: Any,
    *,
    group: str = "streets",
    period: Period | str | None = None,
    city: str | None = None,
) -> Table:
    """The ranking of one group of units of one city for one period, with the period before."""
    require(actor, "assessment.read")
    group_filter(group)  # refuse an unknown group early
    if city is None:
        seen = cities(actor)
        city = seen[0] if seen else ""
    if isinstance(period, str) and period:
        period = parse_period(period)
    if not isinstance(period, Period):
        period = latest_period(actor, city)
    as_of = clock.now()
    w = R.weights()
    units = {
        u.pk: u
        for u in readable(actor, Unit.objects.filter(group_filter(group), city=city)).order_by(
            "code"
        )
    }
    ids = list(units)
    now_counts = _counts(actor, city=city, unit_ids=ids, period=period, as_of=as_of)
    before = period.previous()
    then_counts = _counts(actor, city=city, unit_ids=ids, period=before, as_of=as_of)
    lines: list[Line] = []
    for pk, unit in units.items():
        c = now_counts.get(pk, _empty())
        r = R.rates(c)
        line = Line(unit=unit, counts=c, rates=r, score=R.composite(r, w))
        if pk in then_counts:
            line.previous_score = R.composite(R.rates(then_counts[pk]), w)
        lines.append(line)
    _rank(lines, "score", "rank")
    _rank(lines, "previous_score", "previous_rank")
    lines.sort(
        key=lambda ln: (ln.rank is None, ln.rank or 0, -ln.counts["dispatched"], ln.unit.code)
    )
    total = _empty()
    for ln in lines:
        for k in total:
            total[k] += ln.counts[k]
    total_rates = R.rates(total)
    return Table(
        city=city,
        group=group,
        period=period,
        previous=before,
        as_of=as_of,
        lines=lines,
        total={"counts": total, "rates": total_rates, "score": R.composite(total_rates, w)},
        weights=w,
    )
