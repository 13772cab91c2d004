"""Replay of Boston's 311 service requests (2015) as appeals: ``civitas import boston311 FILE``.

Each record becomes an appeal of the Boston city pack (import it first) with its real
timestamps: OPEN_DT is when it was received and dispatched, TARGET_DT its resolution deadline,
CLOSED_DT when it was resolved and closed (local times, America/New_York). TYPE is the matter
(the pack's codes, ``builders.boston.matter_code``), QUEUE the lead unit (the pack's queue units
carry the queue's name as an alias), Source the channel, CASE_ENQUIRY_ID the external id.

Replayed history is not new work: it bypasses intake's per-case triage, dispatch, timeline
audit entries and notifications. Rows are written in bulk (one prepared INSERT per table per
batch), each batch in its own transaction with ONE audit entry that summarises it (lines, ids).
A batch is all or nothing; rows that cannot be read are quarantined (line, field, problem) and
the others go in. Re-running skips the cases already there (same city and external id).
"""

from __future__ import annotations

import csv
import gzip
import io
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from civitas.appeals import deadlines, intake
from civitas.appeals.models import (
    Appeal,
    Assignment,
    Channel,
    Contact,
    Event,
    Kind,
    LocateMethod,
    Status,
)
from civitas.citypacks.builders.boston import CITY, TIME_FORMAT, matter_code
from civitas.citypacks.builders.boston_names import NO_QUEUE
from civitas.geo.locate import index as boundary_index
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import InvalidInput, NotFound
from civitas.matters.models import Matter
from civitas.org.models import Unit

ACTOR = "replay:boston311"
TZ = ZoneInfo("America/New_York")
EXTRACTED = datetime.combine(date(2016, 1, 13), time(0, 0), tzinfo=TZ)  # the data's as-of day
PLACEHOLDER = (42.3594, -71.0587)  # City Hall: the data's "no location"
BATCH = 2000
REQUIRED = ("CASE_ENQUIRY_ID", "OPEN_DT", "CASE_STATUS", "TYPE", "QUEUE")

CHANNELS = {
    "Constituent Call": Channel.HOTLINE,
    "Citizens Connect App": Channel.WEB,
    "Self Service": Channel.WEB,
    "Twitter": Channel.WEB,
    "Employee Generated": Channel.GRID,
    "City Worker App": Channel.GRID,
    "Maximo Integration": Channel.API,
}

PACK_MISSING = (
    "the Boston city pack is not imported: run `civitas city build boston --data DIR --out PACK "
    "&& civitas city import PACK` first (DIR holds the boston/ data folder)"
)


@dataclass(frozen=True)
class Problem:
    line: int  # line in the file (the header is line 1)
    case: str
    field: str
    message: str


@dataclass
class Row:
    line: int
    case: str
    received: datetime
    target: datetime | None
    closed: datetime | None
    status: str
    ontime_recorded: str
    title: str
    text: str
    address: str
    matter_id: int | None
    unit: Unit | None
    lat: float | None
    lon: float | None
    channel: str
    source: str
    closure: str
    queue: str


@dataclass
class Report:
    read: int = 0
    created: int = 0
    already: int = 0
    batches: int = 0
    quarantined: list[Problem] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)

    @property
    def quarantined_rows(self) -> int:
        return len({p.line for p in self.quarantined})

    def summary(self) -> str:
        lines = [
            f"rows read: {self.read}",
            f"appeals created: {self.created}",
            f"already imported (skipped): {self.already}",
            f"quarantined rows: {self.quarantined_rows}",
            f"batches committed: {self.batches}",
        ]
        lines += [f"{what}: {n}" for what, n in sorted(self.notes.items())]
        return "\n".join(lines)

    def write_quarantine(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["line", "CASE_ENQUIRY_ID", "field", "problem"])
            for p in self.quarantined:
                writer.writerow([p.line, p.case, p.field, p.message])


def parse_time(text: str) -> datetime:
    """A Boston record's local time (``%m/%d/%Y %I:%M:%S %p``) as an aware datetime."""
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=TZ)


