"""The assessment table as rows, CSV and XLSX (the same columns as the page)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from civitas.assessment.selectors import Table
from civitas.kit.spreadsheet import csv_cell, xlsx_cell


def header() -> list[str]:
    return [
        _("Rank"),
        _("Unit code"),
        _("Unit"),
        _("Dispatched"),
        _("Response rate"),
        _("Resolution rate"),
        _("Satisfaction rate"),
        _("On-time rate"),
        _("Return rate"),
        _("Redo rate"),
        _("Composite score"),
        _("Previous score"),
        _("Change"),
        _("Previous rank"),
        _("Rated"),
        _("Open and overdue"),
    ]


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 2)


def rows(t: Table) -> list[list[Any]]:
    out: list[list[Any]] = []
    for ln in t.lines:
        r = ln.rates
        out.append(
            [
                ln.rank,
                ln.unit.code,
                ln.unit.name,
                ln.counts["dispatched"],
                _pct(r["response"]),
                _pct(r["resolution"]),
                _pct(r["satisfaction"]),
                _pct(r["on_time"]),
                _pct(r["return"]),
                _pct(r["redo"]),
                ln.score,
                ln.previous_score,
                ln.change,
                ln.previous_rank,
                ln.counts["rated"],
                ln.counts["open_overdue"],
            ]
        )
    return out


def filename(t: Table, ext: str) -> str:
    return f"assessment-{t.city}-{t.group}-{t.period.label}.{ext}"


def to_csv(t: Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_cell(v) for v in header()])
    for row in rows(t):
        # Unit and place names come from people: never let one run as a formula.
        w.writerow([csv_cell(v) for v in row])
    # A byte-order mark lets spreadsheet programs read the Chinese names as UTF-8.
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(t: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t.period.label
    ws.append([xlsx_cell(v) for v in header()])
    for row in rows(t):
        ws.append([xlsx_cell(v) for v in row])
    ws.freeze_panes = "A2"
    for col, width in zip("ABCDEFGHIJKLMNOP", (6, 18, 32), strict=False):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
