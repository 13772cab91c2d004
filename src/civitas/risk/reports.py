"""Judgment reports (研判报告): the figures of one week or month for one area, and the words.

Everything is counted in the database: each figure is one aggregate query with conditional
counts (``COUNT(...) FILTER`` / ``CASE``) over the period and the one before, so a month of a
large city is a handful of scans, never a Python loop over appeals. Nothing personal is read:
no contact, no appeal text, title or address, only counts by matter, place, channel and day.

An area is a jurisdiction the reader covers: the city (all its appeals, located or not) or a
district or street (the appeals located inside it). Units are ranked with the assessment's own
rates and composite score (``civitas.assessment.selectors.table``), never recomputed here.

Recurring problems (未诉先办): the same matter at the same place — a cell of about 300 m for
appeals with a point, the street for those located only to an area — seen in at least
``RECUR_MIN`` of the last ``RECUR_WINDOW`` periods, this one included. The owner suggested is
the unit the responsibility list names for that matter and place, beside the unit that led
most of those cases.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Floor
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from civitas.appeals.models import Appeal, Channel
from civitas.assessment import selectors as assessment
from civitas.assessment.services import cut_path, day_bounds, zone
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.bilingual import BilingualName
from civitas.kit.errors import Forbidden, InvalidInput, NotFound
from civitas.matters.models import Matter
from civitas.org.access import can, readable, require, scope_of
from civitas.org.models import Unit
from civitas.risk.models import LEVEL_RANK, Alert, AlertKind, Level, RiskItem

KINDS = ("week", "month")
RECUR_WINDOW = {"week": 8, "month": 6}
RECUR_MIN = {"week": 3, "month": 3}
CELL_M = 300.0
M_PER_DEG = 111_320.0
TOP = 10
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# -- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportPeriod:
    """A week (Monday to Sunday, ISO numbering) or a calendar month, in local days."""

    kind: str
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _day = self.first.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.first.year:04d}-{self.first.month:02d}"

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        return day_bounds(self.first, self.last)

    def back(self, n: int = 1) -> ReportPeriod:
        if self.kind == "week":
            return week_of(self.first - timedelta(weeks=n))
        index = self.first.year * 12 + self.first.month - 1 - n
        return month_of(date(index // 12, index % 12 + 1, 1))

    def previous(self) -> ReportPeriod:
        return self.back(1)

    def year_ago(self) -> ReportPeriod:
        if self.kind == "month":
            return month_of(date(self.first.year - 1, self.first.month, 1))
        year, week, _day = self.first.isocalendar()
        try:
            return week_of(date.fromisocalendar(year - 1, week, 1))
        except ValueError:  # week 53 in a year of 52
            return week_of(date.fromisocalendar(year - 1, 52, 1))

    def title(self) -> str:
        """In the active language: "Week 47 of 2026 (16–22 November)", "November 2026"."""
        if self.kind == "week":
            year, week, _day = self.first.isocalendar()
            return _("Week %(week)s of %(year)s (%(first)s – %(last)s)") % {
                "week": week,
                "year": year,
                "first": formats.date_format(self.first, "MONTH_DAY_FORMAT"),
                "last": formats.date_format(self.last, "MONTH_DAY_FORMAT"),
            }
        return formats.date_format(self.first, "YEAR_MONTH_FORMAT")

    def noun(self) -> str:
        return _("week") if self.kind == "week" else _("month")


def week_of(d: date) -> ReportPeriod:
    monday = d - timedelta(days=d.weekday())
    return ReportPeriod("week", monday, monday + timedelta(days=6))


def month_of(d: date) -> ReportPeriod:
    first = d.replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return ReportPeriod("month", first, nxt - timedelta(days=1))


def of(kind: str, d: date) -> ReportPeriod:
    if kind not in KINDS:
        raise InvalidInput("the period is week or month", details={"field": "period"})
    return week_of(d) if kind == "week" else month_of(d)


def parse(kind: str, label: str) -> ReportPeriod:
    """``2026-W47`` for a week, ``2026-11`` for a month."""
    text = (label or "").strip()
    try:
        if kind == "week" and (m := _WEEK.match(text)):
            return week_of(date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if kind == "month" and (m := _MONTH.match(text)):
            return month_of(date(int(m[1]), int(m[2]), 1))
    except ValueError:
        pass
    raise InvalidInput(
        "write a week as YYYY-Www (e.g. 2026-W47) and a month as YYYY-MM (e.g. 2026-11)",
        details={"field": "period", "value": text[:20]},
    )


def today() -> date:
    return clock.now().astimezone(zone()).date()


class _AssessmentWeek(assessment.Period):
    """The assessment's period type for a week: the one before is the previous week."""

    def previous(self) -> assessment.Period:
        return _AssessmentWeek(
            self.first - timedelta(weeks=1), self.last - timedelta(weeks=1), self.label
        )


