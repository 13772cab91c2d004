"""Loading records into a dataset: files (CSV, XLSX, JSON) and API pushes, checked against
the schema and applied whole or not at all; bad rows kept in the quarantine.

A file is first *staged*: a copy under ``CIVITAS_VAR/hub/staged/`` and a pending
:class:`Batch` numbered per dataset (the next number is taken under a row lock on the
dataset). :func:`run` then claims the batch (a row lock and a status check, so two runs of
one batch never both load) and checks and loads every row in ONE transaction: rows are read as
a stream and converted in chunks, good rows inserted (PostgreSQL ``COPY FROM STDIN``,
``executemany`` on SQLite), and reading goes on to the end to find every bad row. If any row
is bad the transaction is rolled back and, in a new one, the batch is rejected with a report
and its bad rows in the quarantine; otherwise the batch is applied (a "replace" batch deletes
the earlier records in the same transaction) with one audit entry. Any other failure leaves
nothing loaded and the batch FAILED with the message.

Identity numbers never reach the database in clear: records and quarantine rows hold their
pseudonymous keys (an invalid number is left out of the quarantined row). A steward corrects
quarantined rows (the corrected values are checked at once) or leaves them out, and runs the
batch again: the staged file is read with the corrections put over the bad rows.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from civitas.hub import readers, rights
from civitas.hub.convert import Bad, Converted, Converter, redact
from civitas.hub.models import (
    Batch,
    BatchMode,
    BatchSource,
    BatchStatus,
    Dataset,
    QuarantineRow,
    QuarantineStatus,
    Record,
)
from civitas.kit import audit, clock
from civitas.kit.errors import CivitasError, Conflict, Forbidden, InvalidInput, NotFound

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # rows done, rows in all (None when unknown)

CHUNK = 5000
REPORT_PROBLEMS = 200  # problems kept in full in the batch report
QUARANTINE_MAX = 50_000  # bad rows kept for fixing; a file with more is better fixed at source
RUNNABLE = frozenset({BatchStatus.PENDING, BatchStatus.REJECTED, BatchStatus.FAILED})
DISCARDABLE = RUNNABLE
PROGRESS_TTL = 6 * 3600
SILENT_MINUTES = 10  # a loading batch whose progress has not moved for so long has no worker
QUEUE_UNKNOWN_BYTES = 256 * 1024  # a file this large whose rows cannot be counted is queued

_COLUMNS = (
    "dataset_id",
    "batch_id",
    "row_number",
    "data",
    "jurisdiction_id",
    "jurisdiction_path",
    "lat",
    "lon",
    "person_key",
    "credit_code",
    "occurred_on",
)


# -- who ----------------------------------------------------------------------------------


def require_steward(actor: Any, dataset: Dataset) -> None:
    """Only the owner unit's stewards (and API keys with hub:write for it) load data. A plain
    string actor is the system itself (the command line, tasks)."""
    if isinstance(actor, str):
        return
    if not rights.is_steward(actor, dataset):
        raise Forbidden(
            _(
                "Only data stewards of %(unit)s (or an API key of that unit with the hub:write "
                "scope) load records into this dataset."
            )
            % {"unit": dataset.owner_unit.name},
            details={"action": "hub.manage"},
        )


def _mode(mode: str) -> str:
    if mode not in BatchMode.values:
        raise InvalidInput(
            _("Unknown mode %(mode)s: use append or replace.") % {"mode": mode},
            code="invalid_mode",
            details={"field": "mode"},
        )
    return mode


def _fields(dataset: Dataset) -> list[Any]:
    if dataset.schema_id is None:
        raise InvalidInput(
            _("The dataset has no schema yet: define its fields before loading records."),
            code="no_schema",
        )
    if not dataset.active:
        raise InvalidInput(_("The dataset is retired: it takes no new records."), code="inactive")
    return list(dataset.schema.fields.all())  # type: ignore[union-attr]


# -- staging ------------------------------------------------------------------------------


def staging_dir() -> Path:
    return Path(settings.CIVITAS_VAR) / "hub" / "staged"


def ensure_staging_dir() -> Path:
    """The staging folder, created (or narrowed) to its owner only: staged files hold
    identity numbers in clear until their batch is applied or discarded."""
    folder = staging_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)
    return folder


def _stage_copy(src: Path, suffix: str) -> Path:
    """A private copy (mode 0600, created so: never readable by others, not even briefly)."""
    target = ensure_staging_dir() / f"{uuid.uuid4().hex}{suffix}"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            while part := inp.read(1024 * 1024):
                out.write(part)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _open_batch(
    actor: Any,
    dataset: Dataset,
    *,
    source: str,
    mode: str,
    filename: str,
    staged: Path,
    rows: int | None,
) -> Batch:
    locked = Dataset.objects.select_for_update(no_key=True).get(pk=dataset.pk)
    top = Batch.objects.filter(dataset=locked).aggregate(top=Max("number"))["top"] or 0
    assert locked.schema_id is not None
    return Batch.objects.create(
        dataset=locked,
        number=top + 1,
        schema_id=locked.schema_id,
        source=source,
        mode=mode,
        filename=filename[:255],
        staged_path=str(staged),
        rows_total=rows or 0,
        created_by=audit.actor_label(actor)[:120],
    )


def stage_file(
    actor: Any, dataset: Dataset, path: Path, *, filename: str, mode: str = BatchMode.APPEND
) -> Batch:
    """Keep a copy of an uploaded file under CIVITAS_VAR and open a pending batch for it.
    The file's kind, size and header are checked here, so a wrong file is told at once."""
    require_steward(actor, dataset)
    _mode(mode)
    fields = _fields(dataset)
    kind = readers.detect(Path(path), filename)
    readers.check_header(Path(path), kind, fields)
    rows = readers.estimate_rows(Path(path), kind)
    staged = _stage_copy(Path(path), "." + kind)
    try:
        with transaction.atomic():
            return _open_batch(
                actor,
                dataset,
                source=kind,
                mode=mode,
                filename=Path(filename).name or Path(path).name,
                staged=staged,
                rows=rows,
            )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def _drop_staged(batch: Batch) -> None:
    if batch.staged_path:
        Path(batch.staged_path).unlink(missing_ok=True)


