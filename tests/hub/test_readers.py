"""Reading uploaded files: kinds told by content, encodings, headers, rows as a person sees
them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings
from openpyxl import Workbook

from civitas.hub import readers
from civitas.hub.readers import FileProblem


def fld(name: str, required: bool = False, label_en: str = "", label_zh: str = "") -> Any:
    return SimpleNamespace(name=name, required=required, label_en=label_en, label_zh=label_zh)


FIELDS = [fld("code", True, "Code", "代码"), fld("name", True, "Name", "名称"), fld("note")]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


class TestDetect:
    def test_kinds_by_content(self, tmp_path: Path) -> None:
        assert readers.detect(write(tmp_path, "a.csv", "code,name\n1,x\n")) == "csv"
        assert readers.detect(write(tmp_path, "a.json", ' [{"code": 1}]')) == "json"
        assert readers.detect(write(tmp_path, "a.jsonl", '{"code": 1}\n')) == "json"
        wb = Workbook()
        wb.active.append(["code"])
        wb.save(tmp_path / "a.xlsx")
        assert readers.detect(tmp_path / "a.xlsx") == "xlsx"
        # an unknown extension is read by content
        assert readers.detect(write(tmp_path, "a.dat", "code,name\n")) == "csv"

    def test_name_that_lies_about_the_content(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem) as exc:
            readers.detect(write(tmp_path, "a.xlsx", "code,name\n1,x\n"))
        assert exc.value.code == "wrong_type"
        assert ".xlsx" in exc.value.message and "CSV" in exc.value.message

    def test_binary_and_old_excel_refused(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem, match=r"\.xls") as exc:
            readers.detect(
                write(tmp_path, "a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50)
            )
        assert exc.value.code == "wrong_type"
        with pytest.raises(FileProblem):
            readers.detect(write(tmp_path, "a.pdf", b"%PDF-1.4 \x00\x01"))

    def test_empty_file(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem) as exc:
            readers.detect(write(tmp_path, "a.csv", "\n  \n"))
        assert exc.value.code == "empty_file"

    def test_size_limit(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name\n" + "1,x\n" * 1000)
        with override_settings(CIVITAS_HUB_MAX_FILE_BYTES=1000), pytest.raises(FileProblem) as exc:
            readers.detect(path)
        assert exc.value.code == "too_large"


class TestCsv:
    def test_utf8_with_bom_labels_as_header_and_row_numbers(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "\ufeff代码, Name ,note\n1,甲,\n\n2,乙,hello\n")
        rows = list(readers.read_csv(path, FIELDS))
        assert rows == [
            (2, {"code": "1", "name": "甲", "note": ""}),
            (4, {"code": "2", "name": "乙", "note": "hello"}),
        ]

    def test_gb18030_detected(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name\n1,芙蓉区人民政府\n", encoding="gb18030")
        assert readers.csv_encoding(path) == "gb18030"
        assert list(readers.read_csv(path, FIELDS)) == [
            (2, {"code": "1", "name": "芙蓉区人民政府"})
        ]

    def test_utf8_without_bom(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name\n1,长沙\n")
        assert readers.csv_encoding(path) == "utf-8-sig"
        assert next(iter(readers.read_csv(path, FIELDS)))[1]["name"] == "长沙"

    def test_tab_separated(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.tsv", "code\tname\n1\tx, y\n")
        assert list(readers.read_csv(path, FIELDS)) == [(2, {"code": "1", "name": "x, y"})]

    def test_unknown_columns_named(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name,colour,size\n1,x,red,2\n")
        with pytest.raises(FileProblem) as exc:
            list(readers.read_csv(path, FIELDS))
        assert exc.value.code == "unknown_columns"
        assert "colour, size" in exc.value.message
        assert exc.value.details == {"unknown": ["colour", "size"]}

    def test_missing_required_columns_named(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,note\n1,x\n")
        with pytest.raises(FileProblem) as exc:
            list(readers.read_csv(path, FIELDS))
        assert exc.value.code == "missing_columns"
        assert exc.value.details == {"missing": ["name"]}

    def test_duplicate_columns(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name,名称\n1,x,y\n")
        with pytest.raises(FileProblem) as exc:
            list(readers.read_csv(path, FIELDS))
        assert exc.value.code == "duplicate_columns"

    def test_extra_cells_marked_for_the_row(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.csv", "code,name\n1,x,surplus\n")
        rows = list(readers.read_csv(path, FIELDS))
        assert rows[0][1]["__extra__"] == "1"

    def test_invalid_utf8_later_in_the_file(self, tmp_path: Path) -> None:
        body = b"code,name\n" + b"1,abc\n" * 20000 + b"2,\xff\xfe\n"
        path = write(tmp_path, "a.csv", body)
        assert readers.csv_encoding(path) == "utf-8-sig"
        with pytest.raises(FileProblem) as exc:
            list(readers.read_csv(path, FIELDS))
        assert exc.value.code == "bad_encoding"

    def test_estimate(self, tmp_path: Path) -> None:
        assert readers.estimate_rows(write(tmp_path, "a.csv", "code\n1\n2\n3\n"), "csv") == 3
        assert readers.estimate_rows(write(tmp_path, "b.csv", "code\n1\n2\n3"), "csv") == 3


class TestXlsx:
    def test_first_sheet_header_and_cell_types(self, tmp_path: Path) -> None:
        wb = Workbook()
        ws = wb.active
        ws.append(["Code", "名称", "note"])
        ws.append([12, "甲", datetime(2026, 11, 27)])
        ws.append([None, None, None])
        ws.append([3.0, "乙", True])
        ws.append([2.5, "丙", datetime(2026, 11, 27, 8, 30)])
        wb.create_sheet("other").append(["ignored"])
        wb.save(tmp_path / "a.xlsx")
        rows = list(readers.read_xlsx(tmp_path / "a.xlsx", FIELDS))
        assert rows == [
            (2, {"code": "12", "name": "甲", "note": "2026-11-27"}),
            (4, {"code": "3", "name": "乙", "note": "true"}),
            (5, {"code": "2.5", "name": "丙", "note": "2026-11-27T08:30:00"}),
        ]
        assert readers.estimate_rows(tmp_path / "a.xlsx", "xlsx") == 4

    def test_missing_column(self, tmp_path: Path) -> None:
        wb = Workbook()
        wb.active.append(["code"])
        wb.save(tmp_path / "a.xlsx")
        with pytest.raises(FileProblem, match="name"):
            list(readers.read_xlsx(tmp_path / "a.xlsx", FIELDS))

    def test_damaged_workbook(self, tmp_path: Path) -> None:
        path = write(tmp_path, "a.xlsx", b"PK\x03\x04 not really a zip")
        with pytest.raises(FileProblem) as exc:
            list(readers.read(path, readers.detect(path), FIELDS))
        assert exc.value.code == "bad_xlsx"


class TestJson:
    def test_list_of_objects_streamed(self, tmp_path: Path) -> None:
        records = [{"code": i, "name": f"n{i}", "note": None} for i in range(5000)]
        records[3]["note"] = {"nested": True}
        path = write(tmp_path, "a.json", json.dumps(records, ensure_ascii=False, indent=1))
        rows = list(readers.read_json(path, FIELDS))
        assert len(rows) == 5000
        assert rows[0] == (1, {"code": "0", "name": "n0", "note": ""})
        assert rows[3][1]["note"] == '{"nested": true}'
        assert rows[-1][0] == 5000

    def test_json_lines_and_unknown_keys(self, tmp_path: Path) -> None:
        path = write(
            tmp_path, "a.jsonl", '{"code": 1, "name": "a"}\n\n{"code": 2, "colour": "red"}\n'
        )
        rows = list(readers.read_json(path, FIELDS))
        assert rows == [
            (1, {"code": "1", "name": "a"}),
            (2, {"code": "2", "__unknown__": "colour"}),
        ]

    def test_not_objects(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem, match="Record 2"):
            list(readers.read_json(write(tmp_path, "a.json", '[{"code": 1}, 5]'), FIELDS))

    def test_cut_short(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem) as exc:
            list(readers.read_json(write(tmp_path, "a.json", '[{"code": 1}, {"code": '), FIELDS))
        assert exc.value.code == "bad_json"

    def test_unclosed_list(self, tmp_path: Path) -> None:
        with pytest.raises(FileProblem, match="not closed"):
            list(readers.read_json(write(tmp_path, "a.json", '[{"code": 1}'), FIELDS))
