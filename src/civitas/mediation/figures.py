"""The figures of mediation: disputes received, concluded and resolved, by level, type, area
and channel; time to resolution; escalations; open and overdue now.

Definitions (the page, the CSV and the API all use these):

- **Received**: disputes whose ``received_at`` falls in the period.
- **Concluded**: disputes closed in the period with an outcome (resolved by agreement,
  referred, withdrawn or not resolved); ``closed_at`` in the period.
- **Resolved**: concluded in the period with the outcome *resolved by agreement*.
- **Resolution rate**: resolved / concluded, in per cent, over the same disputes (none when
  nothing was concluded). A dispute still open, or agreed and awaiting its follow-up visit, is
  in neither count.
- **Agreements reached**: disputes whose ``agreed_at`` falls in the period (counted whether
  or not the dispute is closed yet).
- **Time to resolution**: for the disputes resolved in the period, from receipt to the
  agreement (to closing when no agreement time is recorded). Median (the mean of the two
  middle values when their number is even) and 90th percentile (nearest rank: the value at
  rank ⌈0.9·n⌉ in ascending order), in days.
- **Level at intake**: the level of the dispute's first stage; **level at conclusion**: the
  dispute's level when it was concluded (its level now).
- **Escalations**: stages ended in the period because mediation failed, the deadline passed
  or the risk rose; counted by that reason and by the level escalated from.
- **Open now / overdue now**: disputes not closed (registered, accepted, in mediation, or
  agreed with follow-up pending), and of those the ones past their deadline; not bound to the
  period.

Every count runs over the disputes the reader may read (``access.readable``) inside the area
chosen, which must be one of the reader's areas (:func:`areas_for`). The counts are GROUP BY
queries in the database; only the groups come back to Python.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.kit import clock, replica
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.kit.redact import scrub
from civitas.kit.spreadsheet import csv_cell
from civitas.mediation.models import (
    OPEN_STATUSES,
    TIER_RANK,
    Channel,
    Dispute,
    DisputeType,
    Outcome,
    Stage,
    Tier,
)
from civitas.org import access
from civitas.org.models import Unit

DEFAULT_DAYS = 365
MAX_DAYS = 366 * 10
ESCALATION_REASONS = (Stage.Result.FAILED, Stage.Result.OVERDUE, Stage.Result.RISK)
# Spreadsheets run a cell starting with these as a formula (CSV injection).
LATEST = 5


# -- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    area: Jurisdiction
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def params(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "area": self.area.code}


def areas_for(actor: Any) -> list[Jurisdiction]:
    """The areas whose figures the actor may ask for: each area of their scope and the places
    just below it (a city's districts, a district's streets); for people whose scope is their
    units (a mediation committee's leader), the places of those units."""
    scope = access.scope_of(actor)
    if "disputes.figures" not in scope.actions:
        return []
    if scope.everything:
        tops = list(Jurisdiction.objects.filter(parent__isnull=True).select_related("level"))
    else:
        paths = set(scope.paths)
        if scope.unit_ids:
            paths |= set(
                Unit.objects.filter(pk__in=scope.unit_ids).values_list(
                    "jurisdiction__path", flat=True
                )
            )
        kept: list[str] = []
        for p in sorted(paths, key=len):
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        tops = list(Jurisdiction.objects.filter(path__in=kept).select_related("level"))
    out: list[Jurisdiction] = []
    for top in sorted(tops, key=lambda j: j.path):
        out.append(top)
        children = Jurisdiction.objects.filter(parent=top, level__overlay=False)
        out += list(children.select_related("level").order_by("code"))
    return out


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            _("%(field)s must be a date written YYYY-MM-DD, not %(value)r")
            % {"field": name, "value": raw},
            details={"field": name},
        ) from None