class _Lookup:
    """The Boston pack's matters and units, read once."""

    def __init__(self) -> None:
        if not Jurisdiction.objects.filter(code=CITY, parent__isnull=True).exists():
            raise NotFound(PACK_MISSING, code="pack_missing")
        self.matters = dict(Matter.objects.filter(catalogue=CITY).values_list("code", "id"))
        self.by_queue: dict[str, Unit] = {}
        self.by_short: dict[str, Unit] = {}
        for unit in Unit.objects.filter(city=CITY, active=True).order_by("code"):
            for alias in unit.aliases or []:
                if "-Q-" in unit.code:
                    self.by_queue.setdefault(alias, unit)
                else:
                    self.by_short.setdefault(alias, unit)

    def unit(self, queue: str, dept: str, notes: Counter[str]) -> Unit | None:
        found = self.by_queue.get(queue)
        if found is None and dept and dept != NO_QUEUE:
            found = self.by_short.get(dept)
            if found is not None:
                notes["lead unit: the department (queue not in the pack)"] += 1
        if found is None:
            notes["no lead unit (no team named)"] += 1
        return found


def _read(
    line: int, raw: dict[str, str], look: _Lookup, notes: Counter[str]
) -> Row | list[Problem]:
    case = (raw.get("CASE_ENQUIRY_ID") or "").strip()
    problems: list[Problem] = []

    def bad(fld: str, message: str) -> None:
        problems.append(Problem(line, case, fld, message))

    for name in REQUIRED:
        if not (raw.get(name) or "").strip():
            bad(name, "missing")
    if len(case) > 32:
        bad("CASE_ENQUIRY_ID", "longer than 32 characters")

    def when(name: str) -> datetime | None:
        text = (raw.get(name) or "").strip()
        if not text:
            return None
        try:
            return parse_time(text)
        except ValueError:
            bad(name, f"not a time like 01/31/2015 08:30:00 AM: {text[:40]!r}")
            return None

    received, target, closed = when("OPEN_DT"), when("TARGET_DT"), when("CLOSED_DT")
    status = (raw.get("CASE_STATUS") or "").strip()
    if status and status not in ("Open", "Closed"):
        bad("CASE_STATUS", f"expected Open or Closed, got {status[:20]!r}")
    if status == "Closed" and closed is None and not any(p.field == "CLOSED_DT" for p in problems):
        bad("CLOSED_DT", "a closed case without a closing time")
    lat = lon = None
    lat_text, lon_text = (raw.get("LATITUDE") or "").strip(), (raw.get("LONGITUDE") or "").strip()
    if lat_text or lon_text:
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            bad("LATITUDE" if not _is_float(lat_text) else "LONGITUDE", "not a number")
        else:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                bad("LATITUDE", f"outside the globe: {lat}, {lon}")
    if problems:
        return problems
    assert received is not None
    if (round(lat or 0, 4), round(lon or 0, 4)) == PLACEHOLDER:
        lat = lon = None
        notes["no location (City Hall placeholder point)"] += 1
    if closed is not None and closed < received:
        notes["closed before it was opened (kept as recorded)"] += 1
    subject, reason, type_ = (raw.get(k, "").strip() for k in ("SUBJECT", "REASON", "TYPE"))
    matter_id = look.matters.get(matter_code(subject, reason, type_))
    if matter_id is None:
        notes["matter not in the pack's catalogue"] += 1
    queue = raw["QUEUE"].strip()
    source = (raw.get("Source") or "").strip()
    channel = CHANNELS.get(source)
    if channel is None:
        channel = Channel.REPLAY
        notes["channel: source not mapped"] += 1
    title = (raw.get("CASE_TITLE") or "").strip() or type_
    address = " ".join((raw.get("Location") or "").split())[:300]
    text = title if title == type_ else f"{type_}: {title}"
    if address:
        text = f"{text} — {address}"
    return Row(
        line=line,
        case=case,
        received=received,
        target=target,
        closed=closed if status == "Closed" else None,
        status=status,
        ontime_recorded=(raw.get("OnTime_Status") or "").strip(),
        title=title[:200],
        text=text[: intake.MAX_TEXT],
        address=address,
        matter_id=matter_id,
        unit=look.unit(queue, (raw.get("Department") or "").strip(), notes),
        lat=lat,
        lon=lon,
        channel=channel,
        source=source,
        closure=(raw.get("CLOSURE_REASON") or "").strip(),
        queue=queue,
    )


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def open_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, record) for each record of a CSV file, gzipped or not."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", details={"field": "file"})
    raw = path.open("rb")
    with raw:
        head = raw.read(2)
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if head == b"\x1f\x8b" else raw
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        columns = reader.fieldnames or []
        missing = [c for c in (*REQUIRED, "TARGET_DT", "CLOSED_DT") if c not in columns]
        if missing:
            raise InvalidInput(
                f"{path} is not a Boston 311 requests file: no column {', '.join(missing)}",
                details={"field": "file", "missing": missing},
            )
        for record in reader:
            yield reader.line_num, record


