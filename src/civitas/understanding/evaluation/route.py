"""``civitas eval route --train FILE --test FILE [--boundaries DIR]``: learn who handles what.

Files are Boston 311 CSV (plain or gzip). The learner (``understanding.history``) is trained on
--train and predicts QUEUE, and separately the Department code, for every --test row from what
is known when a request arrives: TYPE (the matter; REASON and SUBJECT stand above it), Source
(the channel), the place (pwd_district, and the precinct or else the ward) and OPEN_DT, which
only sets how much a past case weighs (recent cases count more: queues are reorganised during
the year). CASE_TITLE, CLOSED_DT, CLOSURE_REASON, CASE_STATUS, OnTime_Status and TARGET_DT are
never read: they are written after intake or follow from the routing itself.

The keys, most specific first::

    TYPE × Source × pwd_district × precinct (or ward)
    TYPE × Source × pwd_district
    TYPE × pwd_district
    TYPE × Source
    TYPE
    REASON
    SUBJECT

With --boundaries DIR (wards.geojson, precincts.geojson, neighborhoods.geojson) the precinct and
ward come from the point (LATITUDE/LONGITUDE) through the geo index's vectorised
point-in-polygon instead of the record's own fields; the City Hall point (42.3594, -71.0587)
stands for "no location" and is not placed.

The baseline beside the figures is "the most frequent QUEUE (Department) for each TYPE and
pwd_district" counted on --train, falling back to the TYPE's most frequent, then the overall.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from civitas.geo.locate import BoundaryIndex, Place
from civitas.understanding.evaluation import (
    BOSTON_DATE_FORMAT,
    BOSTON_NO_LOCATION,
    InputError,
    boston_date,
    progress,
    read_rows,
)
from civitas.understanding.history import Example, HistoryLearner

REQUIRED = ("OPEN_DT", "TYPE", "QUEUE", "Department")
DATE_FORMAT = BOSTON_DATE_FORMAT
NO_LOCATION = BOSTON_NO_LOCATION
LEVELS = (
    "type×source×pwd×precinct",
    "type×source×pwd",
    "type×pwd",
    "type×source",
    "type",
    "reason",
    "subject",
)
HALF_LIFE_DAYS = 60.0
ALPHA = 2.0
CONFIDENT = 0.8
LAYERS = (  # file, property holding the code, level, rank, overlay
    ("wards.geojson", "WARD", "ward", 1, False),
    ("precincts.geojson", "WARD_PRECINCT", "precinct", 2, False),
    ("neighborhoods.geojson", "Name", "neighborhood", 1, True),
)


@dataclass(slots=True)
class Row:
    type: str
    source: str
    pwd: str
    area: str  # "P0511" (precinct) or "W05" (ward) or ""
    reason: str
    subject: str
    when: datetime | None
    queue: str
    department: str
    lat: float | None
    lon: float | None

    def keys(self) -> list[tuple[str, ...] | None]:
        t, s, p, a = self.type, self.source, self.pwd, self.area
        return [
            (t, s, p, a) if t and s and p and a else None,
            (t, s, p) if t and s and p else None,
            (t, p) if t and p else None,
            (t, s) if t and s else None,
            (t,) if t else None,
            (self.reason,) if self.reason else None,
            (self.subject,) if self.subject else None,
        ]


def _coordinate(value: str | None, limit: float) -> float | None:
    try:
        x = float(value or "")
    except ValueError:
        return None
    return x if math.isfinite(x) and -limit <= x <= limit else None


def _number_code(value: str) -> int | None:
    """'Ward 5', '05', '5', '5.0' → 5; '503.0' → 503; anything else → None."""
    text = value.strip().removeprefix("Ward").strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


def record_area(precinct: str, ward: str) -> str:
    """The record's own place: precinct 'P0511' (ward 5, precinct 11), else ward 'W05'."""
    p = _number_code(precinct)
    if p is not None and p >= 100:
        return f"P{p // 100:02d}{p % 100:02d}"
    w = _number_code(ward)
    return f"W{w:02d}" if w else ""


