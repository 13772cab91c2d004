"""Reads for the command centre (/command/): the figures of one area and of its subdivisions.

Every read goes through ``org.access.readable`` and stays bounded, so the page costs the same
with a year of appeals as with a week:

- appeals per subdivision over 30 days come from the assessment roll-up (``UnitDay``, cases
  handed to a unit, by the day they came in) for the days before today, plus a live count of
  today's appeals (one day of the ``received_at`` index). Below the depth the roll-up keeps
  (streets), the area is small and its 30 days are counted from the appeals;
- today's intake and the same weekday's average read five single days of appeals;
- the three rates are ``assessment.rates`` over the roll-up of this month, with the same live
  open work the assessment page adds (overdue, or still inside the response deadline);
- overdue work reads open cases only; top matters read 35 days of appeals of the area;
- alerts and risks are small tables, read open rows only.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import OPEN_STATUSES, Appeal, Channel
from civitas.assessment import rates as R
from civitas.assessment.models import COUNTERS, UnitDay
from civitas.assessment.selectors import Period, month
from civitas.assessment.services import day_bounds, path_depth, zone
from civitas.geo.models import Jurisdiction
from civitas.kit import clock, replica
from civitas.kit.errors import Forbidden, NotFound
from civitas.matters.models import Matter
from civitas.org.access import readable, require, scope_of
from civitas.org.models import Unit
from civitas.risk.models import LEVEL_RANK, Alert, AlertStatus, Level, RiskItem, RiskStatus

WINDOWS = ("today", "week", "month")
WINDOW_DAYS = {"today": 1, "week": 7, "month": 30}
WINDOW_LABELS = {"today": _("Today"), "week": _("Last 7 days"), "month": _("Last 30 days")}
METRICS = (*WINDOWS, "risk")
WEEKS_BACK = 4  # same weekday average over this many previous weeks
TREND_DAYS = 35  # the last 7 days and the 28 before them
TOP_MATTERS = 8
ALERTS_SHOWN = 12
OVERDUE_UNITS = 10
RISKS_SHOWN = 8
PAST_TTL = 300  # seconds the figures of past days are kept
LEVEL_ORDER = (Level.RED, Level.ORANGE, Level.YELLOW, Level.BLUE)


# -- the area -------------------------------------------------------------------------------


def roots(actor: Any) -> list[Jurisdiction]:
    """The top jurisdictions of the actor's scope: the city for the city centre, the district
    for a district centre, the jurisdictions of the units of someone who sees only units."""
    scope = scope_of(actor)
    base = Jurisdiction.objects.select_related("level")
    if scope.everything:
        return list(base.filter(parent__isnull=True).order_by("code"))
    paths = set(scope.paths)
    if scope.unit_ids:
        paths |= set(
            Unit.objects.filter(pk__in=scope.unit_ids).values_list("jurisdiction__path", flat=True)
        )
    kept = [p for p in sorted(paths, key=len) if not any(p != k and p.startswith(k) for k in paths)]
    found = {j.path: j for j in base.filter(path__in=kept)}
    return [found[p] for p in sorted(found)]


def area_of(actor: Any, code: str | None) -> tuple[Jurisdiction, list[Jurisdiction]]:
    """The area to show (``code``, or the actor's first root) and the actor's roots; an area
    outside the actor's scope is refused."""
    require(actor, "risk.read")
    tops = roots(actor)
    if not tops:
        raise Forbidden("no area is in your scope; ask an administrator for a membership")
    if not code:
        return tops[0], tops
    area = Jurisdiction.objects.select_related("level").filter(code=code).first()
    if area is None:
        raise NotFound(f"no area has the code {code!r}; pick one on the map or in the table")
    if not any(area.path.startswith(t.path) for t in tops):
        raise Forbidden(f"{code} is outside your area", code="forbidden")
    return area, tops


def trail(area: Jurisdiction, tops: list[Jurisdiction]) -> list[Jurisdiction]:
    """From the actor's root down to the area (for the way back)."""
    top = next(t for t in tops if area.path.startswith(t.path))
    codes = area.path.strip("/").split("/")
    start = top.path.strip("/").split("/").__len__() - 1
    wanted = codes[start:]
    by_code = {j.code: j for j in Jurisdiction.objects.filter(code__in=wanted)}
    return [by_code[c] for c in wanted if c in by_code]


def children(area: Jurisdiction) -> list[Jurisdiction]:
    return list(
        Jurisdiction.objects.filter(parent=area, level__overlay=False)
        .select_related("level")
        .order_by("code")
    )


def _under(area: Jurisdiction, field_name: str = "jurisdiction_path") -> Q:
    """Rows of the area. The city column comes first so that the tables' (city, …) indexes
    serve every query; rows of the city that no place was found for belong to the city."""
    q = Q(**{f"{field_name}__startswith": area.path})
    if area.parent_id is None:
        q |= Q(**{field_name: ""})
    return Q(city=area.root_code) & q


def _child_code(area: Jurisdiction, path: str) -> str:
    """The code of the area's child a row's path falls in ('' when it stops at the area)."""
    rest = path[len(area.path) :] if path.startswith(area.path) else ""
    return rest.split("/", 1)[0] if rest else ""


def today_of(now: datetime) -> date:
    return now.astimezone(zone()).date()


# -- the figures ----------------------------------------------------------------------------


@dataclass
class Place:
    """One subdivision of the area on the map and in the table."""

    code: str
    name: str
    has_children: bool = False
    appeals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))
    risks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Level.values, 0))
    alerts: int = 0

    @property
    def risk_weight(self) -> int:
        return sum(LEVEL_RANK[Level(k)] * n for k, n in self.risks.items())

    @property
    def risk_score(self) -> int:
        """Open risks weighted by level (blue 1 … red 4) plus open alerts."""
        return self.risk_weight + self.alerts

    @property
    def open_risks(self) -> int:
        return sum(self.risks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "drill": self.has_children,
            **self.appeals,
            "risk": self.risk_score,
            "risks": self.open_risks,
            "alerts": self.alerts,
        }