def parse_filters(actor: Any, params: Mapping[str, Any]) -> Filters:
    """The filters from a query string: ``from`` and ``to`` (dates, both included; by default
    the last 365 days to today) and ``area`` (a jurisdiction code among :func:`areas_for`;
    by default the reader's broadest area). Bad input raises InvalidInput naming the field."""
    access.require(actor, "disputes.figures")
    areas = areas_for(actor)
    if not areas:
        raise Forbidden(
            _("The figures of mediation cover an area; you have none."),
            details={"action": "disputes.figures"},
        )
    today = clock.today()
    raw_to = str(params.get("to") or "").strip()
    raw_from = str(params.get("from") or "").strip()
    end = _day(raw_to, "to") if raw_to else today
    start = _day(raw_from, "from") if raw_from else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput(
            _("The period must start on or before its last day (from %(start)s, to %(end)s).")
            % {"start": start.isoformat(), "end": end.isoformat()},
            details={"field": "from"},
        )
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(
            _("The period may be at most %(n)d days long.") % {"n": MAX_DAYS},
            details={"field": "from"},
        )
    code = str(params.get("area") or "").strip()
    if not code:
        return Filters(area=areas[0], start=start, end=end)
    for a in areas:
        if a.code == code:
            return Filters(area=a, start=start, end=end)
    raise InvalidInput(
        _("%(code)s is not among the areas whose figures you may see.") % {"code": code},
        details={"field": "area"},
    )


# -- the figures ----------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    label: str
    received: int = 0
    concluded: int = 0
    resolved: int = 0
    open: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float | None:
        return rate(self.resolved, self.concluded)


@dataclass
class Escalations:
    total: int = 0
    by_reason: list[tuple[str, str, int]] = field(default_factory=list)  # key, label, n
    by_tier: list[tuple[str, str, int]] = field(default_factory=list)  # from-level


@dataclass
class Figures:
    filters: Filters
    received: int
    concluded: int
    resolved: int
    agreements: int
    outcomes: list[tuple[str, str, int]]  # concluded by outcome: key, label, n
    open: int
    overdue: int
    days_median: float | None
    days_p90: float | None
    by_intake_tier: list[Row]
    by_tier: list[Row]
    by_type: list[Row]
    by_channel: list[Row]
    by_area: list[Row]
    escalations: Escalations
    generated_at: datetime

    @property
    def rate(self) -> float | None:
        return rate(self.resolved, self.concluded)


def rate(resolved: int, concluded: int) -> float | None:
    return None if not concluded else round(100.0 * resolved / concluded, 1)


def disputes_in(actor: Any, area: Jurisdiction) -> QuerySet[Dispute]:
    """The disputes the actor may read in ``area``, as a plain queryset (no join, no
    DISTINCT) that GROUP BY can count exactly."""
    base = Dispute.objects.filter(jurisdiction_path__startswith=area.path)
    scope = access.scope_of(actor)
    if "disputes.read" not in scope.actions:
        return base.none()
    if scope.covers_path(area.path):
        # Every dispute placed in the area is readable (the area lies in the reader's own):
        # the rule's other branches (units, own registrations) add nothing inside it.
        return base
    return base.filter(pk__in=access.readable(actor, Dispute.objects.all()).values("pk"))


def _counts(f: Filters, now: datetime) -> dict[str, Any]:
    """Named conditional counts, to be used in aggregate() or annotate()."""
    received = Q(received_at__gte=f.since, received_at__lt=f.until)
    concluded = Q(closed_at__gte=f.since, closed_at__lt=f.until) & ~Q(outcome="")
    is_open = Q(status__in=OPEN_STATUSES)
    return {
        "received": Count("pk", filter=received),
        "concluded": Count("pk", filter=concluded),
        "resolved": Count("pk", filter=concluded & Q(outcome=Outcome.RESOLVED)),
        "open": Count("pk", filter=is_open),
        "overdue": Count("pk", filter=is_open & Q(due_at__lt=now)),
    }


def _relevant(f: Filters) -> Q:
    """Disputes that count in some column: received or closed in the period, or open."""
    return (
        Q(received_at__gte=f.since, received_at__lt=f.until)
        | Q(closed_at__gte=f.since, closed_at__lt=f.until)
        | Q(status__in=OPEN_STATUSES)
    )


def _fold(
    groups: list[dict[str, Any]], key: str, columns: list[str], labels: dict[str, str]
) -> list[Row]:
    """Add up the fine groups by one of their keys, in the order of ``labels``; a value no
    longer among the choices still gets its row."""
    rows = {k: Row(key=k, label=label) for k, label in labels.items()}
    for g in groups:
        k = g[key]
        row = rows.get(k)
        if row is None:
            row = rows[k] = Row(key=str(k), label=str(k))
        for c in columns:
            setattr(row, c, getattr(row, c) + int(g[c]))
    return list(rows.values())


def _tier_labels() -> dict[str, str]:
    return {t: str(Tier(t).label) for t in sorted(Tier.values, key=lambda v: TIER_RANK[Tier(v)])}


