"""Synthetic history for measurement: millions of appeals of an imported city, written fast.

``generate(city=..., appeals=N, seed=...)`` writes N appeals spread over the last ``days``
days, with the rows the pages read beside them: one contact, one lead assignment, two to four
timeline events and, for most closed cases, a rating. The shapes come from real data where it
is there (the Boston 311 requests of 2015 under ``CIVITAS_DATA``, read at run time and never
copied): the hour of day, the weekday, the month, the channel mix, the frequency curve of
request types (laid on this city's leaf matters in a seeded order), the curve of places
(laid on the city's lowest-level places), the time taken as a share of the time allowed
(which makes the on-time share), and the share of cases never closed. Without the data the
demo generator's parameters are used. Ratings follow the demo mix (satisfied, basically
satisfied, dissatisfied), with late cases more often dissatisfied.

The rows bypass the services and the audit chain on purpose: synthetic history is for
measurement only. Every row is marked (``submitted_by = "cli:synth"``, ``route_method =
"synthetic"``, ``external_id = "synth-N"``), and ``generate`` refuses a database that holds
other appeals than synthetic or demo ones unless ``force``.

Statuses agree with the times: a case is closed only when its closing time has passed,
resolved when its resolution has passed but not its verdict, accepted or dispatched before,
and waiting in triage when it came in so recently that nobody has dispatched it yet; open
cases past their ``resolve_due`` are overdue. Tickets follow the intake format
``<CITY>-<YYYYMMDD>-<NNNNNN>``, numbered per local day after the numbers already handed out,
and the day counters are moved past them, so later intake never collides.

On PostgreSQL the rows go in with ``COPY`` (psycopg ``cursor.copy``) in batches, with the
indexes kept; elsewhere with ``executemany`` in batches. Deterministic for a seed and a
``now``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import queue
import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Max

from civitas.appeals.models import (
    Appeal,
    Assignment,
    Channel,
    Contact,
    Event,
    Kind,
    Rating,
    Satisfaction,
    Status,
    TicketCounter,
)
from civitas.dispatch.routing import applicable, centre_of
from civitas.geo.models import Jurisdiction
from civitas.kit import calendar, clock, durations
from civitas.kit.errors import Conflict, NotFound
from civitas.matters.models import Matter
from civitas.org.models import ResponsibilityRule, Unit

ACTOR = "cli:synth"
ROUTE_METHOD = "synthetic"
EXTERNAL_PREFIX = "synth-"
BATCH = 20_000

# The demo generator's parameters, used when the real data is not there.
DEMO_HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 10, 12, 12, 11, 9, 7, 6, 5, 4, 3, 2]
DEMO_WEEKDAYS = [16, 16, 15, 15, 14, 12, 12]
DEMO_MONTHS = [8, 7, 8, 8, 9, 10, 11, 11, 9, 8, 8, 8]
DEMO_CHANNELS = {Channel.HOTLINE: 55, Channel.WEB: 25, Channel.GRID: 12, Channel.OPEN311: 8}
KINDS = {
    Kind.COMPLAINT: 45,
    Kind.HELP: 20,
    Kind.REPORT: 20,
    Kind.CONSULTATION: 10,
    Kind.SUGGESTION: 4,
    Kind.PRAISE: 1,
}
# The demo mix of verdicts (satisfied 78, basic 30, dissatisfied 22 of 130).
VERDICTS_ON_TIME = [0.66, 0.24, 0.10]
VERDICTS_LATE = [0.35, 0.30, 0.35]
RATED_SHARE = 0.7
# Boston's open data keeps about 15% of the first half-year's requests open at extraction
# (stale records nobody closed); a hotline working to 12345 rules closes nearly all, so no
# more than this share stays open for good.
STALE_CAP = 0.02
URGENT_SHARE = 0.03
BOSTON_SOURCES = {
    "Constituent Call": Channel.HOTLINE,
    "Citizens Connect App": Channel.OPEN311,
    "Self Service": Channel.WEB,
    "Employee Generated": Channel.GRID,
    "City Worker App": Channel.GRID,
    "Twitter": Channel.WEB,
}
NAMES = ["Wang Fang", "Li Wei", "Zhang Min", "Liu Yang", "Chen Jing", "Yang Lei", "Zhao Qiang"]
NAMES += ["Huang Li", "Zhou Jun", "Wu Xia", "Xu Tao", "Sun Yan", "王芳", "李伟", "张敏", "刘洋"]

Progress = Callable[[int], Any]


@dataclass
class Shapes:
    """The distributions a synthetic history is drawn from, and where they came from."""

    source: str
    hours: list[float]
    weekdays: list[float]
    months: list[float]
    channels: dict[str, float]
    type_curve: list[float]  # shares of request types, largest first
    place_curve: list[float]  # shares of places, largest first
    ratios: list[float]  # time taken / time allowed, for closed cases (quantiles)
    never_closed: float
    notes: list[str] = field(default_factory=list)


def _norm(values: Sequence[float]) -> list[float]:
    total = float(sum(values)) or 1.0
    return [v / total for v in values]


def _zipf(n: int, s: float = 1.0) -> list[float]:
    return _norm([1.0 / (i + 1) ** s for i in range(n)])


def demo_shapes() -> Shapes:
    ratios = sorted(float(x) for x in np.random.default_rng(7).lognormal(-1.2, 1.0, 1000))
    return Shapes(
        source="demo parameters",
        hours=_norm(DEMO_HOURS),
        weekdays=_norm(DEMO_WEEKDAYS),
        months=_norm(DEMO_MONTHS),
        channels=dict(zip(DEMO_CHANNELS, _norm(list(DEMO_CHANNELS.values())), strict=True)),
        type_curve=_zipf(150),
        place_curve=_zipf(300, 0.6),
        ratios=ratios,
        never_closed=0.02,
    )


def _boston_time(text: str) -> datetime:
    """``MM/DD/YYYY hh:mm:ss AM`` (the records' format), parsed without strptime (slow)."""
    day, clock_, half = text.split(" ")
    month, dd, year = day.split("/")
    hh, mm, ss = clock_.split(":")
    hour = int(hh) % 12 + (12 if half == "PM" else 0)
    return datetime(int(year), int(month), int(dd), hour, int(mm), int(ss))


def boston_shapes(path: Path) -> Shapes:
    """The shapes of the Boston 311 requests of 2015 (local times, as recorded)."""
    hours = [0.0] * 24
    weekdays = [0.0] * 7
    months = [0.0] * 12
    channels: Counter[str] = Counter()
    types: Counter[str] = Counter()
    places: Counter[str] = Counter()
    ratios: list[float] = []
    early = early_open = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                opened = _boston_time(row["OPEN_DT"])
            except (KeyError, ValueError):
                continue
            hours[opened.hour] += 1
            weekdays[opened.weekday()] += 1
            months[opened.month - 1] += 1
            channels[BOSTON_SOURCES.get(row.get("Source", ""), Channel.HOTLINE)] += 1
            types[row.get("TYPE", "")] += 1
            if row.get("precinct"):
                places[row["precinct"]] += 1
            if opened.month <= 6:
                early += 1
                early_open += row.get("CASE_STATUS") == "Open"
            if row.get("CASE_STATUS") == "Closed" and row.get("TARGET_DT") and row.get("CLOSED_DT"):
                try:
                    target = _boston_time(row["TARGET_DT"])
                    closed = _boston_time(row["CLOSED_DT"])
                except ValueError:
                    continue
                allowed = (target - opened).total_seconds()
                if allowed > 0:
                    ratios.append(min(max((closed - opened).total_seconds(), 60.0) / allowed, 20.0))
    seen = [m for m in months if m]
    # November and December are held back: give them the mean of the months there.
    months = [m or (sum(seen) / len(seen)) for m in months]
    ratios.sort()
    step = max(1, len(ratios) // 2000)
    return Shapes(
        source=f"Boston 311 2015 ({path.name}, {int(sum(hours)):,} requests)",
        hours=_norm(hours),
        weekdays=_norm(weekdays),
        months=_norm(months),
        channels=dict(zip(channels, _norm(list(channels.values())), strict=True)),
        type_curve=_norm(sorted(types.values(), reverse=True)),
        place_curve=_norm(sorted(places.values(), reverse=True)),
        ratios=ratios[::step],
        never_closed=early_open / early if early else 0.02,
        notes=["Nov-Dec month weights are the mean of Jan-Oct (held back in the data)"],
    )


def load_shapes(data_dir: Path | None = None) -> Shapes:
    base = Path(data_dir or settings.CIVITAS_DATA or ".")
    path = base / "boston" / "requests_2015_jan_oct.csv.gz"
    if path.exists():
        return boston_shapes(path)
    return demo_shapes()


@dataclass
class Place:
    id: int
    code: str
    path: str
    rank: int
    lat: float | None
    lon: float | None


@dataclass
class Leaf:
    id: int
    code: str
    name_en: str
    name_zh: str
    urgency: str
    deadlines: dict[str, Any]
    path: str


class City:
    """What a synthetic appeal needs of the city: places, leaf matters, and who handles what."""

    def __init__(self, code: str) -> None:
        root = Jurisdiction.objects.filter(code=code, parent__isnull=True).first()
        if root is None:
            raise NotFound(
                f"no city {code!r} here: import a city pack first (civitas city import, or "
                "civitas demo --no-serve for the demo city)",
                code="no_city",
            )
        self.code = code
        rows = list(
            Jurisdiction.objects.filter(path__startswith=f"/{code}/", level__overlay=False)
            .select_related("level")
            .order_by("path")
        )
        bottom = max(j.level.rank for j in rows)
        self.places = [
            Place(j.pk, j.code, j.path, j.level.rank, j.centroid_lat, j.centroid_lon)
            for j in rows
            if j.level.rank == bottom
        ]
        leaves = (
            Matter.objects.filter(catalogue=code, active=True)
            .exclude(pk__in=Matter.objects.filter(parent__isnull=False).values("parent"))
            .order_by("code")
        )
        self.leaves = [
            Leaf(m.pk, m.code, m.name_en, m.name_zh, m.urgency_default, m.deadlines, m.path)
            for m in leaves
        ]
        if not self.places or not self.leaves:
            raise NotFound(f"city {code!r} has no places or no matters", code="empty_city")
        self._jurisdictions = {j.code: j for j in rows} | {root.code: root}
        self._rules = list(
            ResponsibilityRule.objects.filter(city=code, active=True).select_related(
                "matter", "level", "jurisdiction", "unit"
            )
        )
        self._rules_by_matter: dict[str, list[ResponsibilityRule]] = {}
        for rule in self._rules:
            self._rules_by_matter.setdefault(rule.matter.code, []).append(rule)
        self._units: dict[tuple[int, str], int] = {}
        for unit in Unit.objects.filter(city=code, active=True).order_by("kind", "code"):
            self._units.setdefault((unit.jurisdiction_id, unit.department_type), unit.pk)
        self._centres: dict[str, int | None] = {}

    def lead_unit(self, leaf: Leaf, place: Place) -> int | None:
        """The responsibility list's answer, as ``dispatch.routing.route`` gives it, from
        rows read once; the centre when the list reserves the matter or has no answer."""
        codes = leaf.path.strip("/").split("/")
        rules = [r for c in codes for r in self._rules_by_matter.get(c, [])]
        if not any(r.city_coordinates for r in rules):
            anchors = place.path.strip("/").split("/")
            for rule in applicable(rules, place.rank, place.path):
                if rule.unit is not None:
                    if rule.unit.active:
                        return int(rule.unit.pk)
                    continue
                at_level = [
                    self._jurisdictions[c]
                    for c in anchors
                    if c in self._jurisdictions and self._jurisdictions[c].level_id == rule.level_id
                ]
                if at_level:
                    unit = self._units.get((at_level[0].pk, rule.unit_type))
                    if unit is not None:
                        return unit
        if place.path not in self._centres:
            centre = centre_of(self.code, self._jurisdictions.get(place.code))
            self._centres[place.path] = centre.pk if centre else None
        return self._centres[place.path]


@dataclass
class Summary:
    appeals: int
    rows: int
    seconds: float
    by_status: Counter[str]
    shapes: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        open_ = sum(n for s, n in self.by_status.items() if s not in {Status.CLOSED})
        return (
            f"{self.appeals:,} synthetic appeals ({self.rows:,} rows with contacts, assignments,"
            f" events and ratings) in {self.seconds:.1f} s: {self.rows_per_second:,.0f} rows/s, "
            f"{self.appeals / self.seconds if self.seconds else 0:,.0f} appeals/s; "
            f"{open_:,} open; shapes from {self.shapes}"
        )


def real_appeals_present() -> bool:
    """Are there appeals here that are neither synthetic nor the demo's (``demo-NNNN`` and
    ``risk-demo-...``, seeded by ``civitas demo``)?"""
    return (
        Appeal.objects.exclude(submitted_by=ACTOR)
        .exclude(external_id__startswith="demo-")
        .exclude(external_id__startswith="risk-demo-")
        .exists()
    )


# --- writing --------------------------------------------------------------------------------


def _columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The model's concrete fields that the table has (another migration may be pending)."""
    with connection.cursor() as cursor:
        present = {
            c.name
            for c in connection.introspection.get_table_description(cursor, model._meta.db_table)
        }
    return [f for f in model._meta.concrete_fields if f.column in present]


class Writer:
    """Batches of rows into tables: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        _ZONE[0] = "+00" if self.pg else ""
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=3)
        self._failed: list[BaseException] = []
        self._thread: threading.Thread | None = None
        if self.pg and not connection.in_atomic_block:
            # COPY runs on a connection of its own in a thread, so that the database takes in
            # one batch while the next is drawn (two cores: one each). Each COPY commits.
            # Inside a caller's transaction it runs on the caller's connection instead.
            self._thread = threading.Thread(target=self._copier, daemon=True)
            self._thread.start()
        self.fields: dict[type[models.Model], list[models.Field[Any, Any]]] = {
            m: _columns(m) for m in (Appeal, Contact, Assignment, Event, Rating)
        }
        self.rows = 0
        self._prepared: dict[tuple[str, str], Any] = {}

    def personal(self, name: str, phone: str) -> tuple[Any, Any]:
        """A contact's name and phone as stored: through the field when it is not a plain
        text field (encrypted at rest, say), as they are otherwise."""
        out = []
        for attname, value in (("name", name), ("phone", phone)):
            f = Contact._meta.get_field(attname)
            assert isinstance(f, models.Field)
            if type(f) is models.CharField:
                out.append(value)
            else:
                key = (attname, value)
                if key not in self._prepared:
                    self._prepared[key] = f.get_db_prep_save(value, connection)
                out.append(self._prepared[key])
        return out[0], out[1]

    def defaults(self, model: type[models.Model], given: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields[model]:
            if f.attname in given or f.primary_key:
                continue
            out[f.attname] = None if f.null else f.get_default()
        return out

    def write(
        self, model: type[models.Model], names: list[str], rows: list[tuple[Any, ...]]
    ) -> None:
        if not rows:
            return
        table = model._meta.db_table
        columns = [str(getattr(model._meta.get_field(n), "column", n)) for n in names]
        self.rows += len(rows)
        if self.pg:
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            # Names from the model's metadata, quoted: no input reaches the statement.
            sql = f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
            data = "".join(["\t".join([_text(v) for v in row]) + "\n" for row in rows])
            if self._thread is None:
                with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                    copy.write(data)
                return
            self._check()
            self._queue.put((sql, data))
        else:
            marks = ", ".join(["%s"] * len(columns))
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})"  # noqa: S608
            with connection.cursor() as cursor:
                cursor.executemany(sql, [tuple(_sqlite(v) for v in row) for row in rows])

    def _copier(self) -> None:
        from django.db import connections

        try:
            while (item := self._queue.get()) is not None:
                sql, data = item
                with (
                    connections["default"].cursor() as cursor,
                    cursor.cursor.copy(sql) as copy,
                ):
                    copy.write(data)
        except BaseException as exc:  # reported by the drawing thread
            self._failed.append(exc)
            while self._queue.get() is not None:
                pass
        finally:
            connections["default"].close()

    def _check(self) -> None:
        if self._failed:
            raise self._failed[0]

    def finish(self) -> None:
        """Wait for the last COPY; raise what the copier met."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._check()

    def analyze(self) -> None:
        """Fresh planner statistics: after a bulk load the old ones mislead the planner
        (e.g. a day of appeals estimated at a few rows, read through the city index). Outside
        a transaction also VACUUM, which marks the pages all-visible as autovacuum later
        would, so that index-only scans (the open-work covering indexes) work at once."""
        if not self.pg:
            return
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in self.fields:
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")

    def reset_sequences(self) -> None:
        if not self.pg:
            return
        with connection.cursor() as cursor:
            for model in self.fields:
                table = model._meta.db_table
                top = model._default_manager.aggregate(m=Max("id"))["m"] or 0
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, top + 1]
                )