def _assessment_period(p: ReportPeriod) -> assessment.Period:
    if p.kind == "month":
        return assessment.month(p.first.year, p.first.month)
    return _AssessmentWeek(p.first, p.last, p.label)


# -- areas -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    jurisdiction: Jurisdiction

    @property
    def path(self) -> str:
        return self.jurisdiction.path

    @property
    def city(self) -> str:
        return self.jurisdiction.root_code

    @property
    def code(self) -> str:
        return self.jurisdiction.code

    @property
    def is_city(self) -> bool:
        return self.jurisdiction.parent_id is None

    @property
    def name(self) -> str:
        return self.jurisdiction.name

    def appeals(self) -> QuerySet[Appeal]:
        # The city's report counts every appeal of the city, located or not; an area inside
        # it, those located there.
        if self.is_city:
            return Appeal.objects.filter(city=self.city)
        return Appeal.objects.filter(jurisdiction_path__startswith=self.path)

    def path_q(self, field: str = "jurisdiction_path") -> Q:
        if self.is_city:
            return Q(city=self.city)
        return Q(**{f"{field}__startswith": self.path})


def areas_for(actor: Any) -> list[Area]:
    """The areas whose reports the actor may read: each area of their scope and, for a city,
    its districts (a reader of the whole city may read one district's report)."""
    scope = scope_of(actor)
    if "risk.read" not in scope.actions:
        return []
    if scope.everything:
        tops = list(Jurisdiction.objects.filter(parent__isnull=True).select_related("level"))
    else:
        tops = list(Jurisdiction.objects.filter(path__in=scope.paths).select_related("level"))
    out: list[Area] = []
    for top in sorted(tops, key=lambda j: j.path):
        out.append(Area(top))
        if top.parent_id is None:
            children = Jurisdiction.objects.filter(parent=top, level__overlay=False)
            out += [Area(j) for j in children.order_by("code")]
    return out


def area_for(actor: Any, code: str | None = None) -> Area:
    """The area asked for (by jurisdiction code), else the reader's broadest area."""
    require(actor, "risk.read")
    areas = areas_for(actor)
    if not areas:
        raise Forbidden(
            "judgment reports cover an area: they are open to people with a role in a centre "
            "or a government office",
            code="forbidden",
            details={"action": "risk.read"},
        )
    if not code:
        return areas[0]
    for a in areas:
        if a.code == code:
            return a
    raise NotFound(f"no area {code!r} among the areas you may read", details={"area": code})


# -- figures ---------------------------------------------------------------------------------


class Named(BilingualName):
    """A name in both languages, read in the active one when the report is rendered."""

    def __init__(self, name_en: str, name_zh: str, code: str = "") -> None:
        self.name_en = name_en or name_zh
        self.name_zh = name_zh or name_en
        self.code = code

    def __repr__(self) -> str:
        return f"Named({self.code or self.name_en})"


def _named(obj: Any) -> Named:
    return Named(obj.name_en, obj.name_zh, getattr(obj, "code", ""))


UNKNOWN = Named("Not classified", "未分类")


def _both(label: Any, code: str = "") -> Named:
    """A translatable label (a choice's) in both languages, for rendering in either later."""
    with translation.override("en"):
        en = str(label)
    with translation.override("zh-hans"):
        zh = str(label)
    return Named(en, zh, code)


@dataclass
class Row:
    """A line of a ranked table: this period, the one before, and the change."""

    name: Named
    now: int
    before: int | None = None
    key: str = ""

    @property
    def change(self) -> int | None:
        return None if self.before is None else self.now - self.before

    @property
    def change_pct(self) -> float | None:
        return pct(self.now, self.before)


def pct(now: int, before: int | None) -> float | None:
    if before is None or before == 0:
        return None
    return round(100.0 * (now - before) / before, 1)


@dataclass
class ClusterLine:
    name: Named
    place: Named | None
    start: date
    end: date
    observed: int
    expected: float
    p_value: float | None
    lat: float | None
    lon: float | None
    radius_m: float | None


@dataclass
class RiskLine:
    code: str
    title: str
    level: str
    owner: Named
    deadline: datetime
    overdue: bool
    new: bool
    open: bool

    @property
    def level_label(self) -> str:
        return str(Level(self.level).label)


