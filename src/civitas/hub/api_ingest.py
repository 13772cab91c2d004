"""/api/hub/…: pushing records and reading batches.

``POST datasets/{code}/records`` takes ``{"mode": "append"|"replace", "records": [...]}`` and
runs the same path as an uploaded file: the batch is applied whole (201 with its report) or
rejected whole (422 naming every bad row and field; the rows wait in the quarantine). Only the
owner unit's stewards (or its API key with the ``hub:write`` scope) push and read batches;
quarantined values may hold personal data and are shown to them alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field as SchemaField
from ninja import Router, Schema
from ninja import Status as Reply

from civitas.hub import ingest, keys, rights
from civitas.hub.models import Batch, BatchMode, BatchStatus, Dataset, QuarantineRow
from civitas.kit.errors import Forbidden, NotFound

router = Router()


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class PushIn(Schema):
    mode: str = BatchMode.APPEND
    records: list[dict[str, Any]] = SchemaField(..., description="the records: field → value")


class BatchOut(Schema):
    id: int
    dataset: str
    number: int
    source: str
    mode: str
    filename: str
    status: str
    rows_total: int
    rows_loaded: int
    rows_bad: int
    report: dict[str, Any]
    message: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: dict[str, Any] | None = None


class QuarantineOut(Schema):
    id: int
    row: int
    status: str
    values: dict[str, Any]
    fixed_values: dict[str, Any] | None
    errors: list[dict[str, Any]]


class QuarantinePage(Schema):
    batch: int
    count: int
    items: list[QuarantineOut]


def batch_out(b: Batch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "dataset": b.dataset.code,
        "number": b.number,
        "source": b.source,
        "mode": b.mode,
        "filename": b.filename,
        "status": b.status,
        "rows_total": b.rows_total,
        "rows_loaded": b.rows_loaded,
        "rows_bad": b.rows_bad,
        "report": b.report,
        "message": b.message,
        "created_by": b.created_by,
        "created_at": b.created_at,
        "started_at": b.started_at,
        "finished_at": b.finished_at,
        "progress": ingest.progress_of(b.pk) if b.status == BatchStatus.LOADING else None,
    }


def _dataset(code: str) -> Dataset:
    ds = Dataset.objects.select_related("owner_unit").filter(code=code).first()
    if ds is None:
        raise NotFound(f"no dataset {code!r}", code="no_dataset")
    return ds


def _steward(request: HttpRequest, ds: Dataset) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not rights.is_steward(actor, ds):
        raise Forbidden(
            f"only the data stewards of {ds.owner_unit.code} (or its API key with the hub:write "
            "scope) push records and read its batches",
            details={"action": "hub.manage"},
        )
    return actor


def _batch(request: HttpRequest, pk: int) -> Batch:
    b = Batch.objects.select_related("dataset__owner_unit").filter(pk=pk).first()
    if b is None:
        raise NotFound(f"no batch {pk}", code="no_batch")
    _steward(request, b.dataset)
    return b


@router.post("datasets/{code}/records", response={201: BatchOut, **ERRORS})
def push_records(request: HttpRequest, code: str, body: PushIn) -> Reply[dict[str, Any]]:
    """Load records whole or not at all. A rejected push answers 422 with
    ``details.rows``: every bad row (1 = the first record) and its problems by field."""
    ds = _dataset(code)
    actor = _steward(request, ds)
    batch = ingest.push(actor, ds, body.records, mode=body.mode)
    if batch.status == BatchStatus.APPLIED:
        return Reply(201, batch_out(batch))
    rows = [
        {"row": n, "errors": errors}
        for n, errors in QuarantineRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "errors")
    ]
    return Reply(
        422,
        {
            "error": {
                "code": "batch_rejected" if batch.status == BatchStatus.REJECTED else "failed",
                "message": batch.message,
                "details": {"batch": batch_out(batch), "rows": rows},
            }
        },
    )


@router.get("datasets/{code}/batches", response={200: list[BatchOut], **ERRORS})
def list_batches(request: HttpRequest, code: str, limit: int = 50) -> list[dict[str, Any]]:
    """The dataset's batches, newest first."""
    ds = _dataset(code)
    _steward(request, ds)
    limit = max(1, min(limit, 500))
    return [batch_out(b) for b in ds.batches.select_related("dataset").order_by("-number")[:limit]]


@router.get("batches/{pk}", response={200: BatchOut, **ERRORS})
def get_batch(request: HttpRequest, pk: int) -> dict[str, Any]:
    """One batch with its report (and its progress while it loads)."""
    return batch_out(_batch(request, pk))


@router.get("batches/{pk}/quarantine", response={200: QuarantinePage, **ERRORS})
def get_quarantine(
    request: HttpRequest, pk: int, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """The batch's bad rows as read (identity numbers as their keys) with their problems."""
    b = _batch(request, pk)
    qs = QuarantineRow.objects.filter(batch=b).order_by("row_number")
    limit = max(1, min(limit, 1000))
    offset = max(0, offset)
    return {
        "batch": b.pk,
        "count": qs.count(),
        "items": [
            {
                "id": q.pk,
                "row": q.row_number,
                "status": q.status,
                "values": _without_keys(q.values),
                "fixed_values": None if q.fixed_values is None else _without_keys(q.fixed_values),
                "errors": q.errors,
            }
            for q in qs[offset : offset + limit]
        ],
    }


def _without_keys(values: dict[str, Any]) -> dict[str, Any]:
    """A kept identity number's key is not shown to the steward who typed the number (it could
    be matched with the keys other units read)."""
    return {k: ("[kept]" if keys.is_person_key(str(v)) else v) for k, v in values.items()}