def read(path: str) -> list[Row]:
    rows: list[Row] = []
    for i, r in enumerate(read_rows(path, REQUIRED), start=2):
        lat = _coordinate(r.get("LATITUDE"), 90)
        lon = _coordinate(r.get("LONGITUDE"), 180)
        if lat is not None and lon is not None:
            if (round(lat, 4), round(lon, 4)) == NO_LOCATION:
                lat = lon = None
        else:
            lat = lon = None
        rows.append(
            Row(
                type=r["TYPE"].strip(),
                source=(r.get("Source") or "").strip(),
                pwd=(r.get("pwd_district") or "").strip(),
                area=record_area(r.get("precinct") or "", r.get("ward") or ""),
                reason=(r.get("REASON") or "").strip(),
                subject=(r.get("SUBJECT") or "").strip(),
                when=boston_date(r["OPEN_DT"], path, i, "OPEN_DT"),
                queue=r["QUEUE"].strip(),
                department=r["Department"].strip(),
                lat=lat,
                lon=lon,
            )
        )
        if len(rows) % 50_000 == 0:
            progress(f"{path}: {len(rows):,} rows read")
    if not rows:
        raise InputError(f"{path}: no rows after the header")
    return rows


class FileBoundaries(BoundaryIndex):
    """The geo index's vectorised point-in-polygon over boundaries read from GeoJSON files
    rather than from the database (an evaluation on files needs no installed city)."""

    def __init__(self, folder: str | Path) -> None:
        super().__init__()
        root = Path(folder)
        if not root.is_dir():
            raise InputError(f"{root}: no such folder (give the folder holding wards.geojson)")
        places: list[Place] = []
        geoms: list[Any] = []
        for name, prop, level, rank, overlay in LAYERS:
            for code, geom in _features(root / name, prop, level):
                parent = f"/W{code[:2]}" if level == "precinct" else ""
                places.append(
                    Place(
                        len(places), code, code, "", level, rank, overlay, f"/BOS{parent}/{code}/"
                    )
                )
                geoms.append(geom)
        self._places = places
        self._by_code = {p.code: p for p in places}
        self._rank = np.array([p.rank for p in places], dtype=np.int32)
        self._overlay = np.array([p.overlay for p in places], dtype=bool)
        self._tree = shapely.STRtree(geoms)

    def _ensure(self) -> None:  # built once from the files; nothing to refresh
        return

    def areas(self, lats: np.ndarray, lons: np.ndarray) -> list[str]:
        """For each point: its precinct 'P0511', else its ward 'W05', else ''."""
        deepest, _overlays = self.match_indices(lats, lons)
        out = []
        for i in deepest:
            out.append("" if i < 0 else self._places[int(i)].code)
        return out


