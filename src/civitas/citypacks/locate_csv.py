"""Add the jurisdictions of each row's point to a CSV file (``civitas city locate``).

For every level installed (the main levels from the root down, then the overlays) the output
gains ``<level>_code`` and ``<level>_name`` (the English name, or the Chinese one where there is
no English name). Cells stay empty when the point lies in no boundary of that level, or when
the row's latitude or longitude is blank or unusable. The file is streamed in chunks through
the vectorised boundary index, so memory stays flat whatever its size; gzip is read when the
input starts with the gzip magic bytes and written when the output name ends in ``.gz``.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

from civitas.geo.locate import BoundaryIndex, Place
from civitas.geo.locate import index as default_index
from civitas.geo.models import Level
from civitas.kit.errors import InvalidInput

CHUNK_ROWS = 50_000
GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


@contextmanager
def _reader(path: Path) -> Iterator[IO[str]]:
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        yield text


@contextmanager
def _writer(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Any = partial(gzip.open, compresslevel=6) if path.name.endswith(".gz") else open
    with opener(path, "wb") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        yield text


def _coordinate(text: str, limit: float) -> float | None:
    """A finite number within ±limit, or None (blank or unusable)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


def output_levels() -> list[str]:
    """The installed level codes: main levels by rank, then overlays by rank."""
    return list(Level.objects.order_by("overlay", "rank", "code").values_list("code", flat=True))


class _Columns:
    """For a place of the index, the values of the added columns (cached per chunk)."""

    def __init__(self, idx: BoundaryIndex, levels: list[str]) -> None:
        self.idx = idx
        self.position = {level: i for i, level in enumerate(levels)}
        self.width = 2 * len(levels)
        self._chain: dict[int, list[tuple[int, str, str]]] = {}

    def reset(self) -> None:
        self._chain.clear()

    @staticmethod
    def _name(place: Place) -> str:
        return place.name_en or place.name_zh

    def _cells(self, place: Place) -> tuple[int, str, str] | None:
        pos = self.position.get(place.level)
        return None if pos is None else (pos, place.code, self._name(place))

    def chain(self, i: int) -> list[tuple[int, str, str]]:
        """The deepest place i and its ancestors as (column position, code, name)."""
        cells = self._chain.get(i)
        if cells is None:
            place = self.idx.place(i)
            places = [self.idx.place_by_code(c) for c in place.path.strip("/").split("/")[:-1]]
            found = [self._cells(p) for p in (*places, place) if p is not None]
            cells = self._chain[i] = [c for c in found if c is not None]
        return cells

    def overlay(self, i: int) -> tuple[int, str, str] | None:
        return self._cells(self.idx.place(i))


def locate_csv(
    src: Path,
    out: Path | None,
    lat_col: str,
    lon_col: str,
    progress: Callable[[str], None] | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    idx: BoundaryIndex | None = None,
) -> dict[str, Any]:
    """Copy ``src`` to ``out`` (stdout when None) with the located jurisdictions added.

    Returns ``rows``, ``located`` (in at least one boundary), ``unlocated`` (usable point,
    in no boundary), ``bad_coordinates`` (blank, non-numeric or out-of-range latitude or
    longitude: those rows get empty cells) and ``seconds``.
    """
    started = time.perf_counter()
    idx = idx or default_index
    src, out = Path(src), (Path(out) if out is not None else None)
    levels = output_levels()
    added = [f"{level}_{what}" for level in levels for what in ("code", "name")]
    columns = _Columns(idx, levels)
    stats: dict[str, Any] = {"rows": 0, "located": 0, "unlocated": 0, "bad_coordinates": 0}

    with _reader(src) as fh_in:
        reader = csv.reader(fh_in)
        header = next(reader, None)
        if header is None:
            raise InvalidInput(f"{src}: the file is empty (no header row)")
        missing = [c for c in (lat_col, lon_col) if c not in header]
        if missing:
            raise InvalidInput(
                f"{src}: no column {', '.join(map(repr, missing))}; the columns are: "
                + ", ".join(header)
            )
        lat_i, lon_i = header.index(lat_col), header.index(lon_col)
        # Columns the file already has (a file located before) are overwritten in place.
        existing = {name: i for i, name in enumerate(header)}
        targets = [existing.get(name, -1) for name in added]
        new_names = [name for name, at in zip(added, targets, strict=True) if at < 0]
        width = len(header)

        with _writer(out) as fh_out:
            writer = csv.writer(fh_out, lineterminator="\n")
            writer.writerow([*header, *new_names])
            while True:
                chunk = [row for _, row in zip(range(chunk_rows), reader, strict=False)]
                if not chunk:
                    break
                columns.reset()
                _locate_chunk(chunk, lat_i, lon_i, width, targets, columns, idx, stats, writer)
                if progress is not None:
                    progress(f"located {stats['rows']:,} rows")
    stats["seconds"] = round(time.perf_counter() - started, 3)
    return stats


def _locate_chunk(
    chunk: list[list[str]],
    lat_i: int,
    lon_i: int,
    width: int,
    targets: list[int],
    columns: _Columns,
    idx: BoundaryIndex,
    stats: dict[str, Any],
    writer: Any,
) -> None:
    n = len(chunk)
    lats = np.zeros(n)
    lons = np.zeros(n)
    usable = np.zeros(n, dtype=bool)
    for k, row in enumerate(chunk):
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        lat = _coordinate(row[lat_i], 90.0)
        lon = _coordinate(row[lon_i], 180.0)
        if lat is not None and lon is not None:
            lats[k], lons[k], usable[k] = lat, lon, True
    where = np.flatnonzero(usable)
    deepest_all = np.full(n, -1, dtype=np.int64)
    overlays_all: dict[int, list[int]] = {}
    if len(where):
        deepest, overlays = idx.match_indices(lats[where], lons[where])
        deepest_all[where] = deepest
        overlays_all = {int(where[p]): g for p, g in overlays.items()}

    blank = [""] * columns.width
    for k, row in enumerate(chunk):
        cells = list(blank)
        hit = False
        if deepest_all[k] >= 0:
            hit = True
            for pos, code, name in columns.chain(int(deepest_all[k])):
                cells[2 * pos], cells[2 * pos + 1] = code, name
        for g in sorted(overlays_all.get(k, ())):
            found = columns.overlay(g)
            if found is not None and not cells[2 * found[0]]:
                hit = True
                pos, code, name = found
                cells[2 * pos], cells[2 * pos + 1] = code, name
        stats["rows"] += 1
        if not usable[k]:
            stats["bad_coordinates"] += 1
        elif hit:
            stats["located"] += 1
        else:
            stats["unlocated"] += 1
        extra = []
        for value, at in zip(cells, targets, strict=True):
            if at >= 0:
                row[at] = value
            else:
                extra.append(value)
        writer.writerow([*row, *extra])