# -- progress -----------------------------------------------------------------------------


def progress_key(batch_id: int) -> str:
    return f"hub:batch:{batch_id}:progress"


def progress_of(batch_id: int) -> dict[str, Any] | None:
    """What the loader last said about a running batch: rows done, total, bad so far."""
    found = cache.get(progress_key(batch_id))
    if not isinstance(found, dict):
        return None
    return {k: found.get(k) for k in ("done", "total", "bad")}


def _run_stamp(batch: Batch) -> float | None:
    return batch.started_at.timestamp() if batch.started_at else None


def _say(batch: Batch, done: int, total: int | None, bad: int) -> None:
    """Progress of the run that started at ``batch.started_at``, and when it was said."""
    said = {"done": done, "total": total, "bad": bad, "at": time.time(), "run": _run_stamp(batch)}
    batch_id = batch.pk
    cache.set(progress_key(batch_id), said, PROGRESS_TTL)


def load_timeout() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "CIVITAS_HUB_LOAD_TIMEOUT_MINUTES", 360)))


def is_abandoned(batch: Batch, *, now: datetime | None = None) -> bool:
    """A batch left "loading" by a worker that died (killed, out of memory, restarted): it
    started longer ago than CIVITAS_HUB_LOAD_TIMEOUT_MINUTES and its progress has not moved
    for SILENT_MINUTES. Such a batch may be run again or discarded; a live load keeps saying
    how far it has got, so it is never taken over."""
    if batch.status != BatchStatus.LOADING:
        return False
    moment = now or clock.now()
    if batch.started_at is not None and batch.started_at > moment - load_timeout():
        return False
    said = cache.get(progress_key(batch.pk))
    said = said if isinstance(said, dict) else {}
    at = said.get("at")
    if said.get("run") != _run_stamp(batch):
        return True  # said about an earlier run, not this one
    return not (isinstance(at, int | float) and time.time() - at < SILENT_MINUTES * 60)