def _locate(rows: list[Row], notes: Counter[str]) -> dict[int, Any]:
    """line -> the deepest jurisdiction (a light Place) of each row that has a point."""
    placed = [r for r in rows if r.lat is not None and r.lon is not None]
    if not placed:
        return {}
    found = boundary_index.locate_many(
        np.array([r.lat for r in placed]), np.array([r.lon for r in placed])
    )
    out = {}
    for row, hit in zip(placed, found, strict=True):
        if hit is None:
            notes["point outside the city's boundaries"] += 1
        else:
            out[row.line] = hit.jurisdiction
    return out


def _appeal(row: Row, place: Any, now: datetime) -> dict[str, Any]:
    closed = row.status == "Closed"
    status = (
        Status.CLOSED if closed else (Status.ACCEPTED if row.unit is not None else Status.TRIAGE)
    )
    unit_id = row.unit.pk if row.unit is not None else None
    return {
        "ticket": f"{CITY}-{row.received.astimezone(TZ):%Y%m%d}-{row.case}"[:32],
        "token_hash": intake.hash_token(secrets.token_urlsafe(24)),
        "city": CITY,
        "channel": row.channel,
        "kind": Kind.REPORT,
        "title": row.title,
        "text": row.text,
        "matter_id": row.matter_id,
        "matter_method": "replay" if row.matter_id else "",
        "matter_confidence": 1.0 if row.matter_id else None,
        "lat": row.lat,
        "lon": row.lon,
        "address": row.address,
        "jurisdiction_id": place.id if place else None,
        "jurisdiction_path": place.path if place else f"/{CITY}/",
        "locate_method": LocateMethod.POINT if place else LocateMethod.NONE,
        "locate_confidence": 1.0 if place else None,
        "status": status,
        "lead_unit_id": unit_id,
        "first_unit_id": unit_id,
        "submitted_by": ACTOR,
        "received_at": row.received,
        "dispatched_at": row.received if unit_id else None,
        "accepted_at": row.received if unit_id else None,
        "resolved_at": row.closed,
        "closed_at": row.closed,
        "respond_due": None,  # the data has no response target
        "resolve_due": row.target,
        "external_id": row.case,
        "updated_at": now,
    }


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (dicts by attribute name) with one prepared statement.

    ``bulk_create`` spends most of its time building model instances and compiling SQL for
    small slices (SQLite allows 999 parameters per statement: ~28 appeals). This sends one
    ``executemany``; values that need it (times, JSON) are prepared by the field itself, and
    missing ones take the field's default. Ids are not returned.
    """
    if not rows:
        return
    conn = connections[DEFAULT_DB_ALIAS]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    prepare = [
        f if isinstance(f, models.DateTimeField | models.JSONField) else None for f in fields
    ]
    params = []
    for row in rows:
        values = []
        for name, f in zip(names, prepare, strict=True):
            value = row.get(name, defaults[name])
            if f is not None and value is not None:
                value = f.get_db_prep_save(value, conn)
            values.append(value)
        params.append(values)
    quote = conn.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (names from the model)
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


def _write_batch(rows: list[Row], report: Report) -> None:
    """One batch, all or nothing, with one audit entry. Runs in the caller's transaction."""
    existing = set(
        Appeal.objects.filter(city=CITY, external_id__in=[r.case for r in rows]).values_list(
            "external_id", flat=True
        )
    )
    fresh = [r for r in rows if r.case not in existing]
    report.already += len(rows) - len(fresh)
    if not fresh:
        return
    places = _locate(fresh, report.notes)
    now = clock.now()
    _insert(Appeal, [_appeal(r, places.get(r.line), now) for r in fresh])
    ids = dict(
        Appeal.objects.filter(city=CITY, external_id__in=[r.case for r in fresh]).values_list(
            "external_id", "id"
        )
    )
    _insert(Contact, [{"appeal_id": ids[r.case], "wants_notifications": False} for r in fresh])
    _insert(
        Assignment,
        [
            {
                "appeal_id": ids[r.case],
                "unit_id": r.unit.pk,
                "role": Assignment.Role.LEAD,
                "state": Assignment.State.DONE if r.closed else Assignment.State.ACCEPTED,
                "dispatched_at": r.received,
                "accepted_at": r.received,
                "done_at": r.closed,
            }
            for r in fresh
            if r.unit is not None
        ],
    )
    events: list[dict[str, Any]] = []
    for r in fresh:
        unit_id = r.unit.pk if r.unit is not None else None
        events.append(
            {
                "appeal_id": ids[r.case],
                "at": r.received,
                "actor": ACTOR,
                "unit_id": unit_id,
                "action": "received",
                "to_status": Status.TRIAGE if unit_id is None else Status.ACCEPTED,
                "public": True,
                "data": {"channel": r.channel, "source": r.source, "queue": r.queue},
            }
        )
        if r.closed is not None:
            events.append(
                {
                    "appeal_id": ids[r.case],
                    "at": r.closed,
                    "actor": ACTOR,
                    "unit_id": unit_id,
                    "action": "resolve",
                    "from_status": Status.ACCEPTED,
                    "to_status": Status.CLOSED,
                    "note": r.closure[:2000],
                    "public": True,
                    "data": {"on_time_recorded": r.ontime_recorded},
                }
            )
    _insert(Event, events)
    audit.record(
        actor=ACTOR,
        action="appeal.replay",
        object_type="appeals.appeal",
        object_id=f"{CITY}:{fresh[0].case}..{fresh[-1].case}",
        after={
            "source": "Boston 311 (City of Boston open data)",
            "lines": [fresh[0].line, fresh[-1].line],
            "created": len(fresh),
            "closed": sum(1 for r in fresh if r.closed is not None),
            "skipped_existing": len(rows) - len(fresh),
        },
        reason="replay of real history: per-case triage, timeline audit and notifications bypassed",
    )
    report.created += len(fresh)


