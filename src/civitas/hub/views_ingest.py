"""Pages for loading data (stewards of the owner unit only): the upload, a batch with its
report and progress, and the quarantine where bad rows are corrected or left out before the
batch runs again.

A small upload (at most ``CIVITAS_HUB_INLINE_ROWS`` rows, estimated from the file) is checked
and loaded while the page waits; a larger one is queued for ``civitas worker`` and the batch
page follows its progress (kept in the cache per batch) by polling with htmx.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.hub import ingest, keys, rights
from civitas.hub.models import (
    Batch,
    BatchMode,
    BatchStatus,
    Dataset,
    KeyRole,
    QuarantineRow,
    QuarantineStatus,
)
from civitas.kit.errors import CivitasError, Forbidden

QUARANTINE_PAGE = 50


def _steward_dataset(request: HttpRequest, code: str) -> Dataset:
    ds = Dataset.objects.select_related("owner_unit", "schema").filter(code=code).first()
    if ds is None:
        raise Http404(_("No such dataset."))
    if not rights.is_steward(request.user, ds):
        raise PermissionDenied(_("Only the data stewards of the owner unit load its datasets."))
    return ds


def _steward_batch(request: HttpRequest, pk: int) -> Batch:
    b = Batch.objects.select_related("dataset__owner_unit", "schema").filter(pk=pk).first()
    if b is None:
        raise Http404(_("No such batch."))
    if not rights.is_steward(request.user, b.dataset):
        raise PermissionDenied(
            _("Only the data stewards of the owner unit see its batches and quarantined rows.")
        )
    return b


def _save_upload(upload: Any) -> Path:
    folder = ingest.ensure_staging_dir()  # NamedTemporaryFile creates the file 0600
    suffix = Path(upload.name or "").suffix[:10]
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".upload" + suffix, delete=False) as fh:
        for part in upload.chunks():
            fh.write(part)
    return Path(fh.name)


@login_required
def upload(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the upload form alone; POST: stage the file, then load it now or queue it."""
    ds = _steward_dataset(request, code)
    if request.method != "POST":
        return render(request, "hub/upload.html", {"ds": ds, "here": "hub-dataset"})
    file = request.FILES.get("file")
    mode = request.POST.get("mode", BatchMode.APPEND)
    if file is None:
        messages.error(request, _("Choose a CSV, Excel (.xlsx) or JSON file to upload."))
        return render(request, "hub/upload.html", {"ds": ds, "here": "hub-dataset"}, status=422)
    temp = _save_upload(file)
    try:
        batch = ingest.stage_file(request.user, ds, temp, filename=file.name or "", mode=mode)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except CivitasError as exc:
        messages.error(
            request,
            _("The file was not taken: %(problem)s") % {"problem": exc.message},
        )
        return render(
            request,
            "hub/upload.html",
            {"ds": ds, "here": "hub-dataset", "mode": mode},
            status=exc.status,
        )
    finally:
        temp.unlink(missing_ok=True)
    if not ingest.runs_inline(batch):
        with transaction.atomic():
            ingest.enqueue(batch)
        if batch.rows_total:
            said = _(
                "About %(rows)s rows: the file is checked and loaded in the background. This "
                "page shows how far it has got."
            ) % {"rows": f"{batch.rows_total:,}"}
        else:
            said = _(
                "The file is checked and loaded in the background. This page shows how far "
                "it has got."
            )
        messages.info(request, said)
        return redirect("hub-batch", batch.pk)
    try:
        batch = ingest.run(batch, actor=request.user)
    except CivitasError as exc:
        messages.error(request, exc.message)
        return redirect("hub-batch", batch.pk)
    _announce(request, batch)
    return redirect("hub-batch", batch.pk)


def _announce(request: HttpRequest, batch: Batch) -> None:
    if batch.status == BatchStatus.APPLIED:
        messages.success(
            request,
            _("Batch %(n)s applied: %(rows)s records loaded.")
            % {"n": batch.number, "rows": f"{batch.rows_loaded:,}"},
        )
    elif batch.status == BatchStatus.REJECTED or batch.status == BatchStatus.FAILED:
        messages.error(request, batch.message)


def _cells(row: QuarantineRow, fields: list[Any]) -> list[dict[str, Any]]:
    values = row.fixed_values if row.fixed_values is not None else row.values
    by_field: dict[str, list[str]] = {}
    for e in row.errors:
        by_field.setdefault(e.get("field", ""), []).append(e.get("message", ""))
    # A valid identity number is kept as its key, and the key is not shown: a steward who
    # could read back the keys of numbers it typed could match them with other units' data.
    return [
        {
            "field": f,
            "value": _unless_key(values.get(f.name, "")),
            "original": _unless_key(row.values.get(f.name, "")),
            "kept": keys.is_person_key(str(values.get(f.name, ""))),
            "changed": row.fixed_values is not None
            and row.fixed_values.get(f.name, "") != row.values.get(f.name, ""),
            "errors": by_field.get(f.name, []),
            "is_person": f.key_role == KeyRole.PERSON_ID,
        }
        for f in fields
    ]


def _unless_key(value: Any) -> Any:
    return "" if keys.is_person_key(str(value)) else value