@dataclass
class UnitLine:
    name: Named
    group: str
    dispatched: int
    rates: dict[str, float | None]
    score: float
    rank: int | None

    @property
    def three(self) -> list[float | None]:
        """The three rates (response, resolution, satisfaction) in percent."""
        keys = ("response", "resolution", "satisfaction")
        return [None if self.rates.get(k) is None else 100 * (self.rates[k] or 0.0) for k in keys]


@dataclass
class Recurring:
    matter: Named
    place: Named
    cell: tuple[float, float] | None  # the cell's centre (lat, lon), rounded to ~100 m
    per_period: list[int]  # oldest first, this period last
    listed_owner: Named | None  # from the responsibility list
    lead_owner: Named | None  # the unit that led most of these cases
    lead_share: tuple[int, int] = (0, 0)  # (cases it led, cases with a lead unit)

    @property
    def periods_seen(self) -> int:
        return sum(1 for n in self.per_period if n)

    @property
    def total(self) -> int:
        return sum(self.per_period)

    @property
    def owner(self) -> Named | None:
        return self.listed_owner or self.lead_owner


@dataclass
class Report:
    period: ReportPeriod
    previous: ReportPeriod
    year_ago: ReportPeriod
    area: Area
    generated_at: datetime
    total: int = 0
    total_before: int | None = None
    total_year_ago: int | None = None
    by_day: list[tuple[date, int]] = field(default_factory=list)
    by_day_before: list[int] = field(default_factory=list)
    channels: list[Row] = field(default_factory=list)
    matters: list[Row] = field(default_factory=list)
    matters_rising: list[Row] = field(default_factory=list)
    places: list[Row] = field(default_factory=list)  # one level below the area
    places_rising: list[Row] = field(default_factory=list)
    spots: list[Row] = field(default_factory=list)  # two levels below (streets of a city)
    spots_rising: list[Row] = field(default_factory=list)
    alerts: list[Row] = field(default_factory=list)  # by kind
    alerts_total: int = 0
    clusters: list[ClusterLine] = field(default_factory=list)
    new_risks: dict[str, int] = field(default_factory=dict)  # by level
    open_risks: dict[str, int] = field(default_factory=dict)
    risks: list[RiskLine] = field(default_factory=list)
    risks_overdue: int = 0
    units_shown: bool = False
    best: list[UnitLine] = field(default_factory=list)
    worst: list[UnitLine] = field(default_factory=list)
    recurring: list[Recurring] = field(default_factory=list)
    recurring_found: int = 0
    recur_window: list[ReportPeriod] = field(default_factory=list)
    recur_min: int = 0

    @property
    def change_pct(self) -> float | None:
        return pct(self.total, self.total_before)

    @property
    def year_pct(self) -> float | None:
        return pct(self.total, self.total_year_ago)


def _window(a: ReportPeriod) -> Q:
    start, end = a.bounds()
    return Q(received_at__gte=start, received_at__lt=end)


Span = tuple[date, date] | None


def span(area: Area) -> Span:
    """The local days of the area's first and last appeal (None without any)."""
    # Two ordered reads walk the received_at index from either end (one MIN/MAX query
    # over both ends would read every row on SQLite).
    times = area.appeals().values_list("received_at", flat=True)
    first = times.order_by("received_at").first()
    last = times.order_by("-received_at").first()
    if first is None or last is None:
        return None
    return first.astimezone(zone()).date(), last.astimezone(zone()).date()


def _ranked(
    rows: list[Row], *, rising: bool, limit: int = TOP, keep_zero: bool = False
) -> list[Row]:
    if rising:
        up = [r for r in rows if r.change is not None and r.change > 0]
        return sorted(up, key=lambda r: (-(r.change or 0), -r.now, r.key))[:limit]
    shown = [r for r in rows if r.now or keep_zero]
    return sorted(shown, key=lambda r: (-r.now, r.key))[:limit]


def _cut(path: str, depth: int) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:depth]) + "/" if len(parts) >= depth else ""