# -- running ------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, outcome: _Outcome) -> None:
        super().__init__("bad rows")
        self.outcome = outcome


class _Outcome:
    def __init__(self) -> None:
        self.rows = 0
        self.loaded = 0
        self.bad: list[Bad] = []
        self.bad_count = 0
        self.by_problem: Counter[tuple[str, str]] = Counter()
        self.samples: dict[tuple[str, str], str] = {}
        self.first: list[dict[str, Any]] = []
        self.fixed = 0
        self.fixed_bad: set[int] = set()  # corrected rows that are still bad in this run
        self.dropped: list[int] = []
        self.stats: Counter[str] = Counter()

    def add_bad(self, bad: Bad) -> None:
        self.bad_count += 1
        if len(self.bad) < QUARANTINE_MAX:
            self.bad.append(bad)
        for p in bad.errors:
            key = (p["field"], p["code"])
            self.by_problem[key] += 1
            self.samples.setdefault(key, p["message"])
            if len(self.first) < REPORT_PROBLEMS:
                self.first.append({"row": bad.row_number, **p})

    def report(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rows": self.rows,
            "loaded": self.loaded,
            "bad_rows": self.bad_count,
            "areas": dict(sorted(self.stats.items())),
        }
        if self.bad_count:
            body["problems"] = [
                {"field": f, "code": c, "count": n, "example": self.samples[(f, c)]}
                for (f, c), n in self.by_problem.most_common()
            ]
            body["first"] = self.first
            body["quarantined"] = len(self.bad)
            body["not_kept"] = self.bad_count - len(self.bad)
        if self.fixed:
            body["fixed_rows"] = self.fixed
        if self.dropped:
            body["dropped_rows"] = self.dropped[:1000]
            body["dropped"] = len(self.dropped)
        return body


def _claim(batch: Batch) -> Batch:
    with transaction.atomic():
        try:
            b = Batch.objects.select_for_update().get(pk=batch.pk)
        except Batch.DoesNotExist:
            raise NotFound(_("No such batch."), code="no_batch") from None
        taken_over = is_abandoned(b)
        if b.status not in RUNNABLE and not taken_over:
            raise Conflict(
                _("Batch %(n)s is %(status)s: only a waiting, rejected or failed batch is run.")
                % {"n": b.number, "status": b.get_status_display()},
                code="batch_busy" if b.status == BatchStatus.LOADING else "batch_done",
                details={"status": b.status},
            )
        if not b.staged_path or not Path(b.staged_path).exists():
            raise Conflict(
                _("The file of batch %(n)s is no longer kept: upload it again.") % {"n": b.number},
                code="file_gone",
            )
        if taken_over:
            audit.record(
                actor="system",
                action="hub.batch_take_over",
                object_type="hub.batch",
                object_id=b.pk,
                after={"batch": b.number, "started_at": str(b.started_at)},
                reason="loading abandoned: no progress within the load timeout",
            )
        b.status = BatchStatus.LOADING
        b.started_at = clock.now()
        b.finished_at = None
        b.message = ""
        b.save(update_fields=["status", "started_at", "finished_at", "message"])
    return b