def _text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return _escape(value)
        return str(value)
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    return _escape(str(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _line(row: tuple[Any, ...]) -> str:
    return "\t".join(_text(v) for v in row) + "\n"


def _sqlite(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


# --- drawing --------------------------------------------------------------------------------


class Drawer:
    """Draws the appeals of each local day from the shapes, with numpy, for one seed."""

    def __init__(
        self, city: City, shapes: Shapes, seed: int, now: datetime, days: int, total: int
    ) -> None:
        self.city = city
        self.shapes = shapes
        self.rng = np.random.default_rng(seed)
        self.pyrng = random.Random(seed)
        self.now = now
        self.tz = ZoneInfo(settings.TIME_ZONE)
        today = now.astimezone(self.tz).date()
        self.days = [today - timedelta(days=days - 1 - i) for i in range(days)]
        weights = np.array(
            [shapes.months[d.month - 1] * shapes.weekdays[d.weekday()] for d in self.days]
        )
        # Today only up to now: scale its weight by the share of the day's hours passed.
        local_now = now.astimezone(self.tz)
        passed = sum(shapes.hours[: local_now.hour]) + shapes.hours[local_now.hour] * (
            local_now.minute / 60
        )
        weights[-1] *= passed
        self.per_day = self.rng.multinomial(total, weights / weights.sum())
        order = self.pyrng.sample(range(len(city.leaves)), len(city.leaves))
        curve = _fit(shapes.type_curve, len(city.leaves))
        self.leaf_p = np.zeros(len(city.leaves))
        for rank, index in enumerate(order):
            self.leaf_p[index] = curve[rank]
        order = self.pyrng.sample(range(len(city.places)), len(city.places))
        curve = _fit(shapes.place_curve, len(city.places))
        self.place_p = np.zeros(len(city.places))
        for rank, index in enumerate(order):
            self.place_p[index] = curve[rank]
        self.hour_p = np.array(shapes.hours)
        self.channels = list(shapes.channels)
        self.channel_p = np.array([shapes.channels[c] for c in self.channels])
        self.kinds = list(KINDS)
        self.kind_p = np.array(_norm(list(KINDS.values())))
        self.ratios = np.array(shapes.ratios)
        self.routes: dict[tuple[int, int], int | None] = {}
        self.dues: dict[tuple[int, str], int] = {}

    def lead(self, leaf_i: int, place_i: int) -> int | None:
        key = (leaf_i, place_i)
        if key not in self.routes:
            self.routes[key] = self.city.lead_unit(
                self.city.leaves[leaf_i], self.city.places[place_i]
            )
        return self.routes[key]

    def limit(self, leaf: Leaf, urgency: str, which: str) -> str:
        from civitas.appeals.deadlines import DEFAULTS

        chosen = dict(DEFAULTS.get(urgency, DEFAULTS["normal"]))
        chosen.update((leaf.deadlines or {}).get(urgency, {}))
        return str(chosen[which])

    def due_after(self, start: int, limit: str) -> int:
        """Seconds from ``start`` (epoch seconds) to the deadline, through the working-day
        calendar, cached per hour of the start (deadlines are not minute-exact here)."""
        hour = start - start % 3600
        key = (hour, limit)
        if key not in self.dues:
            begin = datetime.fromtimestamp(hour, UTC)
            end = calendar.add(
                begin, durations.parse(limit), calendar=self.city.code, tz=settings.TIME_ZONE
            )
            self.dues[key] = int((end - begin).total_seconds())
        return self.dues[key]

    def day(self, day: date, n: int) -> dict[str, np.ndarray]:
        rng = self.rng
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())
        hours = rng.choice(24, size=n, p=self.hour_p)
        received = np.sort(midnight + hours * 3600 + rng.integers(0, 3600, size=n))
        received = np.minimum(received, int(self.now.timestamp()) - 1)
        return {
            "received": received,
            "leaf": rng.choice(len(self.leaf_p), size=n, p=self.leaf_p),
            "place": rng.choice(len(self.place_p), size=n, p=self.place_p),
            "channel": rng.choice(len(self.channels), size=n, p=self.channel_p),
            "kind": rng.choice(len(self.kinds), size=n, p=self.kind_p),
            "urgent": rng.random(n) < URGENT_SHARE,
            "dispatch_delay": (rng.lognormal(np.log(1200), 1.0, n)).astype(np.int64),
            "accept_delay": (rng.lognormal(np.log(5400), 1.0, n)).astype(np.int64),
            "ratio": self.ratios[rng.integers(0, len(self.ratios), size=n)],
            "never": rng.random(n) < min(self.shapes.never_closed, STALE_CAP),
            "verdict_delay": (rng.lognormal(np.log(86400), 0.7, n)).astype(np.int64),
            "rated": rng.random(n) < RATED_SHARE,
            "verdict": rng.random(n),
            "jitter": rng.normal(0, 0.002, (n, 2)),
            "name": rng.integers(0, len(NAMES), size=n),
            "phone": rng.integers(0, 2000, size=n),
        }


def _fit(curve: list[float], n: int) -> list[float]:
    """A frequency curve stretched or cut to ``n`` items (largest first), renormalised."""
    if not curve:
        return _norm([1.0] * n)
    if len(curve) >= n:
        return _norm(curve[:n])
    tail = curve[-1]
    return _norm([*curve, *[tail * 0.98**i for i in range(1, n - len(curve) + 1)]])


_DAYS: dict[int, str] = {}
_EPOCH = date(1970, 1, 1)
_RECEIVED_DATA = {str(c): json.dumps({"channel": str(c), "synthetic": True}) for c in Channel}
_RATED_DATA = {v: json.dumps({"satisfaction": str(v)}) for v in Satisfaction}


def _ts(seconds: int) -> str:
    """A UTC time as the database takes it in text (``YYYY-MM-DD hh:mm:ss``; the writer adds
    the zone where the database wants it), faster than datetime objects by far."""
    day, rest = divmod(int(seconds), 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = (_EPOCH + timedelta(days=day)).isoformat()
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    return f"{prefix} {h:02d}:{m:02d}:{sec:02d}{_ZONE[0]}"


_ZONE = ["+00"]  # "" on SQLite (naive UTC text), set by the writer


def generate(
    *,
    city: str,
    appeals: int,
    seed: int = 1,
    days: int = 730,
    force: bool = False,
    now: datetime | None = None,
    shapes: Shapes | None = None,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> Summary:
    """Write ``appeals`` synthetic appeals for ``city`` (see the module's docstring)."""
    import time

    if appeals < 0 or days < 1:
        raise Conflict("give a positive number of appeals and days", code="synth_args")
    if not force and real_appeals_present():
        raise Conflict(
            "this database holds appeals that are not synthetic (nor the demo's): synthetic "
            "history is for measurement only; use a database of its own, or --force",
            code="synth_real_data",
        )
    started = time.perf_counter()
    now = (now or clock.now()).replace(microsecond=0)
    place_city = City(city)
    shapes = shapes or load_shapes()
    drawer = Drawer(place_city, shapes, seed, now, days, appeals)
    writer = Writer()
    out = Rows(writer)
    next_id = (Appeal.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    number_base = Appeal.objects.filter(submitted_by=ACTOR).count()
    by_status: Counter[str] = Counter()
    plan = [(d, n) for d, n in zip(drawer.days, drawer.per_day.tolist(), strict=True) if n]
    # Reserve every day's ticket numbers at once, so later intake numbers after them.
    with transaction.atomic():
        counters = _counters(city, [d for d, _ in plan])
        firsts = {d: counters.get(d, 0) for d, _ in plan}
        _save_counters(city, {d: firsts[d] + n for d, n in plan})
    pending: list[tuple[date, int]] = []
    pending_n = 0
    done = 0
    for index, (day, n) in enumerate(plan):
        pending.append((day, n))
        pending_n += n
        if pending_n >= batch or index == len(plan) - 1:
            with transaction.atomic():
                for d, k in pending:
                    _write_day(out, drawer, d, k, firsts[d], next_id, number_base + done, by_status)
                    next_id += k
                    done += k
                out.flush()
            if progress:
                progress(pending_n)
            pending, pending_n = [], 0
    writer.finish()
    writer.reset_sequences()
    writer.analyze()
    seconds = time.perf_counter() - started
    return Summary(done, writer.rows, seconds, by_status, shapes.source)


def _counters(city: str, days: list[date]) -> dict[date, int]:
    return dict(
        TicketCounter.objects.select_for_update()
        .filter(city=city, day__in=days)
        .values_list("day", "last")
    )


def _save_counters(city: str, counters: dict[date, int]) -> None:
    existing = dict(
        TicketCounter.objects.filter(city=city, day__in=list(counters)).values_list("day", "pk")
    )
    TicketCounter.objects.bulk_create(
        [TicketCounter(city=city, day=d, last=n) for d, n in counters.items() if d not in existing]
    )
    for d, pk in existing.items():
        TicketCounter.objects.filter(pk=pk).update(last=counters[d])


APPEAL_NAMES = [
    "id", "ticket", "token_hash", "city", "channel", "kind", "title", "text", "matter_id",
    "matter_confidence", "matter_method", "urgency", "lat", "lon", "jurisdiction_id",
    "jurisdiction_path", "locate_method", "locate_confidence", "status", "lead_unit_id",
    "first_unit_id", "submitted_by", "route_method", "received_at", "dispatched_at",
    "accepted_at", "resolved_at", "closed_at", "respond_due", "resolve_due", "external_id",
    "version", "updated_at",
]  # fmt: skip
CONTACT_NAMES = ["appeal_id", "name", "phone"]
ASSIGN_NAMES = ["appeal_id", "unit_id", "role", "state", "dispatched_at", "accepted_at", "done_at"]
EVENT_NAMES = ["appeal_id", "at", "actor", "unit_id", "action", "from_status", "to_status",
               "public", "data"]  # fmt: skip
RATING_NAMES = ["appeal_id", "round", "responded", "solved", "satisfaction", "by_callback",
                "recorded_by", "at", "unit_id"]  # fmt: skip
VERDICTS = [Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.DISSATISFIED]


def _extend(
    writer: Writer, model: type[models.Model], names: list[str]
) -> tuple[list[str], tuple[Any, ...]]:
    """The names and values of the table's other columns: each field's default."""
    extra = writer.defaults(model, set(names))
    return [*names, *extra], tuple(extra.values())


class Rows:
    """One batch's rows of every table, written together."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.appeal_names, self.appeal_extra = _extend(writer, Appeal, APPEAL_NAMES)
        self.contact_names, self.contact_extra = _extend(writer, Contact, CONTACT_NAMES)
        self.assign_names, self.assign_extra = _extend(writer, Assignment, ASSIGN_NAMES)
        self.event_names, self.event_extra = _extend(writer, Event, EVENT_NAMES)
        self.rating_names, self.rating_extra = _extend(writer, Rating, RATING_NAMES)
        self.clear()

    def clear(self) -> None:
        self.appeals: list[tuple[Any, ...]] = []
        self.contacts: list[tuple[Any, ...]] = []
        self.assignments: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.ratings: list[tuple[Any, ...]] = []

    def flush(self) -> None:
        w = self.writer
        w.write(Appeal, self.appeal_names, self.appeals)
        w.write(Contact, self.contact_names, self.contacts)
        w.write(Assignment, self.assign_names, self.assignments)
        w.write(Event, self.event_names, self.events)
        w.write(Rating, self.rating_names, self.ratings)
        self.clear()


def _write_day(
    out: Rows,
    drawer: Drawer,
    day: date,
    n: int,
    first_number: int,
    first_id: int,
    first_external: int,
    by_status: Counter[str],
) -> None:
    d = drawer.day(day, n)
    city = drawer.city
    now_s = int(drawer.now.timestamp())
    stamp = f"{city.code}-{day:%Y%m%d}-"
    writer = out.writer
    appeal_extra, contact_extra, assign_extra = (
        out.appeal_extra,
        out.contact_extra,
        out.assign_extra,
    )
    event_extra, rating_extra = out.event_extra, out.rating_extra
    appeals, contacts, assignments = out.appeals, out.contacts, out.assignments
    events, ratings = out.events, out.ratings
    for i in range(n):
        pk = first_id + i
        ticket = f"{stamp}{first_number + i + 1:06d}"
        leaf_i = int(d["leaf"][i])
        place_i = int(d["place"][i])
        leaf = city.leaves[leaf_i]
        place = city.places[place_i]
        urgency = "urgent" if d["urgent"][i] else (leaf.urgency or "normal")
        channel = drawer.channels[int(d["channel"][i])]
        received = int(d["received"][i])
        respond_due = received + drawer.due_after(received, drawer.limit(leaf, urgency, "respond"))
        resolve_due = received + drawer.due_after(received, drawer.limit(leaf, urgency, "resolve"))
        lead = drawer.lead(leaf_i, place_i)
        dispatched: int | None = received + int(d["dispatch_delay"][i])
        accepted: int | None = None
        resolved: int | None = None
        closed: int | None = None
        if lead is None or dispatched is None or dispatched > now_s:
            status, dispatched, lead = Status.TRIAGE, None, None
        else:
            accepted = dispatched + int(d["accept_delay"][i])
            if not d["never"][i]:
                allowed = max(resolve_due - dispatched, 3600)
                resolved = dispatched + max(int(float(d["ratio"][i]) * allowed), 600)
                resolved = max(resolved, accepted + 60)
                closed = resolved + int(d["verdict_delay"][i])
            if accepted > now_s:
                status, accepted, resolved, closed = Status.DISPATCHED, None, None, None
            elif resolved is None or resolved > now_s:
                status, resolved, closed = Status.ACCEPTED, None, None
            elif closed is not None and closed > now_s:
                status, closed = Status.RESOLVED, None
            else:
                status = Status.CLOSED
        by_status[status] += 1
        lat = lon = None
        if place.lat is not None and place.lon is not None:
            lat = round(place.lat + float(d["jitter"][i][0]), 6)
            lon = round(place.lon + float(d["jitter"][i][1]), 6)
        last = max(t for t in (received, dispatched, accepted, resolved, closed) if t is not None)
        version = 1 + sum(t is not None for t in (dispatched, accepted, resolved, closed))
        received_at = _ts(received)
        appeals.append(
            (
                pk, ticket,
                hashlib.sha256(f"synth:{ticket}".encode()).hexdigest(),
                city.code, channel, drawer.kinds[int(d["kind"][i])],
                leaf.name_en[:200],
                f"{leaf.name_en} ({leaf.name_zh}) near {place.code}: synthetic appeal.",
                leaf.id, 1.0, ROUTE_METHOD, urgency, lat, lon, place.id, place.path,
                "point" if lat is not None else "none", 1.0 if lat is not None else None,
                status, lead, lead, ACTOR, ROUTE_METHOD, received_at,
                _ts(dispatched) if dispatched else None, _ts(accepted) if accepted else None,
                _ts(resolved) if resolved else None, _ts(closed) if closed else None,
                _ts(respond_due), _ts(resolve_due),
                f"{EXTERNAL_PREFIX}{first_external + i + 1}", version, _ts(last),
                *appeal_extra,
            )
        )  # fmt: skip
        contacts.append(
            (pk, *writer.personal(NAMES[int(d["name"][i])], f"1390000{int(d['phone'][i]):04d}"),
             *contact_extra)
        )  # fmt: skip
        events.append(
            (pk, received_at, ACTOR, None, "received", "", Status.RECEIVED, True,
             _RECEIVED_DATA[channel], *event_extra)
        )  # fmt: skip
        if dispatched is None:
            continue
        state = (
            Assignment.State.DONE
            if resolved
            else Assignment.State.ACCEPTED
            if accepted
            else Assignment.State.DISPATCHED
        )
        assignments.append(
            (pk, lead, Assignment.Role.LEAD, state, _ts(dispatched),
             _ts(accepted) if accepted else None, _ts(resolved) if resolved else None,
             *assign_extra)
        )  # fmt: skip
        events.append(
            (pk, _ts(dispatched), ACTOR, lead, "dispatch", Status.RECEIVED, Status.DISPATCHED,
             True, "{}", *event_extra)
        )  # fmt: skip
        if accepted and not resolved:
            events.append(
                (pk, _ts(accepted), ACTOR, lead, "accept", Status.DISPATCHED, Status.ACCEPTED,
                 True, "{}", *event_extra)
            )  # fmt: skip
        if resolved:
            events.append(
                (pk, _ts(resolved), ACTOR, lead, "resolve", Status.ACCEPTED, Status.RESOLVED,
                 True, "{}", *event_extra)
            )  # fmt: skip
        if closed:
            late = resolved is not None and resolved > resolve_due
            if d["rated"][i]:
                shares = VERDICTS_LATE if late else VERDICTS_ON_TIME
                x = float(d["verdict"][i])
                verdict = VERDICTS[0 if x < shares[0] else 1 if x < shares[0] + shares[1] else 2]
                ratings.append(
                    (pk, 1, True, verdict != Satisfaction.DISSATISFIED, verdict, True, ACTOR,
                     _ts(closed), lead, *rating_extra)
                )  # fmt: skip
                events.append(
                    (pk, _ts(closed), ACTOR, None, "rate_closed", Status.RESOLVED, Status.CLOSED,
                     True, _RATED_DATA[verdict], *event_extra)
                )  # fmt: skip
            else:
                events.append(
                    (pk, _ts(closed), ACTOR, None, "close", Status.RESOLVED, Status.CLOSED,
                     True, "{}", *event_extra)
                )  # fmt: skip