def build(actor: Any, period: ReportPeriod, area: Area, data: Span | bool = True) -> Report:
    """The figures of ``period`` for ``area``, as the actor may read them (``data``: the
    area's ``span()`` when the caller has it already)."""
    require(actor, "risk.read", path=area.path)
    previous, year_ago = period.previous(), period.year_ago()
    report = Report(
        period=period,
        previous=previous,
        year_ago=year_ago,
        area=area,
        generated_at=clock.now(),
    )
    appeals = area.appeals()
    if data is True:
        data = span(area)
    first_day = data[0] if isinstance(data, tuple) else None
    # A comparison needs data that covers the whole earlier period.
    has_before = first_day is not None and first_day <= previous.first
    has_year = first_day is not None and first_day <= year_ago.first
    _volumes(report, appeals, has_before, has_year)
    _breakdowns(report, appeals, has_before)
    _alerts(report, actor)
    _risks(report, actor)
    _units(report, actor)
    _recurring(report, appeals)
    return report


def _volumes(report: Report, appeals: QuerySet[Appeal], has_before: bool, has_year: bool) -> None:
    """Appeals per day and per channel (this period, the one before, a year ago): one scan
    grouped by day and channel. The day is a CASE over the day ends in order (the first that
    holds is the day), far cheaper than a conditional count per day on every row."""
    p, b, y = report.period, report.previous, report.year_ago
    days = [*b.days, *p.days]
    whens = []
    if has_year:
        whens.append(When(received_at__lt=y.bounds()[1], then=Value(-1)))
    whens += [When(received_at__lt=day_bounds(d, d)[1], then=Value(i)) for i, d in enumerate(days)]
    where = _window(b) | _window(p) | (_window(y) if has_year else Q(pk__in=[]))
    per_day: Counter[int] = Counter()
    channels: dict[str, list[int]] = {}
    offset = len(b.days)
    for r in (
        appeals.filter(where)
        .annotate(bucket=Case(*whens, default=Value(-2), output_field=IntegerField()))
        .values("bucket", "channel")
        .annotate(n=Count("id"))
        .order_by()
    ):
        bucket, n = r["bucket"], int(r["n"])
        per_day[bucket] += n
        if bucket >= 0:
            channels.setdefault(r["channel"], [0, 0])[int(bucket >= offset)] += n
    report.by_day = [(d, per_day.get(offset + i, 0)) for i, d in enumerate(p.days)]
    report.total = sum(n for _d, n in report.by_day)
    if has_before:
        report.by_day_before = [per_day.get(i, 0) for i in range(offset)]
        report.total_before = sum(report.by_day_before)
    if has_year:
        report.total_year_ago = per_day.get(-1, 0)
    labels = dict(Channel.choices)
    report.channels = _ranked(
        [
            Row(_both(labels.get(c, c), c), nb[1], nb[0] if has_before else None, key=c)
            for c, nb in channels.items()
        ],
        rising=False,
    )