def run(batch: Batch, *, progress: Progress | None = None, actor: Any = None) -> Batch:
    """Check and load a pending (or rejected, once fixed) batch: applied whole, or rejected
    with every bad row in the quarantine and nothing loaded."""
    b = _claim(batch)
    who = actor if actor is not None else (b.created_by or "system")
    _say(b, 0, b.rows_total or None, 0)
    try:
        with transaction.atomic():
            outcome = _load(b, progress)
            _apply(b, outcome, who)
    except _Rejected as rejected:
        with transaction.atomic():
            _reject(b, rejected.outcome, who)
    except readers.FileProblem as exc:
        with transaction.atomic():
            _reject_file(b, exc, who)
    except BaseException as exc:
        # Anything else (a database error, the command line interrupted): nothing stays
        # loaded, and the batch says why instead of staying "loading" for ever.
        log.exception("loading batch %s of %s failed", b.number, b.dataset_id)
        with transaction.atomic():
            _fail(b, exc, who)
        if not isinstance(exc, Exception):
            raise
    b.refresh_from_db()
    _say(b, b.rows_total, b.rows_total, b.rows_bad)
    return b


def _corrections(b: Batch) -> tuple[dict[int, dict[str, str]], set[int]]:
    fixed: dict[int, dict[str, str]] = {}
    dropped: set[int] = set()
    for number, status, values in QuarantineRow.objects.filter(batch=b).values_list(
        "row_number", "status", "fixed_values"
    ):
        if status == QuarantineStatus.DROPPED:
            dropped.add(number)
        elif status == QuarantineStatus.FIXED and values is not None:
            fixed[number] = {k: "" if v is None else str(v) for k, v in values.items()}
    return fixed, dropped


def _rows(b: Batch, fields: list[Any]) -> Iterator[tuple[int, dict[str, str]]]:
    path = Path(b.staged_path)
    kind = "json" if b.source == BatchSource.API else b.source
    return readers.read(path, kind, fields)


def _load(b: Batch, progress: Progress | None) -> _Outcome:
    """Read, check and insert every row; raise _Rejected (rolling the inserts back) when
    any row is bad."""
    fields = list(b.schema.fields.all())
    conv = Converter(b.dataset, fields)
    fixed, dropped = _corrections(b)
    out = _Outcome()
    total = b.rows_total or None
    insert = _inserter()
    last_said = 0.0

    def chunks() -> Iterator[list[tuple[int, dict[str, str]]]]:
        chunk: list[tuple[int, dict[str, str]]] = []
        for number, values in _rows(b, fields):
            if number in dropped:
                out.dropped.append(number)
                continue
            if number in fixed:
                values = fixed[number]
                out.fixed += 1
            chunk.append((number, values))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    for rows in chunks():
        result = conv.convert(rows, trusted=fixed.__contains__)
        out.rows += len(rows)
        for bad in result.bad:
            out.add_bad(bad)
            if bad.row_number in fixed:
                out.fixed_bad.add(bad.row_number)
        if not out.bad_count and result.good:
            insert(result.good, b.dataset_id, b.pk)
            out.loaded += len(result.good)
        now = time.monotonic()
        if progress is not None:
            progress(out.rows, total)
        if now - last_said > 0.5:
            _say(b, out.rows, total, out.bad_count)
            last_said = now
    out.stats = conv.stats
    if out.bad_count:
        raise _Rejected(out)
    return out


def _apply(b: Batch, out: _Outcome, actor: Any) -> None:
    ds = Dataset.objects.select_for_update(no_key=True).get(pk=b.dataset_id)
    replaced = 0
    if b.mode == BatchMode.REPLACE:
        replaced, _ = Record.objects.filter(dataset=ds).exclude(batch=b).delete()
    now = clock.now()
    ds.record_count = Record.objects.filter(dataset=ds).count()
    ds.last_loaded_at = now
    ds.save(update_fields=["record_count", "last_loaded_at", "updated_at"])
    QuarantineRow.objects.filter(batch=b).delete()  # personal data no longer needed
    b.status = BatchStatus.APPLIED
    b.rows_total, b.rows_loaded, b.rows_bad = out.rows, out.loaded, 0
    b.report = out.report() | ({"replaced": replaced} if b.mode == BatchMode.REPLACE else {})
    b.finished_at = now
    b.message = ""
    staged, b.staged_path = b.staged_path, ""
    b.save()
    audit.record(
        actor=actor,
        action="hub.batch_apply",
        object_type="hub.batch",
        object_id=b.pk,
        after={
            "dataset": ds.code,
            "batch": b.number,
            "mode": b.mode,
            "source": b.source,
            "rows": out.loaded,
            "replaced": replaced,
            "fixed": out.fixed,
            "dropped": len(out.dropped),
        },
    )
    transaction.on_commit(lambda: Path(staged).unlink(missing_ok=True))