class DaysBetween(Func):
    """Days from the second datetime to the first, as a float, computed by the database
    itself (Django's generic datetime difference calls back into Python for every row on
    SQLite). PostgreSQL's interval arithmetic by default, SQLite's julianday()."""

    output_field = FloatField()
    arity = 2
    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)"
    arg_joiner = " - "

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
            **extra,
        )


def _percentile_days(qs: QuerySet[Dispute], n: int) -> tuple[float | None, float | None]:
    """Median and 90th percentile of the days from receipt to the agreement (to closing when
    no agreement time is recorded) over ``qs`` (n rows), read by rank in the
    database: two ordered, sliced queries, not a list of every duration."""
    if n == 0:
        return None, None
    took = DaysBetween(Coalesce(F("agreed_at"), F("closed_at")), F("received_at"))
    ordered = qs.annotate(took=took).order_by("took", "pk").values_list("took", flat=True)

    def days(v: Any) -> float:
        return float(v)

    if n % 2:
        median = days(ordered[n // 2])
    else:
        pair = [days(v) for v in ordered[n // 2 - 1 : n // 2 + 1]]
        median = sum(pair) / 2
    rank = math.ceil(0.9 * n)
    p90 = days(ordered[rank - 1])
    return round(median, 1), round(p90, 1)


@replica.reading()  # read-only figures: from the replica when there is one
def compute(actor: Any, f: Filters) -> Figures:
    now = clock.now()
    qs = disputes_in(actor, f.area)
    counts = _counts(f, now)
    in_period = Q(agreed_at__gte=f.since, agreed_at__lt=f.until)
    extra = {
        "agreements": Count("pk", filter=in_period),
        **{
            f"outcome_{o}": Count(
                "pk", filter=Q(closed_at__gte=f.since, closed_at__lt=f.until, outcome=o)
            )
            for o in Outcome.values
        },
    }
    # One pass over the disputes that count anywhere, grouped finely by level, type and
    # channel (at most 4 × 9 × 5 groups); the headline and three tables are sums of these.
    groups = list(
        qs.filter(_relevant(f) | in_period)
        .values("tier", "type", "channel")
        .annotate(**counts, **extra)
        .order_by()
    )
    head = {c: sum(int(g[c]) for g in groups) for c in [*counts, *extra]}
    relevant = qs.filter(_relevant(f))

    # Level at intake: the level of the dispute's first stage (its own level when it has no
    # stage). Stages with no earlier stage of the same dispute, counted by level: an anti-join
    # the database runs as one hash join, where a per-dispute subquery would run 50,000 times.
    received_ids = qs.filter(received_at__gte=f.since, received_at__lt=f.until).values("pk")
    earlier = Stage.objects.filter(dispute_id=OuterRef("dispute_id")).filter(
        Q(started_at__lt=OuterRef("started_at"))
        | Q(started_at=OuterRef("started_at"), pk__lt=OuterRef("pk"))
    )
    intake_n: dict[str, int] = {}
    firsts = (
        Stage.objects.filter(dispute_id__in=received_ids)
        .filter(~Exists(earlier))
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by()
    )
    without_stage = (
        qs.filter(received_at__gte=f.since, received_at__lt=f.until)
        .filter(~Exists(Stage.objects.filter(dispute_id=OuterRef("pk"))))
        .values("tier")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for g in [*firsts, *without_stage]:
        intake_n[g["tier"]] = intake_n.get(g["tier"], 0) + g["n"]
    by_intake = [
        Row(key=k, label=label, received=intake_n.get(k, 0)) for k, label in _tier_labels().items()
    ]

    columns = list(counts)
    by_tier = _fold(groups, "tier", columns, _tier_labels())
    by_type = _fold(groups, "type", columns, {t: str(lb) for t, lb in DisputeType.choices})
    by_channel = _fold(groups, "channel", columns, {c: str(lb) for c, lb in Channel.choices})
    by_area = _by_area(relevant, f, counts)

    resolved_q = qs.filter(closed_at__gte=f.since, closed_at__lt=f.until, outcome=Outcome.RESOLVED)
    median, p90 = _percentile_days(resolved_q, head["resolved"])

    return Figures(
        filters=f,
        received=head["received"],
        concluded=head["concluded"],
        resolved=head["resolved"],
        agreements=head["agreements"],
        outcomes=[(o, str(Outcome(o).label), head[f"outcome_{o}"]) for o in Outcome.values],
        open=head["open"],
        overdue=head["overdue"],
        days_median=median,
        days_p90=p90,
        by_intake_tier=by_intake,
        by_tier=by_tier,
        by_type=by_type,
        by_channel=by_channel,
        by_area=by_area,
        escalations=_escalations(qs, f),
        generated_at=now,
    )


def _by_area(qs: QuerySet[Dispute], f: Filters, counts: dict[str, Any]) -> list[Row]:
    """Counts by the places just below the area (a city's districts, a district's streets):
    grouped by place in the database, then each place's group added to the subdivision it
    lies in (there are as many groups as places, not as disputes)."""
    children = list(
        Jurisdiction.objects.filter(parent=f.area, level__overlay=False).order_by("code")
    )
    rows: dict[str, Row] = {c.code: Row(key=c.code, label=c.name) for c in children}
    here = Row(key=f.area.code, label=_("%(name)s itself") % {"name": f.area.name})
    depth = f.area.path.strip("/").count("/") + 1
    for g in qs.values("jurisdiction_path").annotate(**counts).order_by():
        codes = g["jurisdiction_path"].strip("/").split("/")
        row = rows.get(codes[depth], here) if len(codes) > depth else here
        for c in counts:
            setattr(row, c, getattr(row, c) + int(g[c]))
    out = list(rows.values())
    if any((here.received, here.concluded, here.open)):
        out.append(here)
    return out


def _escalations(qs: QuerySet[Dispute], f: Filters) -> Escalations:
    stages = Stage.objects.filter(
        dispute__in=qs,
        ended_at__gte=f.since,
        ended_at__lt=f.until,
        result__in=ESCALATION_REASONS,
    )
    groups = list(stages.values("result", "tier").annotate(n=Count("pk")).order_by())
    by_reason = dict.fromkeys(ESCALATION_REASONS, 0)
    by_tier = dict.fromkeys(_tier_labels(), 0)
    for g in groups:
        by_reason[g["result"]] = by_reason.get(g["result"], 0) + g["n"]
        by_tier[g["tier"]] = by_tier.get(g["tier"], 0) + g["n"]
    tiers = _tier_labels()
    return Escalations(
        total=sum(by_reason.values()),
        by_reason=[(r, str(Stage.Result(r).label), n) for r, n in by_reason.items()],
        by_tier=[(t, tiers.get(t, t), n) for t, n in by_tier.items() if t != Tier.CITY],
    )


# -- the profile of a place -------------------------------------------------------------------


@dataclass
class PlaceDisputes:
    open: int
    overdue: int
    received_365: int
    resolved_365: int
    by_type: list[tuple[str, str, int]]  # received in the last 365 days: key, label, n
    latest: list[Dispute]


def place_summary(actor: Any, j: Jurisdiction) -> PlaceDisputes:
    """The disputes part of a place's profile (no party is named)."""
    now = clock.now()
    since = now - timedelta(days=365)
    qs = disputes_in(actor, j)
    is_open = Q(status__in=OPEN_STATUSES)
    got = qs.aggregate(
        open=Count("pk", filter=is_open),
        overdue=Count("pk", filter=is_open & Q(due_at__lt=now)),
        received=Count("pk", filter=Q(received_at__gte=since)),
        resolved=Count("pk", filter=Q(closed_at__gte=since, outcome=Outcome.RESOLVED)),
    )
    types = dict(DisputeType.choices)
    by_type = [
        (g["type"], str(types.get(g["type"], g["type"])), g["n"])
        for g in qs.filter(received_at__gte=since)
        .values("type")
        .annotate(n=Count("pk"))
        .order_by("-n", "type")
    ]
    latest = list(
        qs.order_by("-received_at", "-pk").only(
            "code", "title", "tier", "status", "received_at", "due_at", "type"
        )[:LATEST]
    )
    for d in latest:  # shown to all the place's readers: no phone or identity number in it
        d.title = scrub(d.title)
    return PlaceDisputes(
        open=got["open"],
        overdue=got["overdue"],
        received_365=got["received"],
        resolved_365=got["resolved"],
        by_type=by_type,
        latest=latest,
    )


# -- out ------------------------------------------------------------------------------------


TABLES = ("level_at_intake", "level", "type", "channel", "area")


def _tables(fig: Figures) -> list[tuple[str, list[Row]]]:
    return list(
        zip(
            TABLES,
            [fig.by_intake_tier, fig.by_tier, fig.by_type, fig.by_channel, fig.by_area],
            strict=True,
        )
    )


def to_csv(fig: Figures) -> bytes:
    """Every table of the page in one sheet: a column names the table each row belongs to."""
    buf = io.StringIO()
    w = csv.writer(buf)
    f = fig.filters
    w.writerow(
        [
            "table",
            "key",
            "label",
            "received",
            "concluded",
            "resolved",
            "rate_pct",
            "open",
            "overdue",
        ]
    )
    w.writerow(
        [
            csv_cell(v)
            for v in (
                "total",
                f.area.code,
                f.area.name,
                fig.received,
                fig.concluded,
                fig.resolved,
                fig.rate,
                fig.open,
                fig.overdue,
            )
        ]
    )
    for name, rows in _tables(fig):
        for r in rows:
            w.writerow(
                [
                    csv_cell(v)
                    for v in (
                        name,
                        r.key,
                        r.label,
                        r.received,
                        r.concluded,
                        r.resolved,
                        r.rate,
                        r.open,
                        r.overdue,
                    )
                ]
            )
    for key, label, n in fig.escalations.by_reason:
        w.writerow([csv_cell(v) for v in ("escalation_reason", key, label, n, "", "", "", "", "")])
    for key, label, n in fig.escalations.by_tier:
        w.writerow(
            [csv_cell(v) for v in ("escalation_from_level", key, label, n, "", "", "", "", "")]
        )
    # A byte-order mark lets spreadsheet programs read the Chinese names as UTF-8.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def csv_filename(fig: Figures) -> str:
    f = fig.filters
    return f"mediation-figures-{f.area.code}-{f.start.isoformat()}-{f.end.isoformat()}.csv"


def _row_dict(r: Row) -> dict[str, Any]:
    return {
        "key": r.key,
        "label": r.label,
        "received": r.received,
        "concluded": r.concluded,
        "resolved": r.resolved,
        "rate_pct": r.rate,
        "open": r.open,
        "overdue": r.overdue,
    }


def as_dict(fig: Figures) -> dict[str, Any]:
    f = fig.filters
    return {
        "area": f.area.code,
        "area_name": f.area.name,
        "from": f.start.isoformat(),
        "to": f.end.isoformat(),
        "received": fig.received,
        "concluded": fig.concluded,
        "resolved": fig.resolved,
        "resolution_rate_pct": fig.rate,
        "agreements": fig.agreements,
        "outcomes": {k: n for k, _label, n in fig.outcomes},
        "open_now": fig.open,
        "overdue_now": fig.overdue,
        "days_to_resolution": {"median": fig.days_median, "p90": fig.days_p90},
        "escalations": {
            "total": fig.escalations.total,
            "by_reason": {k: n for k, _label, n in fig.escalations.by_reason},
            "by_level": {k: n for k, _label, n in fig.escalations.by_tier},
        },
        "by_level_at_intake": [_row_dict(r) for r in fig.by_intake_tier],
        "by_level": [_row_dict(r) for r in fig.by_tier],
        "by_type": [_row_dict(r) for r in fig.by_type],
        "by_channel": [_row_dict(r) for r in fig.by_channel],
        "by_area": [_row_dict(r) for r in fig.by_area],
        "generated_at": fig.generated_at.isoformat(),
    }


def charts(fig: Figures) -> dict[str, dict[str, Any]]:
    """The data each chart of the page draws (serialised into its data-chart attribute)."""

    def bars(rows: list[Row], kind: str = "bar") -> dict[str, Any]:
        return {
            "kind": kind,
            "labels": [r.label for r in rows],
            "series": [
                {"name": _("Received"), "data": [r.received for r in rows]},
                {"name": _("Resolved"), "data": [r.resolved for r in rows]},
                {"name": _("Concluded"), "data": [r.concluded for r in rows]},
            ],
        }

    return {
        "tier": bars(fig.by_tier),
        "type": bars(fig.by_type, "hbar"),
        "area": bars(fig.by_area, "hbar"),
        "channel": bars(fig.by_channel),
        "escalations": {
            "kind": "bar",
            "labels": [label for _k, label, _n in fig.escalations.by_reason],
            "series": [
                {"name": _("Escalations"), "data": [n for _k, _l, n in fig.escalations.by_reason]}
            ],
        },
    }