def open_alerts(now: datetime) -> Q:
    """New or acknowledged, or snoozed until a time that has passed."""
    return Q(status__in=[AlertStatus.NEW, AlertStatus.ACKNOWLEDGED]) | Q(
        status=AlertStatus.SNOOZED, snoozed_until__lte=now
    )


def _appeals(actor: Any, area: Jurisdiction) -> QuerySet[Appeal]:
    return readable(actor, Appeal.objects.filter(_under(area)))


def _count(actor: Any, where: Q | None = None) -> Count:
    """Count appeals. Only a scope of units joins assignments and summonses (a case may come
    twice); a scope of areas does not, and counting distinct ids there would sort every
    condition's ids apart for nothing."""
    scope = scope_of(actor)
    return Count("id", filter=where, distinct=bool(scope.unit_ids) and not scope.everything)


def places(actor: Any, area: Jurisdiction, now: datetime) -> tuple[list[Place], Place]:
    """The area's subdivisions with their figures, and a line for what is in the area but
    in none of them (no place found below the area)."""
    kids = children(area)
    with_kids = set(
        Jurisdiction.objects.filter(parent__in=kids, level__overlay=False).values_list(
            "parent__code", flat=True
        )
    )
    by_code = {
        j.code: Place(code=j.code, name=j.name, has_children=j.code in with_kids) for j in kids
    }
    rest = Place(code="", name=str(_("Not placed in a subdivision")))

    def slot(path: str) -> Place:
        return by_code.get(_child_code(area, path), rest)

    today = today_of(now)
    t0, t1 = day_bounds(today, today)
    first = today - timedelta(days=WINDOW_DAYS["month"] - 1)

    if area.depth + 1 < path_depth():
        rolled = (
            readable(actor, UnitDay.objects.filter(_under(area)))
            .filter(day__gte=first, day__lt=today)
            .values("jurisdiction_path")
            .annotate(
                **{
                    w: Sum(
                        "dispatched",
                        filter=Q(day__gte=today - timedelta(days=WINDOW_DAYS[w] - 1)),
                    )
                    for w in ("week", "month")
                }
            )
            .order_by()
        )
        for r in rolled:
            p = slot(r["jurisdiction_path"])
            for w in ("week", "month"):
                p.appeals[w] += int(r[w] or 0)
        live = (
            _appeals(actor, area)
            .filter(received_at__gte=t0, received_at__lt=t1)
            .values("jurisdiction_path")
            .annotate(n=_count(actor))
            .order_by()
        )
        for r in live:
            p = slot(r["jurisdiction_path"])
            for w in WINDOWS:
                p.appeals[w] += r["n"]
    else:
        # The roll-up keeps paths down to streets; a street's communities are counted from
        # the street's own appeals (a small area).
        starts = {
            w: day_bounds(today - timedelta(days=WINDOW_DAYS[w] - 1), today)[0] for w in WINDOWS
        }
        counted = (
            _appeals(actor, area)
            .filter(received_at__gte=starts["month"], received_at__lt=t1)
            .values("jurisdiction_path")
            .annotate(**{w: _count(actor, Q(received_at__gte=starts[w])) for w in WINDOWS})
            .order_by()
        )
        for r in counted:
            p = slot(r["jurisdiction_path"])
            for w in WINDOWS:
                p.appeals[w] += r[w]

    risks = (
        readable(actor, RiskItem.objects.filter(_under(area), status=RiskStatus.OPEN))
        .values("jurisdiction_path", "level")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in risks:
        if r["level"] in Level.values:
            slot(r["jurisdiction_path"]).risks[r["level"]] += r["n"]
    alerts = (
        readable(actor, Alert.objects.filter(_under(area)).filter(open_alerts(now)))
        .values("jurisdiction_path")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in alerts:
        slot(r["jurisdiction_path"]).alerts += r["n"]
    return list(by_code.values()), rest


@dataclass
class Intake:
    today: int
    average: float  # the same weekday, by this time of day, over the previous weeks
    average_day: float  # the same weekday, whole days
    weeks: int
    channels: list[dict[str, Any]]

    @property
    def change(self) -> float | None:
        if self.average <= 0:
            return None
        return round(100 * (self.today - self.average) / self.average, 1)


def intake(actor: Any, area: Jurisdiction, now: datetime) -> Intake:
    """Appeals received today in the area, by channel, against the same weekday of the
    previous weeks up to the same time of day (and over the whole day)."""
    today = today_of(now)
    t0, t1 = day_bounds(today, today)
    elapsed = now - t0
    base = _appeals(actor, area)
    now_by: dict[str, int] = defaultdict(int)
    for r in (
        base.filter(received_at__gte=t0, received_at__lt=t1)
        .values("channel")
        .annotate(n=_count(actor))
        .order_by()
    ):
        now_by[r["channel"]] += r["n"]
    then_by: dict[str, float] = defaultdict(float)
    then_day = 0
    for k in range(1, WEEKS_BACK + 1):
        d = today - timedelta(days=7 * k)
        d0, d1 = day_bounds(d, d)
        cut = d0 + elapsed
        for r in (
            base.filter(received_at__gte=d0, received_at__lt=d1)
            .values("channel")
            .annotate(
                n=_count(actor),
                by_now=_count(actor, Q(received_at__lt=cut)),
            )
            .order_by()
        ):
            then_by[r["channel"]] += r["by_now"] / WEEKS_BACK
            then_day += r["n"]
    labels = dict(Channel.choices)
    channels = [
        {
            "code": c,
            "label": labels.get(c, c),
            "today": now_by.get(c, 0),
            "average": round(then_by.get(c, 0.0), 2),
        }
        for c in sorted(set(now_by) | set(then_by), key=lambda c: (-now_by.get(c, 0), c))
    ]
    return Intake(
        today=sum(now_by.values()),
        average=round(sum(then_by.values()), 2),
        average_day=round(then_day / WEEKS_BACK, 2),
        weeks=WEEKS_BACK,
        channels=channels,
    )


@dataclass
class Rates:
    period: Period
    counts: dict[str, int]
    rates: dict[str, float | None]

    def percent(self, key: str) -> float | None:
        v = self.rates.get(key)
        return None if v is None else round(100 * v, 1)

    @property
    def response(self) -> float | None:
        return self.percent("response")

    @property
    def resolution(self) -> float | None:
        return self.percent("resolution")

    @property
    def satisfaction(self) -> float | None:
        return self.percent("satisfaction")


def three_rates(actor: Any, area: Jurisdiction, now: datetime) -> Rates:
    """This month's rates of the cases received in the area, as the assessment page computes
    them (``assessment.rates`` over the roll-up, plus open work counted live)."""
    today = today_of(now)
    period = month(today.year, today.month)
    summed = (
        readable(actor, UnitDay.objects.filter(_under(area)))
        .filter(day__gte=period.first, day__lte=period.last)
        .aggregate(**{c: Sum(c) for c in COUNTERS})
    )
    counts = {c: int(summed.get(c) or 0) for c in COUNTERS}
    start, end = day_bounds(period.first, period.last)
    live = (
        _appeals(actor, area)
        .filter(
            status__in=list(OPEN_STATUSES),
            received_at__gte=start,
            received_at__lt=end,
            lead_unit__isnull=False,
            dispatched_at__isnull=False,
        )
        .aggregate(
            open_overdue=_count(actor, Q(resolve_due__lt=now)),
            awaiting=_count(actor, Q(accepted_at__isnull=True, respond_due__gte=now)),
        )
    )
    counts["open_overdue"] = int(live["open_overdue"] or 0)
    counts["awaiting"] = int(live["awaiting"] or 0)
    return Rates(period=period, counts=counts, rates=R.rates(counts))


@dataclass
class Overdue:
    total: int
    units: list[dict[str, Any]]


def overdue(actor: Any, area: Jurisdiction, now: datetime) -> Overdue:
    """Open cases past their resolve deadline, by the unit leading them (most first)."""
    # Counted in the database, per lead unit: with millions of appeals the overdue ones are
    # tens of thousands, too many to bring over. The open-work partial index (resolve_due
    # where the status is open, docs/PERFORMANCE.md "Ten million appeals") serves the filter.
    found = (
        _appeals(actor, area)
        .filter(status__in=sorted(OPEN_STATUSES), resolve_due__lt=now)
        .values("lead_unit_id")
        .annotate(n=Count("id"), oldest=Min("resolve_due"))
        .order_by()
    )
    rows = sorted(found, key=lambda r: (-r["n"], r["oldest"]))
    ids = [r["lead_unit_id"] for r in rows[:OVERDUE_UNITS] if r["lead_unit_id"]]
    names = {u.pk: u for u in readable(actor, Unit.objects.filter(pk__in=ids))}
    units = []
    for r in rows[:OVERDUE_UNITS]:
        unit = names.get(r["lead_unit_id"])
        late = now - r["oldest"]
        if unit is not None:
            name = unit.name
        elif r["lead_unit_id"]:
            name = str(_("A unit outside your area"))
        else:
            name = str(_("No unit yet"))
        units.append(
            {
                "unit": unit,
                "name": name,
                "count": r["n"],
                "days_late": late.days,
            }
        )
    return Overdue(total=sum(r["n"] for r in rows), units=units)


@dataclass
class Trend:
    matter: Matter
    last7: int
    prev7: int
    weekly28: float  # the four weeks before the last seven days, per week
    daily: list[int]  # the last 28 days, oldest first

    @staticmethod
    def _change(now: float, then: float) -> float | None:
        return None if then <= 0 else round(100 * (now - then) / then, 0)

    @property
    def change7(self) -> float | None:
        return self._change(self.last7, self.prev7)

    @property
    def change28(self) -> float | None:
        return self._change(self.last7, self.weekly28)

    @property
    def direction(self) -> str:
        c = self.change28 if self.change28 is not None else self.change7
        if c is None:
            return "new" if self.last7 else "flat"
        return "up" if c >= 20 else "down" if c <= -20 else "flat"

    @property
    def spark(self) -> str:
        """SVG polyline points on a 100 × 24 box (attributes, not styles: the CSP holds)."""
        top = max(self.daily) or 1
        step = 100 / max(1, len(self.daily) - 1)
        return " ".join(f"{i * step:.1f},{22 - 20 * v / top:.1f}" for i, v in enumerate(self.daily))


def _cached(actor: Any, key: tuple[str, ...], compute: Any) -> Any:
    """Figures of days gone by, kept a few minutes per scope: they change only when a past
    case is reclassified or moved, and the wall screen asks again and again."""
    scope = scope_of(actor)
    who = "all" if scope.everything else repr((scope.paths, sorted(scope.unit_ids)))
    digest = hashlib.sha256(repr((who, *key)).encode()).hexdigest()[:32]
    name = f"risk.command.{key[0]}.{digest}"
    found = cache.get(name)
    if found is None:
        found = compute()
        cache.set(name, found, PAST_TTL)
    return found


def _matter_days(actor: Any, area: Jurisdiction, first: date, today: date) -> dict[int, list[int]]:
    """Appeals per matter and day from ``first`` to the day before ``today``."""
    n = (today - first).days
    # One count per day as SQL conditions on the indexed instant, not a date function per row
    # (on SQLite a time-zone-aware TruncDate calls back into Python for every appeal).
    edges = [day_bounds(first + timedelta(days=i), first + timedelta(days=i))[0] for i in range(n)]
    edges.append(day_bounds(today, today)[0])
    days = {
        f"d{i}": _count(actor, Q(received_at__gte=edges[i], received_at__lt=edges[i + 1]))
        for i in range(n)
    }
    return {
        r["matter_id"]: [int(r[f"d{i}"]) for i in range(n)]
        for r in _appeals(actor, area)
        .filter(received_at__gte=edges[0], received_at__lt=edges[-1], matter__isnull=False)
        .values("matter_id")
        .annotate(**days)
        .order_by()
    }


def top_matters(actor: Any, area: Jurisdiction, now: datetime) -> list[Trend]:
    """The matters most appealed in the last 7 days and how they moved against the 7 days
    and the 4 weeks before."""
    today = today_of(now)
    first = today - timedelta(days=TREND_DAYS - 1)
    past = _cached(
        actor,
        ("matters", area.code, first.isoformat()),
        lambda: _matter_days(actor, area, first, today),
    )
    series: dict[int, list[int]] = {k: [*v, 0] for k, v in past.items()}
    t0, t1 = day_bounds(today, today)
    for r in (
        _appeals(actor, area)
        .filter(received_at__gte=t0, received_at__lt=t1, matter__isnull=False)
        .values("matter_id")
        .annotate(n=_count(actor))
        .order_by()
    ):
        series.setdefault(r["matter_id"], [0] * TREND_DAYS)[-1] = r["n"]
    ranked = sorted(series.items(), key=lambda kv: (-sum(kv[1][-7:]), kv[0]))[:TOP_MATTERS]
    ranked = [(k, v) for k, v in ranked if sum(v[-7:]) > 0]
    matters = Matter.objects.in_bulk([k for k, _v in ranked])
    return [
        Trend(
            matter=matters[k],
            last7=sum(v[-7:]),
            prev7=sum(v[-14:-7]),
            weekly28=round(sum(v[:-7]) / 4, 2),
            daily=v[-28:],
        )
        for k, v in ranked
        if k in matters
    ]


@dataclass
class RiskSummary:
    by_level: list[dict[str, Any]]
    total: int
    items: list[RiskItem]


def open_risks(actor: Any, area: Jurisdiction) -> RiskSummary:
    qs = readable(actor, RiskItem.objects.filter(_under(area), status=RiskStatus.OPEN))
    counts = {r["level"]: r["n"] for r in qs.values("level").annotate(n=Count("id")).order_by()}
    labels = dict(Level.choices)
    by_level = [
        {"level": lv.value, "label": labels[lv], "count": counts.get(lv.value, 0)}
        for lv in LEVEL_ORDER
    ]
    items = list(qs.select_related("owner_unit", "jurisdiction"))
    items.sort(key=lambda r: (-LEVEL_RANK.get(Level(r.level), 0), r.deadline))
    return RiskSummary(by_level=by_level, total=sum(counts.values()), items=items[:RISKS_SHOWN])


@replica.reading()
def live_alerts(actor: Any, area: Jurisdiction, now: datetime) -> list[Alert]:
    """The newest open alerts of the area."""
    return list(
        readable(actor, Alert.objects.filter(_under(area)).filter(open_alerts(now)))
        .select_related("matter", "jurisdiction")
        .order_by("-detected_at", "-pk")[:ALERTS_SHOWN]
    )


@dataclass
class Overview:
    area: Jurisdiction
    tops: list[Jurisdiction]
    trail: list[Jurisdiction]
    as_of: datetime
    places: list[Place]
    rest: Place
    intake: Intake
    rates: Rates
    overdue: Overdue
    matters: list[Trend]
    risks: RiskSummary
    alerts: list[Alert]


@replica.reading()  # read-only figures: from the replica when there is one
def overview(
    actor: Any,
    code: str | None = None,
    *,
    chosen: tuple[Jurisdiction, list[Jurisdiction]] | None = None,
) -> Overview:
    """Everything the page shows; ``chosen`` is ``area_of``'s answer when the caller has it."""
    area, tops = chosen or area_of(actor, code)
    now = clock.now()
    found, rest = places(actor, area, now)
    return Overview(
        area=area,
        tops=tops,
        trail=trail(area, tops),
        as_of=now,
        places=found,
        rest=rest,
        intake=intake(actor, area, now),
        rates=three_rates(actor, area, now),
        overdue=overdue(actor, area, now),
        matters=top_matters(actor, area, now),
        risks=open_risks(actor, area),
        alerts=live_alerts(actor, area, now),
    )


def map_features(area: Jurisdiction) -> dict[str, Any]:
    """GeoJSON of the area's subdivisions that have a boundary (the area itself when none
    has one), named by code for the figures to join on."""
    shapes = [j for j in children(area) if j.boundary]
    if not shapes and area.boundary:
        shapes = [area]
    return {"type": "FeatureCollection", "features": [j.as_feature() for j in shapes]}