def _reject(b: Batch, out: _Outcome, actor: Any) -> None:
    """Replace the quarantine's open rows by this run's bad rows. Dropped rows stay dropped,
    and a steward's correction that was good in this run is kept (the batch was rejected
    because of other rows): only corrected rows that are still bad are replaced."""
    b = Batch.objects.select_for_update().get(pk=b.pk)
    kept = QuarantineRow.objects.filter(batch=b)
    kept.exclude(status__in=(QuarantineStatus.DROPPED, QuarantineStatus.FIXED)).delete()
    still_bad = sorted(out.fixed_bad)
    for at in range(0, len(still_bad), 500):
        kept.filter(status=QuarantineStatus.FIXED, row_number__in=still_bad[at : at + 500]).delete()
    QuarantineRow.objects.bulk_create(
        [
            QuarantineRow(batch=b, row_number=bad.row_number, values=bad.values, errors=bad.errors)
            for bad in out.bad
        ],
        batch_size=2000,
    )
    b.status = BatchStatus.REJECTED
    b.rows_total, b.rows_loaded, b.rows_bad = out.rows, 0, out.bad_count
    b.report = out.report()
    b.finished_at = clock.now()
    b.message = _(
        "%(bad)s of %(rows)s rows have problems: nothing was loaded. Fix or leave out the rows "
        "in the quarantine and run the batch again, or correct the file and upload it again."
    ) % {"bad": out.bad_count, "rows": out.rows}
    b.save()
    audit.record(
        actor=actor,
        action="hub.batch_reject",
        object_type="hub.batch",
        object_id=b.pk,
        after={
            "dataset": b.dataset.code,
            "batch": b.number,
            "rows": out.rows,
            "bad_rows": out.bad_count,
            "problems": {f"{f or '-'}:{c}": n for (f, c), n in out.by_problem.most_common(20)},
        },
    )


def _reject_file(b: Batch, exc: readers.FileProblem, actor: Any) -> None:
    said = redact(exc.message)  # a header may be a row of data, identity numbers and all
    Batch.objects.filter(pk=b.pk).update(
        status=BatchStatus.REJECTED,
        rows_loaded=0,
        report={"file": {"code": exc.code, "message": said}},
        message=said,
        finished_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action="hub.batch_reject",
        object_type="hub.batch",
        object_id=b.pk,
        after={"dataset": b.dataset.code, "batch": b.number, "file": exc.code},
    )


def _fail(b: Batch, exc: BaseException, actor: Any) -> None:
    """The batch FAILED with a message a steward can act on; the technical text (which may
    quote data) goes to the log only (run() logs it with its traceback)."""
    if isinstance(exc, CivitasError):
        message = _(
            "Loading stopped and nothing was loaded: %(problem)s Correct that, then run the "
            "batch again."
        ) % {"problem": redact(exc.message)}
    elif not isinstance(exc, Exception):
        message = _(
            "Loading was interrupted (the server or the worker stopped) and nothing was "
            "loaded. Run the batch again."
        )
    else:
        message = _(
            "Loading failed because of a problem in the hub itself, not in your file, and "
            "nothing was loaded. Run the batch again later; if it fails again, tell the hub's "
            "administrators: the details are in the server log (batch %(n)s of %(dataset)s, "
            "%(time)s)."
        ) % {
            "n": b.number,
            "dataset": b.dataset.code,
            "time": clock.now().strftime("%Y-%m-%d %H:%M:%S"),
        }
    Batch.objects.filter(pk=b.pk).update(
        status=BatchStatus.FAILED, rows_loaded=0, message=message[:2000], finished_at=clock.now()
    )
    audit.record(
        actor=actor,
        action="hub.batch_fail",
        object_type="hub.batch",
        object_id=b.pk,
        after={"dataset": b.dataset.code, "batch": b.number, "error": type(exc).__name__},
    )


