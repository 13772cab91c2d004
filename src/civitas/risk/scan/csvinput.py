"""Read a 311-style CSV file (gzip or plain) into :class:`~civitas.risk.scan.events.Events`.

The format is Boston's open data export: ``OPEN_DT`` (``%m/%d/%Y %I:%M:%S %p``, local time),
``TYPE``, ``LATITUDE``, ``LONGITUDE``; ``Source`` (the channel) and ``Location`` (the address)
are used when present. Rows at City Hall's placeholder point mean "no location" and are kept
unlocated (x, y NaN) so that the non-spatial detectors still count them.

A file in the wrong format is refused with the file, line and column named; single rows that
cannot be used (no type, no date) are skipped and counted, and the counts are reported.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from civitas.risk.scan.events import Events, Projection

REQUIRED = ("OPEN_DT", "TYPE", "LATITUDE", "LONGITUDE")
DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
# Boston's export puts requests it could not place at City Hall.
PLACEHOLDERS = ((42.3594, -71.0587),)
# Channels through which staff and field crews enter their own work, not residents' reports.
STAFF_WORDS = ("employee", "worker", "staff", "internal", "maximo", "crew", "inspector")


class CsvInputError(ValueError):
    """The file cannot be read as requests; the message names the file, line and column."""


@dataclass
class ReadSummary:
    rows: int = 0
    kept: int = 0
    unlocated: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def describe(self, path: str) -> str:
        parts = [f"{path}: {self.kept:,} of {self.rows:,} rows read, {self.unlocated:,} unlocated"]
        for reason, n in sorted(self.skipped.items()):
            parts.append(f"{n:,} skipped ({reason})")
        return "; ".join(parts)


def is_staff_channel(source: str) -> bool:
    s = source.lower()
    return any(w in s for w in STAFF_WORDS)


def _open(path: Path) -> TextIO:
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise CsvInputError(f"{path}: cannot open the file ({exc.strerror or exc}).") from None
    raw: Any = gzip.GzipFile(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _parse_open_dt(text: str, cache: dict[str, int]) -> tuple[int, float]:
    """(date ordinal, hours since local midnight); ValueError if it is not the format."""
    s = text.strip()
    # Fast path for the exact layout "MM/DD/YYYY HH:MM:SS AM"; anything else goes to strptime.
    if len(s) == 22 and s[2] == "/" and s[5] == "/" and s[13] == ":" and s[16] == ":":
        dpart = s[:10]
        ordinal = cache.get(dpart)
        if ordinal is None:
            ordinal = date(int(s[6:10]), int(s[0:2]), int(s[3:5])).toordinal()
            cache[dpart] = ordinal
        hh, mm, ss, ampm = int(s[11:13]), int(s[14:16]), int(s[17:19]), s[20:22].upper()
        if not (1 <= hh <= 12 and mm < 60 and ss < 60 and ampm in ("AM", "PM")):
            raise ValueError(s)
        hour = hh % 12 + (12 if ampm == "PM" else 0)
        return ordinal, hour + mm / 60.0 + ss / 3600.0
    dt = datetime.strptime(s, DATE_FORMAT)
    return dt.date().toordinal(), dt.hour + dt.minute / 60.0 + dt.second / 3600.0


def _coordinate(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def read_events(
    path: str | Path,
    *,
    report: TextIO | None = None,
    quiet: bool = False,
    projection: Projection | None = None,
) -> Events:
    """Read the file; print a one-line summary of what was kept and skipped to ``report``
    (standard error by default; nothing when ``quiet``)."""
    path = Path(path)
    summary = ReadSummary()
    cache: dict[str, int] = {}
    ordinals: list[int] = []
    hours: list[float] = []
    lats: list[float] = []
    lons: list[float] = []
    type_codes: list[int] = []
    source_codes: list[int] = []
    address_codes: list[int] = []
    line_numbers: list[int] = []
    types: dict[str, int] = {}
    sources: dict[str, int] = {}
    addresses: dict[str, int] = {}
    with _open(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise CsvInputError(f"{path}: the file is empty (expected a header line).") from None
        except (csv.Error, UnicodeError) as exc:
            raise CsvInputError(f"{path}, line 1: not a CSV file ({exc}).") from None
        header = [h.strip() for h in header]
        col = {name: i for i, name in enumerate(header)}
        missing = [c for c in REQUIRED if c not in col]
        if missing:
            raise CsvInputError(
                f"{path}, line 1: missing column(s) {', '.join(missing)}; the header has "
                f"{', '.join(header[:12]) or 'nothing'}{'…' if len(header) > 12 else ''}. "
                f"Expected a 311 export with {', '.join(REQUIRED)}."
            )
        i_dt, i_type, i_lat, i_lon = (col[c] for c in REQUIRED)
        i_src = col.get("Source")
        i_loc = col.get("Location")
        width = max(i for i in (i_dt, i_type, i_lat, i_lon, i_src, i_loc) if i is not None) + 1
        rows: Iterator[list[str]] = reader
        line = 1
        try:
            for row in rows:
                line = reader.line_num
                if not row:
                    continue
                summary.rows += 1
                if len(row) < width:
                    summary.skip("too few fields")
                    continue
                kind = row[i_type].strip()
                opened = row[i_dt]
                if not kind:
                    summary.skip("no TYPE")
                    continue
                if not opened.strip():
                    summary.skip("no OPEN_DT")
                    continue
                try:
                    ordinal, hour = _parse_open_dt(opened, cache)
                except ValueError:
                    raise CsvInputError(
                        f"{path}, line {line}, column OPEN_DT: cannot read {opened!r} as a "
                        f"date and time like 01/31/2015 09:05:00 PM ({DATE_FORMAT})."
                    ) from None
                lat = _coordinate(row[i_lat])
                lon = _coordinate(row[i_lon])
                if (
                    math.isnan(lat)
                    or math.isnan(lon)
                    or (lat == 0.0 and lon == 0.0)
                    or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0)
                    or any(abs(lat - a) < 5e-5 and abs(lon - b) < 5e-5 for a, b in PLACEHOLDERS)
                ):
                    lat = lon = math.nan
                    summary.unlocated += 1
                ordinals.append(ordinal)
                hours.append(hour)
                lats.append(lat)
                lons.append(lon)
                type_codes.append(types.setdefault(kind, len(types)))
                if i_src is not None:
                    src = row[i_src].strip()
                    source_codes.append(sources.setdefault(src, len(sources)))
                if i_loc is not None:
                    loc = " ".join(row[i_loc].split()).upper()
                    address_codes.append(addresses.setdefault(loc, len(addresses)) if loc else -1)
                line_numbers.append(line)
        except csv.Error as exc:
            raise CsvInputError(f"{path}, line {reader.line_num}: broken CSV ({exc}).") from None
    summary.kept = len(ordinals)
    if not quiet:
        print(summary.describe(str(path)), file=report or sys.stderr)
    return _build(
        ordinals,
        hours,
        lats,
        lons,
        type_codes,
        types,
        source_codes if i_src is not None else None,
        sources,
        address_codes if i_loc is not None else None,
        line_numbers,
        projection,
    )


def _build(
    ordinals: list[int],
    hours: list[float],
    lats: list[float],
    lons: list[float],
    type_codes: list[int],
    types: dict[str, int],
    source_codes: list[int] | None,
    sources: dict[str, int],
    address_codes: list[int] | None,
    line_numbers: list[int],
    projection: Projection | None,
) -> Events:
    n = len(ordinals)
    ords = np.asarray(ordinals, dtype=np.int64)
    first = int(ords.min()) if n else date.today().toordinal()
    day = (ords - first).astype(np.int32)
    t = day.astype(np.float64) * 24.0 + np.asarray(hours, dtype=np.float64)
    lat = np.asarray(lats, dtype=np.float64)
    lon = np.asarray(lons, dtype=np.float64)
    if projection is None:
        ok = ~np.isnan(lat)
        if ok.any():
            projection = Projection(float(np.median(lat[ok])), float(np.median(lon[ok])))
        else:
            projection = Projection(0.0, 0.0)
    x, y = projection.to_xy(lat, lon)
    # Stable sort by time: rows opened at the same second keep the file's order.
    order = np.argsort(t, kind="stable")
    source_names = [s for s, _ in sorted(sources.items(), key=lambda kv: kv[1])]
    staff_code = np.array([is_staff_channel(s) for s in source_names] + [False], dtype=bool)
    extra: dict[str, object] = {}
    if source_codes is not None:
        src = np.asarray(source_codes, dtype=np.int32)[order]
        extra["source"] = src
        extra["source_names"] = source_names
        staff = staff_code[src]
    else:
        staff = np.zeros(n, dtype=bool)
    if address_codes is not None:
        extra["address"] = np.asarray(address_codes, dtype=np.int64)[order]
    return Events(
        day0=date.fromordinal(first),
        t=t[order],
        day=day[order],
        cat=np.asarray(type_codes, dtype=np.int32)[order],
        categories=[k for k, _ in sorted(types.items(), key=lambda kv: kv[1])],
        x=x[order],
        y=y[order],
        projection=projection,
        staff=staff,
        reporter=np.full(n, -1, dtype=np.int64),
        ids=np.asarray(line_numbers, dtype=np.int64)[order],
        extra=extra,
    )
