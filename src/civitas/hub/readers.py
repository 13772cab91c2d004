"""Reading uploaded files row by row: CSV, XLSX and JSON (a list of objects or JSON Lines).

Every reader yields ``(row_number, {column: text})`` without holding the file in memory, so a
million-row file loads in constant memory. Row numbers are the ones a person finds in the file:
in CSV and XLSX the header is row 1 and the first record row 2; in JSON the first object is 1.

The kind of file is told by its content, not only by its name: a workbook is a ZIP archive,
JSON starts with ``[`` or ``{``, anything else must be text. A CSV file is UTF-8 (with or
without a byte-order mark) or, when its first bytes are not UTF-8, GB18030 (what Excel saves
in Chinese Windows). Problems with the file as a whole (kind, size, encoding, header) raise
:class:`FileProblem`; problems of single rows are the converter's business.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from civitas.hub.convert import redact
from civitas.kit.errors import InvalidInput

SNIFF_BYTES = 64 * 1024
JSON_RECORD_MAX = 8 * 1024 * 1024  # characters one JSON record may take
# A workbook is XML compressed: it may unpack to many times its size, but a "zip bomb" (a
# shared-strings part of gigabytes squeezed into kilobytes) must be refused before openpyxl
# unpacks it. Shared strings are read into memory whole; sheets are streamed.
XLSX_RATIO = 100  # all parts together, times the file's size
XLSX_STRINGS_RATIO = 20  # the shared strings alone, times the file's size
XLSX_SLACK = 16 * 1024 * 1024  # small workbooks unpack to a few MB whatever their ratio
DEFAULT_MAX_BYTES = 2 * 1024**3  # 2 GiB: a million wide rows fit many times over
KINDS = ("csv", "xlsx", "json")

Row = tuple[int, dict[str, str]]


class FileProblem(InvalidInput):
    """The file as a whole cannot be read: nothing in it is loaded."""

    code = "bad_file"


def max_bytes() -> int:
    return int(getattr(settings, "CIVITAS_HUB_MAX_FILE_BYTES", DEFAULT_MAX_BYTES))


def _head(path: Path, n: int = SNIFF_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def detect(path: Path, filename: str = "") -> str:
    """The kind of ``path`` ("csv", "xlsx" or "json") from its content; an extension that
    says otherwise, an empty, binary or too large file is a :class:`FileProblem`."""
    size = path.stat().st_size
    limit = max_bytes()
    if size > limit:
        raise FileProblem(
            _("The file is %(size)s MB; the hub takes files of at most %(limit)s MB.")
            % {"size": f"{size / 1024**2:,.0f}", "limit": f"{limit / 1024**2:,.0f}"},
            code="too_large",
        )
    head = _head(path)
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileProblem(_("The file is empty."), code="empty_file")
    ext = Path(filename or path.name).suffix.lower().lstrip(".")
    if head.startswith(b"PK\x03\x04"):
        kind = "xlsx"
    elif b"\x00" in head[:4096] or head.startswith((b"%PDF", b"\xd0\xcf\x11\xe0")):
        # NUL bytes: a binary file (an old .xls workbook starts with D0 CF 11 E0).
        raise FileProblem(
            _(
                "This is not a CSV, Excel (.xlsx) or JSON file. Old Excel workbooks (.xls) must "
                "be saved as .xlsx or CSV first."
            ),
            code="wrong_type",
        )
    elif head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"[", b"{"):
        kind = "json"
    else:
        kind = "csv"
    named = {"csv": "csv", "txt": "csv", "tsv": "csv", "xlsx": "xlsx", "json": "json"}
    named.update({"jsonl": "json", "ndjson": "json"})
    if ext in named and named[ext] != kind:
        raise FileProblem(
            _(
                "The file is named .%(ext)s but its content is %(kind)s. Save it in the kind "
                "its name says, or rename it."
            )
            % {"ext": ext, "kind": _kind_label(kind)},
            code="wrong_type",
        )
    return kind


def _kind_label(kind: str) -> str:
    return {"csv": _("CSV text"), "xlsx": _("an Excel workbook"), "json": _("JSON")}[kind]


@dataclass
class Columns:
    """The file's columns matched to the schema's fields (by name or by either label)."""

    names: list[str]  # field name per column, "" for a column that is not a field
    unknown: list[str] = field(default_factory=list)


def match_header(header: Sequence[Any], fields: Sequence[Any]) -> list[str]:
    """Map each header cell to a field name (the name, or its English or Chinese label, in
    any case and spacing); unknown columns and missing required ones are a FileProblem."""
    lookup: dict[str, str] = {}
    for f in fields:
        for alias in (f.name, f.label_en, f.label_zh):
            if alias:
                lookup.setdefault(_norm(alias), f.name)
    names: list[str] = []
    unknown: list[str] = []
    for cell in header:
        text = "" if cell is None else str(cell).strip()
        if not text:
            names.append("")
            continue
        name = lookup.get(_norm(text), "")
        if not name:
            unknown.append(redact(text))  # a file without a header: its first row of data
        names.append(name)
    if not any(names) and not unknown:
        raise FileProblem(_("The first row must name the columns; it is empty."), code="no_header")
    if unknown:
        raise FileProblem(
            _(
                "The file has columns the dataset does not know: %(columns)s. The dataset's "
                "fields are: %(fields)s. Rename or remove those columns."
            )
            % {
                "columns": ", ".join(unknown),
                "fields": ", ".join(f.name for f in fields),
            },
            code="unknown_columns",
            details={"unknown": unknown},
        )
    seen = [n for n in names if n]
    doubled = sorted({n for n in seen if seen.count(n) > 1})
    if doubled:
        raise FileProblem(
            _("These fields have more than one column: %(fields)s. Keep one of each.")
            % {"fields": ", ".join(doubled)},
            code="duplicate_columns",
            details={"duplicate": doubled},
        )
    missing = [f.name for f in fields if f.required and f.name not in seen]
    if missing:
        raise FileProblem(
            _("Required columns are missing: %(columns)s. Add them with a value in every row.")
            % {"columns": ", ".join(missing)},
            code="missing_columns",
            details={"missing": missing},
        )
    return names


def _norm(text: str) -> str:
    return "".join(str(text).split()).lower().replace("-", "_")


# -- CSV -------------------------------------------------------------------------------------


def csv_encoding(path: Path) -> str:
    """utf-8-sig for UTF-8 (with or without BOM); gb18030 when the first bytes are not UTF-8."""
    head = _head(path)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        except UnicodeDecodeError:
            raise FileProblem(
                _("The file is neither UTF-8 nor GB18030 text. Save it as CSV UTF-8."),
                code="bad_encoding",
            ) from None
        return "gb18030"
    return "utf-8-sig"


def _dialect(first_line: str) -> str:
    """Comma, unless the header line is clearly separated by tabs or semicolons."""
    for sep in ("\t", ";"):
        if sep in first_line and "," not in first_line:
            return sep
    return ","


def read_csv(path: Path, fields: Sequence[Any]) -> Iterator[Row]:
    encoding = csv_encoding(path)
    with path.open("r", encoding=encoding, newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, delimiter=_dialect(first))
        try:
            try:
                header = next(reader)
            except StopIteration:
                raise FileProblem(_("The file is empty."), code="empty_file") from None
            names = match_header(header, fields)
            width = len(names)
            for number, cells in enumerate(reader, start=2):
                if not cells or not any(c.strip() for c in cells):
                    continue  # blank lines (often at the end of a file) are no records
                row = {n: cells[i] for i, n in enumerate(names) if n and i < len(cells)}
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    row["__extra__"] = str(len(cells) - width)
                yield number, row
        except UnicodeDecodeError as exc:
            raise FileProblem(
                _(
                    "The file stops being %(encoding)s text near byte %(at)s. Save it again "
                    "as CSV UTF-8."
                )
                % {"encoding": encoding.replace("-sig", "").upper(), "at": exc.start},
                code="bad_encoding",
            ) from None
        except csv.Error as exc:
            raise FileProblem(
                _("The CSV file cannot be read at line %(line)s: %(problem)s")
                % {"line": reader.line_num, "problem": str(exc)},
                code="bad_csv",
            ) from None


# -- XLSX ------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell or JSON value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def check_xlsx_size(path: Path) -> None:
    """Refuse a workbook whose parts declare they unpack to far more than a workbook of its
    size plausibly holds (a decompression bomb), before anything is unpacked."""
    size = path.stat().st_size
    cap = 4 * max_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileProblem(
            _("The workbook cannot be opened: it is damaged or not an .xlsx file."),
            code="bad_xlsx",
        ) from None
    total = sum(i.file_size for i in infos)
    strings = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if total > min(XLSX_RATIO * size + XLSX_SLACK, cap) or strings > min(
        XLSX_STRINGS_RATIO * size + XLSX_SLACK, max_bytes() // 4
    ):
        raise FileProblem(
            _(
                "The workbook says it unpacks to %(unpacked)s MB, far more than a workbook of "
                "%(size)s MB holds: it is refused as possibly harmful. Save the sheet as CSV "
                "UTF-8 and upload that instead."
            )
            % {
                "unpacked": f"{max(total, strings) / 1024**2:,.0f}",
                "size": f"{size / 1024**2:,.1f}",
            },
            code="xlsx_too_large",
        )


def read_xlsx(path: Path, fields: Sequence[Any]) -> Iterator[Row]:
    from openpyxl import load_workbook

    check_xlsx_size(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise FileProblem(
            _("The workbook cannot be opened: it is damaged or not an .xlsx file."),
            code="bad_xlsx",
        ) from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise FileProblem(_("The first sheet is empty."), code="empty_file")
        names = match_header(header, fields)
        for number, cells in enumerate(rows, start=2):
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            yield (
                number,
                {n: cell_text(cells[i]) for i, n in enumerate(names) if n and i < len(cells)},
            )
    finally:
        wb.close()


def count_xlsx(path: Path) -> int | None:
    from openpyxl import load_workbook

    check_xlsx_size(path)
    try:
        wb = load_workbook(path, read_only=True)
        try:
            rows = wb.worksheets[0].max_row
        finally:
            wb.close()
    except Exception:
        return None
    return max(int(rows) - 1, 0) if rows else None


# -- JSON ------------------------------------------------------------------------------------


def _json_values(path: Path) -> Iterator[tuple[int, Any]]:
    """The objects of a JSON list, or of JSON Lines, one at a time with their 1-based index."""
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8-sig") as fh:
        buf = fh.read(SNIFF_BYTES)
        buf = buf.lstrip()
        listed = buf.startswith("[")
        if listed:
            buf = buf[1:]
        index = 0
        eof = False
        while True:
            buf = buf.lstrip(" \t\r\n")
            if listed and buf.startswith(","):
                if index == 0:
                    raise FileProblem(_("The JSON list starts with a comma."), code="bad_json")
                buf = buf[1:].lstrip(" \t\r\n")
            if listed and buf.startswith("]"):
                if buf[1:].strip() or fh.read(1).strip():
                    raise FileProblem(
                        _("There is more after the end of the JSON list."), code="bad_json"
                    )
                return
            if not buf:
                if eof:
                    if listed:
                        raise FileProblem(
                            _("The JSON list is not closed: the file is cut short."),
                            code="bad_json",
                        )
                    return
                more = fh.read(SNIFF_BYTES)
                eof = not more
                buf += more
                continue
            try:
                value, end = decoder.raw_decode(buf)
            except json.JSONDecodeError as exc:
                if not eof and not _malformed(exc, buf):
                    if len(buf) > JSON_RECORD_MAX:
                        raise FileProblem(
                            _(
                                "Record %(n)s of the JSON text is longer than %(max)s MB or "
                                "never ends: it cannot be read."
                            )
                            % {"n": index + 1, "max": JSON_RECORD_MAX // 1024**2},
                            code="bad_json",
                        ) from None
                    more = fh.read(max(SNIFF_BYTES, len(buf)))
                    eof = not more
                    buf += more
                    continue
                raise FileProblem(
                    _("The JSON text cannot be read at record %(n)s: %(problem)s")
                    % {"n": index + 1, "problem": exc.msg},
                    code="bad_json",
                ) from None
            # An object that ends exactly at the buffer's end may be a prefix of a longer
            # number or literal; objects and lists cannot be, which is all a record can be.
            index += 1
            yield index, value
            buf = buf[end:]


def _malformed(exc: json.JSONDecodeError, buf: str) -> bool:
    """Whether the text is wrong where the decoder stopped, rather than cut short by the
    buffer's end (then more of the file is read): an error well before the end, other than
    an unfinished string, stays an error however much more is read."""
    return not exc.msg.startswith("Unterminated string") and exc.pos < len(buf) - 64


def read_json(path: Path, fields: Sequence[Any]) -> Iterator[Row]:
    known = {f.name for f in fields}
    for number, value in _json_values(path):
        if not isinstance(value, dict):
            raise FileProblem(
                _("Record %(n)s is not an object with field names: every record must be one.")
                % {"n": number},
                code="bad_json",
            )
        row = {str(k): cell_text(v) for k, v in value.items()}
        unknown = [k for k in row if k not in known]
        if unknown:
            row["__unknown__"] = ", ".join(unknown)
            for k in unknown:
                row.pop(k)
        yield number, row


# -- dispatch --------------------------------------------------------------------------------


def read(path: Path, kind: str, fields: Sequence[Any]) -> Iterator[Row]:
    """Rows of ``path`` read as ``kind``."""
    if kind == "csv":
        return read_csv(path, fields)
    if kind == "xlsx":
        return read_xlsx(path, fields)
    if kind == "json":
        return read_json(path, fields)
    raise FileProblem(_("Unknown kind of file %(kind)s.") % {"kind": kind}, code="wrong_type")


def check_header(path: Path, kind: str, fields: Sequence[Any]) -> None:
    """Read as far as the first record, so that a wrong header is told before loading."""
    rows = read(path, kind, fields)
    try:
        next(rows, None)
    finally:
        close = getattr(rows, "close", None)
        if close:
            close()


def estimate_rows(path: Path, kind: str) -> int | None:
    """Roughly how many records: lines of text, or the sheet's size (None when unknown)."""
    if kind == "xlsx":
        return count_xlsx(path)
    lines = returns = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            lines += chunk.count(b"\n")
            returns += chunk.count(b"\r")
    end = b"\n"
    if not lines and returns:  # lines ended by CR alone (old Mac spreadsheets)
        lines, end = returns, b"\r"
    if kind == "csv":
        size_last = path.stat().st_size
        ends_with_newline = size_last and _tail(path) == end
        return max(lines - (1 if ends_with_newline else 0), 0)
    if lines <= 1:  # one JSON list on a single line: guess from the size
        return max(path.stat().st_size // 150, 1)
    return lines


def _tail(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-1, io.SEEK_END)
        return fh.read(1)