# -- inserting ----------------------------------------------------------------------------


def _row_tuple(rec: Converted, dataset_id: int, batch_id: int) -> tuple[Any, ...]:
    return (
        dataset_id,
        batch_id,
        rec.row_number,
        json.dumps(rec.data, ensure_ascii=False, separators=(",", ":")),
        rec.jurisdiction_id,
        rec.jurisdiction_path,
        rec.lat,
        rec.lon,
        rec.person_key,
        rec.credit_code,
        rec.occurred_on,
    )


def _sqlite_tuple(rec: Converted, dataset_id: int, batch_id: int) -> tuple[Any, ...]:
    row = _row_tuple(rec, dataset_id, batch_id)
    day = rec.occurred_on
    return (*row[:-1], day.isoformat() if day is not None else None)


def _inserter() -> Callable[[list[Converted], int, int], None]:
    """COPY on PostgreSQL, executemany on SQLite, bulk_create elsewhere."""
    table = connection.ops.quote_name(Record._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    if connection.vendor == "postgresql":
        sql = f"COPY {table} ({columns}) FROM STDIN"

        def copy(rows: list[Converted], dataset_id: int, batch_id: int) -> None:
            with connection.cursor() as cur:
                raw = getattr(cur, "cursor", cur)
                with raw.copy(sql) as pipe:
                    for rec in rows:
                        pipe.write_row(_row_tuple(rec, dataset_id, batch_id))

        return copy
    if connection.vendor == "sqlite":
        marks = ", ".join(["?"] * len(_COLUMNS))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - our names

        def many(rows: list[Converted], dataset_id: int, batch_id: int) -> None:
            with connection.cursor() as cur:
                raw = getattr(cur, "cursor", cur)  # sqlite3's own: no per-row wrapping
                raw.executemany(sql, [_sqlite_tuple(r, dataset_id, batch_id) for r in rows])

        return many

    def bulk(rows: list[Converted], dataset_id: int, batch_id: int) -> None:
        Record.objects.bulk_create(
            [
                Record(
                    dataset_id=dataset_id,
                    batch_id=batch_id,
                    row_number=r.row_number,
                    data=r.data,
                    jurisdiction_id=r.jurisdiction_id,
                    jurisdiction_path=r.jurisdiction_path,
                    lat=r.lat,
                    lon=r.lon,
                    person_key=r.person_key,
                    credit_code=r.credit_code,
                    occurred_on=r.occurred_on,
                )
                for r in rows
            ],
            batch_size=1000,
        )

    return bulk


# -- pushes -------------------------------------------------------------------------------


def push(
    actor: Any, dataset: Dataset, records: Iterable[dict[str, Any]], *, mode: str = BatchMode.APPEND
) -> Batch:
    """Records pushed through the API: staged, then run at once."""
    require_steward(actor, dataset)
    _mode(mode)
    _fields(dataset)
    limit = int(getattr(settings, "CIVITAS_HUB_PUSH_MAX", 10_000))
    folder = ensure_staging_dir()
    count = 0
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, suffix=".jsonl", delete=False
    ) as fh:
        staged = Path(fh.name)
        try:
            for rec in records:
                count += 1
                if count > limit:
                    raise InvalidInput(
                        _("One push holds at most %(max)s records; send the rest in another.")
                        % {"max": limit},
                        code="too_many",
                    )
                if not isinstance(rec, dict):
                    raise InvalidInput(
                        _("Record %(n)s is not an object with field names.") % {"n": count},
                        code="not_object",
                    )
                fh.write(json.dumps(rec, ensure_ascii=False, default=str))
                fh.write("\n")
        except BaseException:
            fh.close()
            staged.unlink(missing_ok=True)
            raise
    if count == 0:
        staged.unlink(missing_ok=True)
        raise InvalidInput(_("The push holds no records."), code="empty_push")
    try:
        with transaction.atomic():
            batch = _open_batch(
                actor,
                dataset,
                source=BatchSource.API,
                mode=mode,
                filename="",
                staged=staged,
                rows=count,
            )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return run(batch, actor=actor)


