"""Evaluation on files: one module per ``civitas eval`` subcommand, each with ``run(**args)``.

Shared here: reading CSV files (plain or gzip) with errors that name the file, the row and
the column; progress on stderr; Boston's date format and its "no location" point."""

from __future__ import annotations

import csv
import gzip
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO


class InputError(Exception):
    """A file cannot be used: the message names the file and what is wrong."""


def open_text(path: str | Path) -> IO[str]:
    """A text file, gunzipped when it starts with gzip's magic bytes."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    with p.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(p, "rt", encoding="utf-8-sig", newline="")
    return p.open("r", encoding="utf-8-sig", newline="")


def read_rows(path: str | Path, required: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Rows as dicts; a missing required column is an error naming the file and column."""
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            found = ", ".join(header) or "none"
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}; found {found}")
        try:
            yield from reader
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}, line {reader.line_num}: {exc}") from None


# Boston 311: dates like "01/31/2015 02:05:09 PM" (local time); the City Hall point stands
# for "no location".
BOSTON_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
BOSTON_NO_LOCATION = (42.3594, -71.0587)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def boston_date(
    value: str, path: str | Path, row: int, column: str, *, required: bool = False
) -> datetime | None:
    """A Boston date (or ISO 8601); empty is None unless ``required``."""
    value = value.strip()
    if not value:
        if required:
            raise InputError(f"{path}, row {row}: {column} is empty; every record needs one")
        return None
    try:
        return datetime.strptime(value, BOSTON_DATE_FORMAT)
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"{path}, row {row}: {column} {value!r} is not a date like "
                "'01/31/2015 02:05:09 PM' (month/day/year, 12-hour clock) or ISO 8601"
            ) from None
