"""Files for loading tests: inspections as CSV, XLSX or JSON, and a scan for identity numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from civitas.hub.models import Batch, QuarantineRow, Record
from civitas.kit.models import AuditEntry
from tests.hub import helpers

COLUMNS = [f[0] for f in helpers.INSPECTION_FIELDS]


def rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` good inspection rows as a file gives them (points inside district 1 and 2)."""
    out = []
    points = [(0.5, 0.5), (1.5, 0.5), (0.5, 1.5), (1.5, 1.5), (2.5, 0.5), (3.5, 1.5)]
    for i in range(start, start + n):
        lon, lat = points[i % len(points)]
        out.append(
            {
                "credit_code": helpers.credit_code(i % 900 + 1),
                "enterprise": f"Shop {i + 1}",
                "address": f"{i + 1} Elm Road",
                "legal_rep_id": helpers.person_id(i % 900 + 1),
                "phone": f"1380000{i % 10000:04d}",
                "inspected_on": f"2026-10-{i % 28 + 1:02d}",
                "lat": str(lat),
                "lon": str(lon),
                "result": "pass" if i % 3 else "fail",
                "fine": str(500 * (i % 3 == 0)),
            }
        )
    return out


def write_csv(path: Path, records: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(records)
    return path


def write_xlsx(path: Path, records: list[dict[str, Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for r in records:
        ws.append([r.get(c) for c in COLUMNS])
    wb.save(path)
    return path


def write_json(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return path


def clear_numbers_stored(numbers: list[str]) -> list[str]:
    """Where any of ``numbers`` appears in the database: records, quarantine, batch reports
    and messages, the audit chain."""
    found = []
    texts: list[tuple[str, Any]] = []
    texts += [(f"record {r.pk}", r.data) for r in Record.objects.all()]
    for q in QuarantineRow.objects.all():
        texts += [(f"quarantine {q.pk}", (q.values, q.fixed_values, q.errors))]
    texts += [(f"batch {b.pk}", (b.report, b.message)) for b in Batch.objects.all()]
    texts += [(f"audit {a.seq}", (a.summary, a.reason)) for a in AuditEntry.objects.all()]
    for where, value in texts:
        text = json.dumps(value, ensure_ascii=False, default=str)
        found += [f"{where}: {n}" for n in numbers if n in text or n.lower() in text]
    return found