# -- the quarantine and discarding --------------------------------------------------------


def _editable_row(actor: Any, row_id: int) -> QuarantineRow:
    try:
        row = (
            QuarantineRow.objects.select_for_update()
            .select_related("batch__dataset")
            .get(pk=row_id)
        )
    except QuarantineRow.DoesNotExist:
        raise NotFound(_("No such quarantined row."), code="no_row") from None
    require_steward(actor, row.batch.dataset)
    if row.batch.status != BatchStatus.REJECTED:
        raise Conflict(
            _("Batch %(n)s is %(status)s: only a rejected batch's rows are corrected.")
            % {"n": row.batch.number, "status": row.batch.get_status_display()},
            code="batch_not_rejected",
        )
    return row


def fix_row(actor: Any, row_id: int, values: dict[str, Any]) -> QuarantineRow:
    """Save a steward's corrections over a quarantined row and check the row again at once:
    FIXED when it is good now, still OPEN with the new problems otherwise. Identity numbers
    become their keys before anything is stored; an invalid one is not kept."""
    row = _editable_row(actor, row_id)
    batch = row.batch
    fields = list(batch.schema.fields.all())
    names = {f.name for f in fields}
    merged = {k: v for k, v in (row.fixed_values or row.values).items() if k in names}
    for k, v in values.items():
        if k in names:
            merged[k] = "" if v is None else str(v).strip()
    conv = Converter(batch.dataset, fields)
    result = conv.convert([(row.row_number, merged)], trusted=lambda _n: True)
    stored = conv.sanitise(merged, trusted=True)
    row.fixed_values = stored
    if result.bad:
        row.errors = result.bad[0].errors
        row.status = QuarantineStatus.OPEN
    else:
        row.errors = []
        row.status = QuarantineStatus.FIXED
    row.updated_by = audit.actor_label(actor)[:120]
    row.save()
    audit.record(
        actor=actor,
        action="hub.quarantine_fix",
        object_type="hub.batch",
        object_id=batch.pk,
        after={"row": row.row_number, "status": row.status, "fields": sorted(values)},
    )
    return row


def drop_row(actor: Any, row_id: int) -> QuarantineRow:
    """Leave a quarantined row out of the batch when it runs again."""
    row = _editable_row(actor, row_id)
    row.status = QuarantineStatus.DROPPED
    row.updated_by = audit.actor_label(actor)[:120]
    row.save(update_fields=["status", "updated_by", "updated_at"])
    audit.record(
        actor=actor,
        action="hub.quarantine_drop",
        object_type="hub.batch",
        object_id=row.batch_id,
        after={"row": row.row_number},
    )
    return row


def restore_row(actor: Any, row_id: int) -> QuarantineRow:
    """Take a dropped row back into the batch (with its corrections, if any)."""
    row = _editable_row(actor, row_id)
    row.status = (
        QuarantineStatus.FIXED if row.fixed_values and not row.errors else (QuarantineStatus.OPEN)
    )
    row.updated_by = audit.actor_label(actor)[:120]
    row.save(update_fields=["status", "updated_by", "updated_at"])
    audit.record(
        actor=actor,
        action="hub.quarantine_restore",
        object_type="hub.batch",
        object_id=row.batch_id,
        after={"row": row.row_number},
    )
    return row