@login_required
def batch_page(request: HttpRequest, pk: int) -> HttpResponse:
    b = _steward_batch(request, pk)
    fields = list(b.schema.fields.all())
    rows = QuarantineRow.objects.filter(batch=b).order_by("row_number")
    page = Paginator(rows, QUARANTINE_PAGE).get_page(request.GET.get("page"))
    labels = {f.name: f.label for f in fields}
    quarantine = [
        {
            "row": q,
            "cells": _cells(q, fields),
            # every problem in words by the row number too: a wide table scrolls sideways
            "row_errors": [
                f"{labels[e['field']]}: {e['message']}"
                if e.get("field") in labels
                else e["message"]
                for e in q.errors
            ],
        }
        for q in page
    ]
    abandoned = ingest.is_abandoned(b)
    counts = {
        status: rows.filter(status=status).count()
        for status in (QuarantineStatus.OPEN, QuarantineStatus.FIXED, QuarantineStatus.DROPPED)
    }
    return render(
        request,
        "hub/batch.html",
        {
            "here": "hub-dataset",
            "b": b,
            "ds": b.dataset,
            "fields": fields,
            "field_labels": {f.name: f.label for f in fields},
            "quarantine": quarantine,
            "page": page,
            "counts": counts,
            "progress": _progress(b),
            "running": b.status in (BatchStatus.PENDING, BatchStatus.LOADING) and not abandoned,
            "abandoned": abandoned,
            "editable": b.status == BatchStatus.REJECTED,
            "runnable": (b.status in ingest.RUNNABLE or abandoned) and bool(b.staged_path),
            "discardable": b.status in ingest.DISCARDABLE or abandoned,
            "problems": _problems(b, fields),
        },
    )


def _problems(b: Batch, fields: list[Any]) -> list[dict[str, Any]]:
    labels = {f.name: f.label for f in fields}
    return [
        p | {"label": labels.get(p.get("field", ""), p.get("field") or _("the row"))}
        for p in (b.report or {}).get("problems", [])
    ]


def _progress(b: Batch) -> dict[str, Any]:
    said = ingest.progress_of(b.pk) or {}
    done = int(said.get("done") or 0)
    total = said.get("total") or b.rows_total or None
    percent = min(100, round(100 * done / total)) if total else None
    return {"done": done, "total": total, "bad": said.get("bad") or 0, "percent": percent}


@login_required
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment polled while a batch waits or loads; once the batch has finished
    it asks htmx to reload the page, which then shows the report."""
    b = _steward_batch(request, pk)
    response = render(
        request,
        "hub/batch_progress.html",
        {
            "b": b,
            "progress": _progress(b),
            "running": b.status in (BatchStatus.PENDING, BatchStatus.LOADING),
        },
    )
    if b.status not in (BatchStatus.PENDING, BatchStatus.LOADING):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def batch_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a waiting, rejected (after corrections) or failed batch again."""
    b = _steward_batch(request, pk)
    try:
        if not ingest.runs_inline(b):
            with transaction.atomic():
                ingest.enqueue(b)
            messages.info(request, _("The batch is queued; this page shows how far it has got."))
        else:
            b = ingest.run(b, actor=request.user)
            _announce(request, b)
    except CivitasError as exc:
        messages.error(request, exc.message)
    return redirect("hub-batch", b.pk)


@login_required
@require_POST
def batch_discard(request: HttpRequest, pk: int) -> HttpResponse:
    b = _steward_batch(request, pk)
    try:
        with transaction.atomic():
            ingest.discard(b, actor=request.user)
        messages.success(
            request,
            _("Batch %(n)s discarded: its file and quarantined rows are deleted.")
            % {"n": b.number},
        )
    except CivitasError as exc:
        messages.error(request, exc.message)
    return redirect("hub-batch", b.pk)


def _quarantine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    row = QuarantineRow.objects.select_related("batch__dataset").filter(pk=pk).first()
    if row is None:
        raise Http404(_("No such quarantined row."))
    _steward_batch(request, row.batch_id)
    try:
        with transaction.atomic():
            if action == "fix":
                names = {f.name for f in row.batch.schema.fields.all()}
                values = {k: request.POST.get(k, "") for k in names if k in request.POST}
                stored = row.fixed_values if row.fixed_values is not None else row.values
                for k in [k for k, v in values.items() if not v.strip()]:
                    if keys.is_person_key(str(stored.get(k, ""))):
                        del values[k]  # left empty: the kept number stays
                fixed = ingest.fix_row(request.user, pk, values)
                if fixed.status == QuarantineStatus.FIXED:
                    messages.success(
                        request,
                        _("Row %(n)s is correct now.") % {"n": fixed.row_number},
                    )
                else:
                    messages.error(
                        request,
                        _("Row %(n)s still has problems: see the cells marked.")
                        % {"n": fixed.row_number},
                    )
            elif action == "drop":
                ingest.drop_row(request.user, pk)
                messages.success(
                    request,
                    _("Row %(n)s is left out when the batch runs again.") % {"n": row.row_number},
                )
            else:
                ingest.restore_row(request.user, pk)
                messages.success(
                    request, _("Row %(n)s is taken back into the batch.") % {"n": row.row_number}
                )
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except CivitasError as exc:
        messages.error(request, exc.message)
    target = redirect("hub-batch", row.batch_id)
    page = request.POST.get("page", "")
    if page.isdigit():
        target["Location"] += f"?page={page}"
    target["Location"] += f"#row-{row.row_number}"
    return target


@login_required
@require_POST
def quarantine_fix(request: HttpRequest, pk: int) -> HttpResponse:
    return _quarantine_action(request, pk, "fix")


@login_required
@require_POST
def quarantine_drop(request: HttpRequest, pk: int) -> HttpResponse:
    return _quarantine_action(request, pk, "drop")


@login_required
@require_POST
def quarantine_restore(request: HttpRequest, pk: int) -> HttpResponse:
    return _quarantine_action(request, pk, "restore")