def replay(
    path: Path,
    *,
    limit: int | None = None,
    batch: int = BATCH,
    progress: Callable[[Report], None] | None = None,
    rows: Iterable[tuple[int, dict[str, str]]] | None = None,
) -> Report:
    """Load the file's records as appeals, each batch in its own transaction.

    Returns the report (counts, quarantined rows with line and field). Raises NotFound when
    the Boston pack is not imported. A database error rolls back the batch in hand (batches
    committed before it stay; re-running resumes, as committed cases are skipped).
    """
    look = _Lookup()
    report = Report()
    seen: dict[str, int] = {}
    pending: list[Row] = []

    def flush() -> None:
        if pending:
            with transaction.atomic():
                _write_batch(pending, report)
            report.batches += 1
            pending.clear()
            if progress is not None:
                progress(report)

    for line, raw in rows if rows is not None else open_rows(path):
        if limit is not None and report.read >= limit:
            break
        report.read += 1
        parsed = _read(line, raw, look, report.notes)
        if isinstance(parsed, list):
            report.quarantined.extend(parsed)
            continue
        if parsed.case in seen:
            report.quarantined.append(
                Problem(line, parsed.case, "CASE_ENQUIRY_ID", f"repeats line {seen[parsed.case]}")
            )
            continue
        seen[parsed.case] = line
        pending.append(parsed)
        if len(pending) >= batch:
            flush()
    flush()
    return report


def recorded_ontime(path: Path) -> dict[str, str]:
    """CASE_ENQUIRY_ID -> the record's own OnTime_Status (ONTIME, OVERDUE, or blank)."""
    return {
        raw["CASE_ENQUIRY_ID"].strip(): (raw.get("OnTime_Status") or "").strip()
        for _line, raw in open_rows(path)
    }


@dataclass
class Agreement:
    cases: int = 0
    agree: int = 0
    recorded_blank: int = 0
    not_in_file: int = 0
    by_kind: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (state, rec, ours)

    @property
    def with_status(self) -> int:
        return self.cases - self.recorded_blank

    def share(self, *, of_recorded: bool = False) -> float:
        total = self.with_status if of_recorded else self.cases
        return self.agree / total if total else 0.0


def ontime_agreement(path: Path, as_of: datetime = EXTRACTED) -> Agreement:
    """Compare Civitas's on-time decision (``deadlines.on_time`` as of ``as_of``) for every
    replayed case with the record's own OnTime_Status."""
    recorded = recorded_ontime(path)
    result = Agreement()
    fields = ("id", "status", "external_id", "resolve_due", "resolved_at", "closed_at")
    cases = Appeal.objects.filter(city=CITY, submitted_by=ACTOR).only(*fields)
    for appeal in cases.iterator(chunk_size=5000):
        rec = recorded.get(appeal.external_id)
        if rec is None:
            result.not_in_file += 1
            continue
        ours = "ONTIME" if deadlines.on_time(appeal, as_of) else "OVERDUE"
        result.cases += 1
        result.recorded_blank += rec == ""
        result.agree += ours == rec
        state = (
            "no target" if appeal.resolve_due is None else ("open" if appeal.is_open else "closed")
        )
        result.by_kind[(state, rec or "(blank)", ours)] += 1
    return result