def discard(batch: Batch, *, actor: Any = "system") -> Batch:
    """Give up a batch that was not applied: its file and its quarantined rows are deleted."""
    b = Batch.objects.select_for_update().select_related("dataset").get(pk=batch.pk)
    require_steward(actor, b.dataset)
    if b.status not in DISCARDABLE and not is_abandoned(b):
        raise Conflict(
            _("Batch %(n)s is %(status)s: only a waiting, rejected or failed batch is discarded.")
            % {"n": b.number, "status": b.get_status_display()},
            code="batch_done" if b.status != BatchStatus.LOADING else "batch_busy",
        )
    QuarantineRow.objects.filter(batch=b).delete()
    b.status = BatchStatus.DISCARDED
    b.finished_at = clock.now()
    staged, b.staged_path = b.staged_path, ""
    b.save(update_fields=["status", "finished_at", "staged_path"])
    audit.record(
        actor=actor,
        action="hub.batch_discard",
        object_type="hub.batch",
        object_id=b.pk,
        after={"dataset": b.dataset.code, "batch": b.number},
    )
    # Deleted at once, not on commit: the file holds identity numbers in clear, and should
    # the transaction roll back, a batch without its file only asks for the upload again.
    if staged:
        Path(staged).unlink(missing_ok=True)
    return b


def enqueue(batch: Batch) -> None:
    """Load a large batch in the background (``civitas worker``); queued with the commit."""
    from civitas.hub import tasks

    pk = batch.pk
    transaction.on_commit(lambda: tasks.load_batch.enqueue(pk))


def inline_limit() -> int:
    return int(getattr(settings, "CIVITAS_HUB_INLINE_ROWS", 20_000))


def runs_inline(batch: Batch) -> bool:
    """Whether a batch is small enough to load while the page waits. A file whose rows could
    not be estimated (or were estimated as none) is queued unless it is tiny: a guess of
    nought must not let a large file tie up a web worker."""
    if batch.rows_total:
        return batch.rows_total <= inline_limit()
    try:
        size = Path(batch.staged_path).stat().st_size if batch.staged_path else 0
    except OSError:
        size = 0
    return size <= QUEUE_UNKNOWN_BYTES


# -- sweeping -----------------------------------------------------------------------------


def sweep_staged(*, now: datetime | None = None) -> int:
    """Discard batches rejected or failed more than CIVITAS_HUB_STAGED_DAYS ago: their staged
    files (identity numbers in clear) and quarantined rows are deleted, each audited."""
    days = int(getattr(settings, "CIVITAS_HUB_STAGED_DAYS", 30))
    before = (now or clock.now()) - timedelta(days=days)
    stale = Batch.objects.filter(
        status__in=(BatchStatus.REJECTED, BatchStatus.FAILED), finished_at__lt=before
    ).values_list("pk", flat=True)
    done = 0
    for pk in list(stale):
        staged = ""
        with transaction.atomic():
            b = Batch.objects.select_for_update().select_related("dataset").get(pk=pk)
            if b.status not in (BatchStatus.REJECTED, BatchStatus.FAILED):
                continue  # run again meanwhile
            QuarantineRow.objects.filter(batch=b).delete()
            staged, b.staged_path = b.staged_path, ""
            b.status = BatchStatus.DISCARDED
            b.save(update_fields=["status", "staged_path"])
            audit.record(
                actor="system",
                action="hub.batch_discard",
                object_type="hub.batch",
                object_id=b.pk,
                after={"dataset": b.dataset.code, "batch": b.number, "swept": True},
                reason=f"rejected or failed more than {days} days ago",
            )
        if staged:
            Path(staged).unlink(missing_ok=True)
        done += 1
    return done
