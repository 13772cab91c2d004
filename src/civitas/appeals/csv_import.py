"""Bulk import of appeals from a CSV file, through the same intake as every other channel.

Each good row becomes an appeal in its own transaction; a bad row is quarantined with its
problems (file, line, field, message) and the others go on. ``external_id`` makes a re-run
import nothing twice: a row whose id the city already holds is skipped. A row without one is
given ``csv:<hash of its content>``, so re-running the same file is safe too.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civitas.appeals import intake
from civitas.appeals.models import Appeal, Channel
from civitas.kit import clock
from civitas.kit.errors import CivitasError, InvalidInput
from civitas.kit.spreadsheet import csv_cell

COLUMNS = (
    "text",
    "kind",
    "title",
    "matter",
    "urgency",
    "lat",
    "lon",
    "address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "external_id",
    "received_at",
)
REQUIRED = ("text",)
ACTOR = "cli:import-csv"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str


@dataclass
class Result:
    rows: int = 0
    imported: int = 0
    skipped: int = 0  # already imported (same external_id)
    problems: list[Problem] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)

    @property
    def quarantined(self) -> int:
        return len({p.line for p in self.problems if p.line})


class _DryRun(Exception):
    """Raised to roll back a dry run's row after it went through intake."""


def _float(raw: str, name: str, bad: Callable[[str, str], None]) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        bad(name, f"not a number: {raw!r}")
        return None


def _when(raw: str, bad: Callable[[str, str], None]) -> datetime | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        bad("received_at", f"not an ISO date and time: {raw!r}")
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    if at > clock.now():
        bad("received_at", "lies in the future")
        return None
    return at


def _row_id(row: dict[str, str]) -> str:
    given = (row.get("external_id") or "").strip()
    if given:
        return given
    content = "\x1f".join((row.get(c) or "").strip() for c in COLUMNS)
    return "csv:" + hashlib.sha256(content.encode()).hexdigest()[:24]


def parse_row(
    row: dict[str, str], *, city: str, channel: str
) -> tuple[intake.AppealIn | None, list[tuple[str, str]]]:
    """A CSV row as intake input, or the problems (field, message) that prevent it."""
    problems: list[tuple[str, str]] = []

    def bad(fld: str, msg: str) -> None:
        problems.append((fld, msg))

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    if len(get("external_id")) > 64:
        bad("external_id", "at most 64 characters")
    data = intake.AppealIn(
        city=city,
        text=get("text"),
        channel=channel,
        kind=get("kind") or "complaint",
        title=get("title"),
        matter_code=get("matter"),
        urgency=get("urgency"),
        lat=_float(get("lat"), "lat", bad),
        lon=_float(get("lon"), "lon", bad),
        address=get("address"),
        contact=intake.ContactIn(
            name=get("contact_name"), phone=get("contact_phone"), email=get("contact_email")
        ),
        external_id=_row_id(row),
        received_at=_when(get("received_at"), bad),
    )
    return (None if problems else data), problems


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, {k: (v or "") for k, v in row.items() if k is not None}


def check_header(path: Path) -> list[str]:
    """The required columns missing from the file's header."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), [])
    present = {h.strip() for h in header}
    return [c for c in REQUIRED if c not in present]


def count_rows(path: Path) -> int:
    return sum(1 for _row in _rows(path))


def import_csv(
    path: Path,
    *,
    city: str,
    channel: str = Channel.CSV,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Import the rows of ``path`` into ``city``; returns the counts and the problems.

    Opens one transaction per row (the command is the entry point); in a dry run every row
    goes through intake and is rolled back."""
    if channel not in Channel.values:
        raise CivitasError(
            _("unknown channel %(channel)s; use one of %(values)s")
            % {"channel": repr(channel), "values": ", ".join(Channel.values)}
        )
    result = Result()
    name = str(path)
    missing = check_header(path)
    if missing:
        raise InvalidInput(
            _("%(file)s: the header lacks the column(s) %(missing)s; expected %(columns)s")
            % {"file": name, "missing": ", ".join(missing), "columns": ", ".join(COLUMNS)},
            details={"field": ",".join(missing)},
        )
    total = count_rows(path) if progress else 0
    seen: dict[str, int] = {}
    for line, row in _rows(path):
        result.rows += 1
        if progress:
            progress(result.rows, total)
        data, problems = parse_row(row, city=city, channel=channel)
        row_id = _row_id(row)
        if row_id in seen:
            problems.append(("external_id", f"repeats line {seen[row_id]} of this file"))
        else:
            seen[row_id] = line
        if data is None or problems:
            result.problems += [Problem(name, line, f, m) for f, m in problems]
            continue
        if Appeal.objects.filter(city=city, external_id=row_id).exists():
            result.skipped += 1
            continue
        try:
            with transaction.atomic():
                done = intake.submit(actor=ACTOR, data=data)
                if dry_run:
                    raise _DryRun
            result.imported += 1
            result.tickets.append(done.appeal.ticket)
        except _DryRun:
            result.imported += 1
        except CivitasError as exc:
            details = exc.details if isinstance(exc.details, list) else [exc.details or {}]
            for d in details:
                fld = str(d.get("field", "")) if isinstance(d, dict) else ""
                msg = str(d.get("message", exc.message)) if isinstance(d, dict) else exc.message
                result.problems.append(Problem(name, line, fld, msg))
    return result


def write_report(problems: list[Problem], report: Path) -> None:
    with report.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["file", "line", "field", "message"])
        for p in problems:
            out.writerow([csv_cell(v) for v in (p.file, p.line, p.field, p.message)])


def default_report(path: Path) -> Path:
    return path.with_name(path.name + ".errors.csv")


def summary(result: Result, *, dry_run: bool) -> str:
    verb = "would import" if dry_run else "imported"
    return (
        f"{result.rows} row(s): {verb} {result.imported}, skipped {result.skipped} "
        f"already imported, quarantined {result.quarantined}"
    )