def _features(path: Path, prop: str, level: str) -> Iterable[tuple[str, Any]]:
    if not path.is_file():
        raise InputError(f"{path}: no such file (the boundaries folder needs {path.name})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a GeoJSON file ({exc})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InputError(f"{path}: no 'features' list; give a GeoJSON FeatureCollection")
    for n, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        value = str(props.get(prop) or "").strip()
        if not value:
            raise InputError(f"{path}, feature {n}: no property {prop!r}")
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as e:
            raise InputError(f"{path}, feature {n}: unreadable geometry ({e})") from None
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        shapely.prepare(geom)
        number = _number_code(value)
        if level == "ward" and number is not None:
            code = f"W{number:02d}"
        elif level == "precinct" and value.isdigit():
            code = f"P{value.zfill(4)}"
        elif level == "neighborhood":
            code = f"N:{value}"
        else:
            raise InputError(f"{path}, feature {n}: {prop} {value!r} is not a {level} number")
        yield code, geom


def locate(rows: Sequence[Row], index: FileBoundaries) -> int:
    """Replace the record's area by the one its point falls in; returns the rows placed."""
    at = [i for i, r in enumerate(rows) if r.lat is not None and r.lon is not None]
    lats = np.array([rows[i].lat for i in at], dtype=float)
    lons = np.array([rows[i].lon for i in at], dtype=float)
    found = index.areas(lats, lons) if at else []
    placed = set()
    for i, area in zip(at, found, strict=True):
        rows[i].area = area
        placed.add(i)
    for i, r in enumerate(rows):
        if i not in placed:
            r.area = ""  # no usable point: the record's own fields are not used either
    return sum(1 for a in found if a)


class Baseline:
    """Most frequent label per (TYPE, pwd_district), else per TYPE, else overall."""

    def __init__(self, rows: Sequence[Row], label: str) -> None:
        by_pair: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        by_type: dict[str, Counter[str]] = defaultdict(Counter)
        overall: Counter[str] = Counter()
        for r in rows:
            y = getattr(r, label)
            by_pair[(r.type, r.pwd)][y] += 1
            by_type[r.type][y] += 1
            overall[y] += 1
        self.by_pair = {k: c.most_common(1)[0][0] for k, c in by_pair.items()}
        self.by_type = {k: c.most_common(1)[0][0] for k, c in by_type.items()}
        self.overall = overall.most_common(1)[0][0]

    def predict(self, r: Row) -> str:
        return self.by_pair.get((r.type, r.pwd)) or self.by_type.get(r.type) or self.overall


def learner(rows: Sequence[Row], label: str) -> HistoryLearner:
    return HistoryLearner(LEVELS, half_life_days=HALF_LIFE_DAYS, alpha=ALPHA).fit(
        Example(r.keys(), getattr(r, label), r.when) for r in rows
    )


def calibration_error(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> float:
    """Expected calibration error: |accuracy − mean confidence| per tenth, weighted by size."""
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for confidence, right in pairs:
        b = sums[min(int(confidence * bins), bins - 1)]
        b[0] += 1
        b[1] += right
        b[2] += confidence
    return sum(abs(b[1] - b[2]) for b in sums.values()) / max(1, len(pairs))


def run(train: str, test: str, boundaries: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    train_rows = read(train)
    progress(f"{train}: {len(train_rows):,} training rows")
    test_rows = read(test)
    progress(f"{test}: {len(test_rows):,} test rows")
    if boundaries:
        index = FileBoundaries(boundaries)
        placed = locate(train_rows, index) + locate(test_rows, index)
        progress(f"{boundaries}: {placed:,} points placed in a precinct or ward")
    queue_model = learner(train_rows, "queue")
    department_model = learner(train_rows, "department")
    queue_base = Baseline(train_rows, "queue")
    department_base = Baseline(train_rows, "department")
    progress(f"learned: {queue_model.summary()}")

    right_q = right_d = base_q = base_d = 0
    pairs: list[tuple[float, bool]] = []
    levels: Counter[str] = Counter()
    for r in test_rows:
        keys = r.keys()
        q = queue_model.predict(keys)
        ok = q.label == r.queue
        right_q += ok
        pairs.append((q.confidence, ok))
        levels[queue_model.level_name(q.level_used)] += 1
        right_d += department_model.predict(keys).label == r.department
        base_q += queue_base.predict(r) == r.queue
        base_d += department_base.predict(r) == r.department
    n = len(test_rows)
    confident = [ok for c, ok in pairs if c >= CONFIDENT]
    result: dict[str, Any] = {
        "n_train": len(train_rows),
        "n_test": n,
        "queue_accuracy": round(right_q / n, 4),
        "department_accuracy": round(right_d / n, 4),
        "baseline": {
            "rule": "most frequent label for each TYPE and pwd_district",
            "queue_accuracy": round(base_q / n, 4),
            "department_accuracy": round(base_d / n, 4),
        },
        "confident": {
            "threshold": CONFIDENT,
            "share_of_test": round(len(confident) / n, 4),
            "queue_accuracy": round(sum(confident) / len(confident), 4) if confident else None,
        },
        "calibration_error": round(calibration_error(pairs), 4),
        "level_used": dict(levels.most_common()),
        "method": (
            f"history back-off over {', '.join(LEVELS)}; half-life {HALF_LIFE_DAYS:g} days, "
            f"alpha {ALPHA:g}" + ("; places from the boundaries" if boundaries else "")
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return result