def _breakdowns(report: Report, appeals: QuerySet[Appeal], has_before: bool) -> None:
    """Matters and places, this period and the one before: one scan grouped by both."""
    p_start = report.period.bounds()[0]
    matters: dict[int | None, list[int]] = {}
    paths: dict[str, list[int]] = {}
    for r in (
        appeals.filter(_window(report.previous) | _window(report.period))
        .annotate(
            now=Case(
                When(received_at__gte=p_start, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .values("now", "matter_id", "jurisdiction_path")
        .annotate(n=Count("id"))
        .order_by()
    ):
        n, now = int(r["n"]), int(r["now"])
        matters.setdefault(r["matter_id"], [0, 0])[now] += n
        paths.setdefault(r["jurisdiction_path"] or "", [0, 0])[now] += n
    names = {m.pk: _named(m) for m in Matter.objects.filter(pk__in=[k for k in matters if k])}
    rows = [
        Row(
            names.get(k, UNKNOWN) if k else UNKNOWN,
            nb[1],
            nb[0] if has_before else None,
            key=str(k or ""),
        )
        for k, nb in matters.items()
    ]
    report.matters = _ranked(rows, rising=False)
    report.matters_rising = _ranked([r for r in rows if r.key], rising=True, limit=5)
    depth = len([p for p in report.area.path.split("/") if p])
    for attr, extra in (("places", 1), ("spots", 2)):
        summed: dict[str, list[int]] = {}
        for path, nb in paths.items():
            cut = _cut(path, depth + extra)
            if cut:
                acc = summed.setdefault(cut, [0, 0])
                acc[0] += nb[0]
                acc[1] += nb[1]
        where = {j.path: _named(j) for j in Jurisdiction.objects.filter(path__in=list(summed))}
        lines = [
            Row(where[k], v[1], v[0] if has_before else None, key=k)
            for k, v in summed.items()
            if k in where
        ]
        setattr(report, attr, _ranked(lines, rising=False))
        setattr(report, f"{attr}_rising", _ranked(lines, rising=True, limit=5))


def _alerts(report: Report, actor: Any) -> None:
    alerts = readable(actor, Alert.objects.all()).filter(report.area.path_q())
    p, b = report.period, report.previous
    now = Q(detected_on__gte=p.first, detected_on__lte=p.last)
    before = Q(detected_on__gte=b.first, detected_on__lte=b.last)
    got = {
        r["kind"]: (int(r["n"]), int(r["b"]))
        for r in alerts.filter(now | before)
        .values("kind")
        .annotate(n=Count("id", filter=now), b=Count("id", filter=before))
        .order_by()
    }
    report.alerts = [
        Row(_both(label, kind), *got.get(kind, (0, 0)), key=kind)
        for kind, label in AlertKind.choices
        if kind in got
    ]
    report.alerts_total = sum(r.now for r in report.alerts)
    clusters = (
        alerts.filter(now, kind=AlertKind.CLUSTER)
        .select_related("matter", "jurisdiction")
        .order_by("-score", "-observed", "pk")[:TOP]
    )
    report.clusters = [
        ClusterLine(
            name=_named(a.matter) if a.matter else Named(*a.category_names()),
            place=_named(a.jurisdiction) if a.jurisdiction else None,
            start=a.start,
            end=a.end,
            observed=a.observed,
            expected=a.expected,
            p_value=a.p_value,
            lat=None if a.lat is None else round(a.lat, 3),
            lon=None if a.lon is None else round(a.lon, 3),
            radius_m=a.radius_m,
        )
        for a in clusters
    ]


def _risks(report: Report, actor: Any) -> None:
    start, end = report.period.bounds()
    risks = readable(actor, RiskItem.objects.all()).filter(report.area.path_q())
    new = Q(created_at__gte=start, created_at__lt=end)
    # Open at the end of the period, so an old report reads the same later.
    still_open = Q(created_at__lt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=end))
    counts = (
        risks.filter(new | still_open)
        .values("level")
        .annotate(n=Count("id", filter=new), o=Count("id", filter=still_open))
        .order_by()
    )
    report.new_risks = {r["level"]: int(r["n"]) for r in counts if r["n"]}
    report.open_risks = {r["level"]: int(r["o"]) for r in counts if r["o"]}
    lines: list[RiskLine] = []
    for r in risks.filter(still_open | new).select_related("owner_unit"):
        is_open = r.created_at < end and (r.closed_at is None or r.closed_at >= end)
        lines.append(
            RiskLine(
                code=r.code,
                title=r.title,
                level=r.level,
                owner=_named(r.owner_unit),
                deadline=r.deadline,
                overdue=is_open and r.deadline < end,
                new=start <= r.created_at < end,
                open=is_open,
            )
        )
    report.risks_overdue = sum(1 for ln in lines if ln.overdue)
    lines.sort(key=lambda ln: (-LEVEL_RANK[Level(ln.level)], ln.deadline, ln.code))
    report.risks = lines[:20]


def _units(report: Report, actor: Any) -> None:
    if not can(actor, "assessment.read"):
        return
    report.units_shown = True
    aperiod = _assessment_period(report.period)
    inside = None
    if not report.area.is_city:
        inside = set(
            Unit.objects.filter(jurisdiction__path__startswith=report.area.path).values_list(
                "pk", flat=True
            )
        )
    lines: list[UnitLine] = []
    for group in assessment.GROUPS:
        t = assessment.table(actor, group=group, period=aperiod, city=report.area.city)
        for ln in t.lines:
            if ln.score is None or (inside is not None and ln.unit.pk not in inside):
                continue
            lines.append(
                UnitLine(
                    name=_named(ln.unit),
                    group=group,
                    dispatched=ln.counts["dispatched"],
                    rates=dict(ln.rates),
                    score=ln.score,
                    rank=ln.rank,
                )
            )
    ordered = sorted(lines, key=lambda u: (-u.score, -u.dispatched, u.name.code))
    # The best and the worst never overlap: with few units, each side takes half.
    k = min(3, max(1, len(ordered) // 2))
    report.best = ordered[:k]
    report.worst = list(reversed(ordered[k:]))[:k]


def _recurring(report: Report, appeals: QuerySet[Appeal]) -> None:
    kind = report.period.kind
    n, need = RECUR_WINDOW[kind], RECUR_MIN[kind]
    window = [report.period.back(i) for i in range(n - 1, -1, -1)]  # oldest first
    report.recur_window, report.recur_min = window, need
    start, end = window[0].bounds()[0], window[-1].bounds()[1]
    spans = {f"p{i}": Count("id", filter=_window(w)) for i, w in enumerate(window)}
    base = appeals.filter(received_at__gte=start, received_at__lt=end, matter__isnull=False)
    lat0 = report.area.jurisdiction.centroid_lat
    if lat0 is None:  # any located appeal's latitude sets the cells' width well enough
        lat0 = base.filter(lat__isnull=False).values_list("lat", flat=True).first() or 0.0
    ky = M_PER_DEG / CELL_M
    kx = M_PER_DEG * max(0.2, math.cos(math.radians(lat0))) / CELL_M
    # One scan: located appeals grouped by matter and cell, the others by matter and place.
    merged: dict[tuple[Any, ...], tuple[list[int], str]] = {}
    # A cell is whole in its group, so the database keeps only the recurring ones (seen this
    # period and in enough periods); areas are summed up to their street here, so all stay.
    seen = sum(
        (Case(When(**{f"p{i}__gt": 0}, then=Value(1)), default=Value(0)) for i in range(n)),
        start=Value(0),
    )
    rows = (
        _placed(base, ky, kx)
        .values("matter_id", "cy", "cx", "street")
        .annotate(where=Max("jurisdiction_path"), **spans)
        .annotate(seen=seen)
        .filter(Q(**{f"p{n - 1}__gt": 0}, seen__gte=need) | ~Q(street=""))
        .order_by()
    )
    for r in rows:
        key = _place_key(r)
        if key is None:
            continue
        counts, where = merged.setdefault(key, ([0] * n, ""))
        for i in range(n):
            counts[i] += int(r[f"p{i}"])
        merged[key] = (counts, max(where, r["where"] or ""))
    found = [
        (key, counts, where if key[0] == "cell" else key[2])
        for key, (counts, where) in merged.items()
        if counts[-1] and sum(1 for c in counts if c) >= need
    ]
    report.recurring_found = len(found)
    found.sort(key=lambda f: (-sum(1 for c in f[1] if c), -sum(f[1]), str(f[0])))
    chosen = found[:15]
    matters = {m.pk: m for m in Matter.objects.filter(pk__in={f[0][1] for f in chosen})}
    wheres = {f[2] for f in chosen if f[2]}
    places = {
        j.path: j
        for j in Jurisdiction.objects.filter(
            path__in=wheres | {cut_path(w, 3) for w in wheres} | {cut_path(w, 2) for w in wheres}
        ).select_related("level")
    }
    leads = _lead_votes(appeals.filter(_window(report.period)), chosen, ky, kx)
    units = {u.pk: u for u in Unit.objects.filter(pk__in={u for v in leads.values() for u in v})}
    for key, counts, where in chosen:
        matter = matters[key[1]]
        place = places.get(cut_path(where, 3)) or places.get(cut_path(where, 2))
        cell = None
        if key[0] == "cell":
            cell = (round((key[2] + 0.5) / ky, 3), round((key[3] + 0.5) / kx, 3))
        votes = leads.get(key, Counter())
        lead_owner, share = None, (0, 0)
        if votes:
            unit_id, most = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))
            lead_owner, share = _named(units[unit_id]), (most, sum(votes.values()))
        report.recurring.append(
            Recurring(
                matter=_named(matter),
                place=_named(place) if place else Named(where, where),
                cell=cell,
                per_period=counts,
                listed_owner=_listed_unit(report.area.city, matter, places.get(where) or place),
                lead_owner=lead_owner,
                lead_share=share,
            )
        )


def _placed(qs: QuerySet[Appeal], ky: float, kx: float) -> Any:
    """Each appeal's place: its ~300 m cell (cy, cx) when it has a point, else its area."""
    return qs.annotate(
        cy=Floor(F("lat") * ky),
        cx=Floor(F("lon") * kx),
        street=Case(
            When(lat__isnull=True, then=F("jurisdiction_path")),
            default=Value(""),
            output_field=CharField(),
        ),
    )


def _place_key(r: dict[str, Any]) -> tuple[Any, ...] | None:
    if r["cy"] is not None and r["cx"] is not None:
        return ("cell", r["matter_id"], int(r["cy"]), int(r["cx"]))
    street = cut_path(r["street"] or "", 3)
    if len([p for p in street.split("/") if p]) < 3:
        return None  # not located, or only to a district: not a place a problem recurs at
    return ("street", r["matter_id"], street)


def _lead_votes(
    current: QuerySet[Appeal],
    chosen: list[tuple[tuple[Any, ...], list[int], str]],
    ky: float,
    kx: float,
) -> dict[tuple[Any, ...], Counter[int]]:
    """For each chosen place, how many of this period's cases each unit led."""
    votes: dict[tuple[Any, ...], Counter[int]] = {}
    wanted = {f[0] for f in chosen}
    if not wanted:
        return votes
    rows = (
        _placed(current.filter(matter_id__in={k[1] for k in wanted}), ky, kx)
        .exclude(lead_unit__isnull=True)
        .values("matter_id", "cy", "cx", "street", "lead_unit_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in rows:
        key = _place_key(r)
        if key in wanted:
            votes.setdefault(key, Counter())[r["lead_unit_id"]] += int(r["n"])
    return votes


def _listed_unit(city: str, matter: Matter, place: Jurisdiction | None) -> Named | None:
    """The unit the responsibility list names for this matter at this place (the list decides
    by matter and place only, so an unsaved case with nothing else stands for them)."""
    from civitas.dispatch.routing import route

    if place is None:
        return None
    stand_in = Appeal(city=city, matter=matter, jurisdiction=place, title="", text="")
    decision = route(stand_in)
    return _named(decision.unit) if decision.unit is not None else None


CACHE_SECONDS = 3600


def cached(actor: Any, period: ReportPeriod, area: Area, data: Span | bool = True) -> Report:
    """``build()`` through the cache once the period has ended: a month of a large city is
    seconds of scanning, and its figures move only with late data, so an hour's staleness
    is the price of a page and its PDF that open at once. Everyone who may read an area sees
    the same figures (the area is inside their scope), except the units, which need
    ``assessment.read``: that goes into the key."""
    require(actor, "risk.read", path=area.path)
    if period.last >= today():
        return build(actor, period, area, data)
    key = f"risk-report:v1:{area.code}:{period.label}:{int(can(actor, 'assessment.read'))}"
    hit = cache.get(key)
    if isinstance(hit, Report):
        return hit
    report = build(actor, period, area, data)
    cache.set(key, report, CACHE_SECONDS)
    return report


# -- available periods -----------------------------------------------------------------------


def latest_complete(kind: str, area: Area, data: Span | bool = True) -> ReportPeriod:
    """The latest period that has ended, or the last period with data when data stop earlier
    (a replayed history)."""
    if data is True:
        data = span(area)
    ended = of(kind, today()).previous()
    if not isinstance(data, tuple):
        return ended
    with_data = of(kind, data[1])
    return with_data if with_data.first < ended.first else ended


def available(
    kind: str, area: Area, data: Span | bool = True, limit: int = 26
) -> list[ReportPeriod]:
    """Complete periods with data, the latest first."""
    if data is True:
        data = span(area)
    if not isinstance(data, tuple):
        return []
    out: list[ReportPeriod] = []
    p = latest_complete(kind, area, data)
    while p.last >= data[0] and len(out) < limit:
        out.append(p)
        p = p.previous()
    return out


# -- words -----------------------------------------------------------------------------------


def number(n: float | int) -> str:
    return formats.number_format(n, force_grouping=True)


def _change_words(now: int, before: int | None, against: str) -> str:
    change = pct(now, before)
    if before is None:
        return ""
    if before == 0:
        return _("none in %(against)s") % {"against": against}
    if change is None or abs(change) < 0.05:
        return _("level with %(against)s (%(before)s)") % {
            "against": against,
            "before": number(before),
        }
    words = (
        _("up %(pct)s%% on %(against)s (%(before)s)")
        if change > 0
        else _("down %(pct)s%% on %(against)s (%(before)s)")
    )
    return words % {"pct": number(abs(change)), "against": against, "before": number(before)}


def _against(report: Report) -> tuple[str, str]:
    if report.period.kind == "week":
        return _("the previous week"), _("the same week a year ago")
    return _("the previous month"), _("the same month a year ago")


def narrative(report: Report) -> list[str]:
    """The report in sentences, in the active language, from the figures alone."""
    out: list[str] = []
    before, year = _against(report)
    parts = [
        _change_words(report.total, report.total_before, before),
        _change_words(report.total, report.total_year_ago, year),
    ]
    parts = [p for p in parts if p]
    head = ngettext(
        "%(area)s received %(n)s appeal in %(period)s",
        "%(area)s received %(n)s appeals in %(period)s",
        report.total,
    ) % {"area": report.area.name, "n": number(report.total), "period": report.period.title()}
    out.append(head + (_(", ") + _("; ").join(parts) if parts else "") + _("."))
    if report.total:
        day, most = max(report.by_day, key=lambda dn: (dn[1], -dn[0].toordinal()))
        out.append(
            _("The busiest day was %(day)s with %(n)s.")
            % {"day": formats.date_format(day, "MONTH_DAY_FORMAT"), "n": number(most)}
        )
        if report.channels:
            top = report.channels[0]
            out.append(
                _("%(channel)s brought %(share)s%% of them (%(n)s).")
                % {
                    "channel": top.name.name,
                    "share": number(round(100.0 * top.now / report.total, 1)),
                    "n": number(top.now),
                }
            )
    if report.matters:
        m = report.matters[0]
        words = _change_words(m.now, m.before, before)
        values = {"matter": m.name.name, "n": number(m.now), "change": words}
        if words:
            out.append(
                _("The most frequent matter was %(matter)s with %(n)s, %(change)s.") % values
            )
        else:
            out.append(_("The most frequent matter was %(matter)s with %(n)s.") % values)
    if report.matters_rising:
        m = report.matters_rising[0]
        out.append(
            _("The largest rise was in %(matter)s: %(n)s, %(change)s more.")
            % {"matter": m.name.name, "n": number(m.now), "change": number(m.change or 0)}
        )
    if report.places:
        top = report.places[0]
        out.append(
            _("Most appeals came from %(place)s (%(n)s).")
            % {"place": top.name.name, "n": number(top.now)}
        )
    rising = report.spots_rising or report.places_rising
    if rising:
        top = rising[0]
        out.append(
            _("The sharpest rise was in %(place)s: %(n)s, %(change)s more.")
            % {"place": top.name.name, "n": number(top.now), "change": number(top.change or 0)}
        )
    if report.alerts_total:
        kinds = _("; ").join(f"{r.name.name} {number(r.now)}" for r in report.alerts if r.now)
        out.append(
            ngettext(
                "The detectors raised %(n)s alert (%(kinds)s).",
                "The detectors raised %(n)s alerts (%(kinds)s).",
                report.alerts_total,
            )
            % {"n": number(report.alerts_total), "kinds": kinds}
        )
    else:
        out.append(_("The detectors raised no alert."))
    out.append(
        _(
            "New risks registered: %(new)s; open at the end: %(open)s, "
            "%(late)s of them past their deadline."
        )
        % {
            "new": number(sum(report.new_risks.values())),
            "open": number(sum(report.open_risks.values())),
            "late": number(report.risks_overdue),
        }
    )
    if report.best:
        b = report.best[0]
        text = _("Best performing unit: %(unit)s (score %(score)s).") % {
            "unit": b.name.name,
            "score": number(b.score),
        }
        if report.worst:
            w = report.worst[0]
            text += " " + _("Weakest: %(unit)s (score %(score)s).") % {
                "unit": w.name.name,
                "score": number(w.score),
            }
        out.append(text)
    out.append(_recurring_words(report))
    return out


def _recurring_words(report: Report) -> str:
    if not report.recurring:
        return _(
            "No problem recurred at the same place often enough to call for proactive governance."
        )
    r = report.recurring[0]
    values = {
        "n": number(report.recurring_found),
        "k": report.recur_min,
        "w": len(report.recur_window),
        "matter": r.matter.name,
        "place": r.place.name,
        "seen": r.periods_seen,
        "total": number(r.total),
    }
    if report.period.kind == "week":
        return (
            ngettext(
                "%(n)s problem recurred at the same place in at least %(k)s of the last %(w)s "
                "weeks and calls for proactive governance; the most persistent: %(matter)s at "
                "%(place)s (%(seen)s weeks, %(total)s appeals).",
                "%(n)s problems recurred at the same place in at least %(k)s of the last %(w)s "
                "weeks and call for proactive governance; the most persistent: %(matter)s at "
                "%(place)s (%(seen)s weeks, %(total)s appeals).",
                report.recurring_found,
            )
            % values
        )
    return (
        ngettext(
            "%(n)s problem recurred at the same place in at least %(k)s of the last %(w)s "
            "months and calls for proactive governance; the most persistent: %(matter)s at "
            "%(place)s (%(seen)s months, %(total)s appeals).",
            "%(n)s problems recurred at the same place in at least %(k)s of the last %(w)s "
            "months and call for proactive governance; the most persistent: %(matter)s at "
            "%(place)s (%(seen)s months, %(total)s appeals).",
            report.recurring_found,
        )
        % values
    )
