"""Build the Boston city pack from the City of Boston's open data (``shared/data/boston``).

Tree: city ``BOS`` -> 22 wards ``BOS-W05`` -> 255 precincts ``BOS-P0511``, with the 26
neighbourhoods ``BOS-N-<slug>`` as an overlay. Units, matters and responsibilities come from
the 2015 service requests: departments (SUBJECT, Department code) with their work queues,
matters SUBJECT -> REASON -> TYPE, and for each TYPE the department that handled it most.

Repairs made to the boundary files (all measured, none hidden):
- self-intersecting rings (wards 5, 16, 17; precincts 0511, 1713; Hyde Park) are made valid;
- precinct 0115 (the harbour islands) lies wholly outside the ward layer's ward 1, so a
  precinct lying mostly outside its ward is added to that ward's boundary;
- neighbourhoods are clipped to the city (the union of the wards): the Harbor Islands
  neighbourhood reaches islands of other towns and several shore neighbourhoods reach water.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from civitas.citypacks.builders import _write as w
from civitas.citypacks.builders.boston_names import (
    CENTRE,
    EXTRA_DEPARTMENTS,
    NEIGHBOURHOODS_ZH,
    NO_QUEUE,
    REASONS_ZH,
    SUBJECTS,
    Dept,
)

CITY = "BOS"
REQUESTS = "requests_2015_jan_oct.csv.gz"
TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
TOLERANCE = {"containment": 0.01, "gap": 0.005, "overlap": 0.005}
MIN_DEADLINE_SAMPLES = 5

LEVELS = [
    {"code": "city", "rank": 0, "name_en": "City", "name_zh": "市"},
    {"code": "ward", "rank": 1, "name_en": "Ward", "name_zh": "选区"},
    {"code": "precinct", "rank": 2, "name_en": "Precinct", "name_zh": "投票区"},
    {
        "code": "neighbourhood",
        "rank": 1,
        "name_en": "Neighbourhood",
        "name_zh": "街区",
        "overlay": True,
    },
]

STOPWORDS = frozenset({
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the",
    "to", "with", "ss", "internal", "request", "requests", "general",
})  # fmt: skip


# -- boundaries --------------------------------------------------------------------------------
def _features(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["features"])


def _share_outside(geom: BaseGeometry, container: BaseGeometry) -> float:
    return float(geom.difference(container).area / geom.area) if geom.area else 0.0


def _max_overlap(geoms: dict[str, BaseGeometry]) -> tuple[float, str]:
    codes, shapes = list(geoms), list(geoms.values())
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    worst, where = 0.0, ""
    for i, j in zip(left, right, strict=True):
        if i < j:
            a, b = shapes[i], shapes[j]
            share = a.intersection(b).area / min(a.area, b.area)
            if share > worst:
                worst, where = share, f"{codes[i]}/{codes[j]}"
    return worst, where


@dataclass
class Boundaries:
    city: BaseGeometry
    wards: dict[int, BaseGeometry]
    precincts: dict[str, BaseGeometry]  # "0511" -> geometry
    neighbourhoods: dict[str, BaseGeometry]
    notes: list[str] = field(default_factory=list)


def read_boundaries(data: Path, progress: w.Progress | None = None) -> Boundaries:
    folder = data / "boundaries"
    notes: list[str] = []
    repaired: list[str] = []

    def clean(label: str, raw: dict[str, Any]) -> BaseGeometry:
        geom = shape(raw)
        if not geom.is_valid:
            repaired.append(label)
        return w.polygonal(geom)

    wards = {
        int(f["properties"]["WARD"]): clean(f"ward {f['properties']['WARD']}", f["geometry"])
        for f in _features(folder / "wards.geojson")
    }
    precincts = {
        str(f["properties"]["WARD_PRECINCT"]).zfill(4): clean(
            f"precinct {f['properties']['WARD_PRECINCT']}", f["geometry"]
        )
        for f in _features(folder / "precincts.geojson")
    }
    neighbourhoods = {
        str(f["properties"]["Name"]).strip(): clean(str(f["properties"]["Name"]), f["geometry"])
        for f in _features(folder / "neighborhoods.geojson")
    }
    if repaired:
        notes.append("made valid (self-intersecting rings): " + ", ".join(repaired))

    for code, geom in sorted(precincts.items()):
        ward = int(code[:2])
        if ward not in wards:
            raise ValueError(f"precinct {code} names ward {ward}, absent from wards.geojson")
        outside = _share_outside(geom, wards[ward])
        if outside > 0.5:
            wards[ward] = w.polygonal(unary_union([wards[ward], geom]))
            notes.append(
                f"precinct {code} lay {outside:.0%} outside ward {ward}; "
                f"added to that ward's boundary"
            )
    city = w.polygonal(unary_union(list(wards.values())))

    clipped: dict[str, BaseGeometry] = {}
    cut: list[str] = []
    for name, geom in neighbourhoods.items():
        outside = _share_outside(geom, city)
        if outside > 1e-9:
            if outside >= 0.0005:
                cut.append(f"{name} {outside:.2%}")
            inside = geom.intersection(city)
            if inside.is_empty:
                notes.append(f"neighbourhood {name} lies wholly outside the city; dropped")
                continue
            geom = w.polygonal(inside)
        clipped[name] = geom
    if cut:
        notes.append(
            "neighbourhoods clipped to the city (share of area cut; others < 0.05%): "
            + ", ".join(cut)
        )
    for note in notes:
        w.say(progress, note)
    return Boundaries(city, wards, precincts, clipped, notes)


def measure(b: Boundaries) -> dict[str, tuple[float, str]]:
    """Worst containment, gap and overlap of the nested levels, as the importer checks them."""
    containment = max(
        (_share_outside(g, b.wards[int(c[:2])]), f"precinct {c}") for c, g in b.precincts.items()
    )
    by_ward: dict[int, list[BaseGeometry]] = defaultdict(list)
    for code, geom in b.precincts.items():
        by_ward[int(code[:2])].append(geom)
    gap = max(
        (_share_outside(g, unary_union(by_ward[ward])), f"ward {ward}")
        for ward, g in b.wards.items()
    )
    gap = max(gap, (_share_outside(b.city, unary_union(list(b.wards.values()))), "city"))
    ward_overlap = _max_overlap({f"W{k:02d}": g for k, g in b.wards.items()})
    precinct_overlap = _max_overlap({f"P{k}": g for k, g in b.precincts.items()})
    return {"containment": containment, "gap": gap, "overlap": max(ward_overlap, precinct_overlap)}


def ward_code(ward: int) -> str:
    return f"{CITY}-W{ward:02d}"


def precinct_code(ward_precinct: str) -> str:
    return f"{CITY}-P{ward_precinct.zfill(4)}"


def neighbourhood_code(name: str) -> str:
    return f"{CITY}-N-{w.slugify(name)}"


def jurisdiction_levels(b: Boundaries) -> dict[str, list[dict[str, Any]]]:
    city = [
        {
            "code": CITY,
            "name_en": "Boston",
            "name_zh": "波士顿市",
            "aliases": ["City of Boston"],
            "geometry": w.geojson(b.city),
        }
    ]
    wards = [
        {
            "code": ward_code(n),
            "parent": CITY,
            "name_en": f"Ward {n}",
            "name_zh": f"第{n}选区",
            "geometry": w.geojson(g),
        }
        for n, g in sorted(b.wards.items())
    ]
    precincts = []
    for wp, g in sorted(b.precincts.items()):
        ward, precinct = int(wp[:2]), wp[2:].lstrip("0") or "0"  # "0502A": ward 5, 2A
        precincts.append(
            {
                "code": precinct_code(wp),
                "parent": ward_code(ward),
                "name_en": f"Ward {ward} Precinct {precinct}",
                "name_zh": f"第{ward}选区第{precinct}投票区",
                "geometry": w.geojson(g),
            }
        )
    neighbourhoods = [
        {
            "code": neighbourhood_code(name),
            "parent": CITY,
            "name_en": name,
            "name_zh": NEIGHBOURHOODS_ZH.get(name, name),
            "geometry": w.geojson(g),
        }
        for name, g in sorted(b.neighbourhoods.items())
    ]
    return {"city": city, "ward": wards, "precinct": precincts, "neighbourhood": neighbourhoods}


# -- requests ----------------------------------------------------------------------------------
@dataclass
class RequestStats:
    rows: int = 0
    subjects: Counter[str] = field(default_factory=Counter)
    paths: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    queues: Counter[tuple[str, str]] = field(default_factory=Counter)  # (Department, QUEUE)
    handled_by: dict[tuple[str, str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )  # path -> Department code
    top_queue: dict[tuple[str, str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    target_hours: dict[tuple[str, str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        return None


def read_requests(path: Path) -> RequestStats:
    stats = RequestStats()
    for row in _rows(path):
        subject, reason, type_ = (
            row["SUBJECT"].strip(),
            row["REASON"].strip(),
            row["TYPE"].strip(),
        )
        if not (subject and reason and type_):
            continue
        stats.rows += 1
        key = (subject, reason, type_)
        stats.subjects[subject] += 1
        stats.paths[key] += 1
        dept, queue = row["Department"].strip(), row["QUEUE"].strip()
        if dept and queue and dept != NO_QUEUE:
            stats.queues[(dept, queue)] += 1
            stats.handled_by[key][dept] += 1
            stats.top_queue[key][queue] += 1
        if row["TARGET_DT"]:
            opened, target = _parse_time(row["OPEN_DT"]), _parse_time(row["TARGET_DT"])
            if opened and target and target > opened:
                stats.target_hours[key].append((target - opened).total_seconds() / 3600)
    return stats


def duration(hours: float) -> str:
    """A typical target as a catalogue duration: hours below two days, else days."""
    if hours < 48:
        return f"{max(1, round(hours))}h"
    return f"{max(2, round(hours / 24))}d"


def matter_code(*path: str) -> str:
    digest = hashlib.sha1("|".join(path).encode(), usedforsecurity=False).hexdigest()
    return f"{CITY}-M-{digest[:8]}"


def keywords(name: str) -> list[str]:
    seen: list[str] = []
    for word in re.findall(r"[a-z0-9][a-z0-9'-]*", name.lower()):
        word = word.strip("'-")
        if len(word) >= 3 and word not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen


def _subject_dept(subject: str) -> Dept:
    return SUBJECTS.get(subject) or Dept(
        f"{CITY}-D-{w.slugify(subject)[:40]}", subject, subject, "other"
    )


def _dept_for_code(short: str) -> Dept:
    by_short = {d.short: d for d in SUBJECTS.values() if d.short}
    if short in by_short:
        return by_short[short]
    if short in EXTRA_DEPARTMENTS:
        return EXTRA_DEPARTMENTS[short]
    slug = w.slugify(short) or hashlib.sha1(short.encode(), usedforsecurity=False).hexdigest()[:6]
    return Dept(f"{CITY}-D-{slug}", short, short, "other", short)


def _queue_units(stats: RequestStats) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for (short, queue), _n in sorted(stats.queues.items()):
        dept = _dept_for_code(short)
        rest = queue[len(short) :] if queue.startswith(short) else queue
        rest = re.sub(r"\s+", " ", rest.replace("_", " - ").replace("\\", "/")).strip(" -")
        rest = rest or queue
        slug = w.slugify(rest)[:36].strip("-") or "queue"
        code = f"{dept.code}-Q-{slug}"
        if code in used or len(code) > 60:
            digest = hashlib.sha1(queue.encode(), usedforsecurity=False).hexdigest()[:6]
            code = f"{dept.code}-Q-{slug[:24]}-{digest}"
        used.add(code)
        rows.append(
            {
                "code": code,
                "kind": "department",
                "department_type": dept.department_type,
                "name_en": f"{dept.name_en}: {rest}",
                "name_zh": f"{dept.name_zh}：{rest}",
                "jurisdiction": CITY,
                "parent": dept.code,
                "aliases": [queue],
            }
        )
    return rows


def units(stats: RequestStats) -> list[dict[str, Any]]:
    depts: dict[str, tuple[Dept, list[str]]] = {}
    for subject in sorted(stats.subjects):
        dept = _subject_dept(subject)
        depts.setdefault(dept.code, (dept, []))[1].append(subject)
    for short, _queue in stats.queues:
        dept = _dept_for_code(short)
        depts.setdefault(dept.code, (dept, []))
    rows: list[dict[str, Any]] = [
        {
            "code": CENTRE.code,
            "kind": "centre",
            "name_en": CENTRE.name_en,
            "name_zh": CENTRE.name_zh,
            "jurisdiction": CITY,
            "aliases": ["311", "INFO"],
            "phone": "311",
        }
    ]
    for code, (dept, subjects) in sorted(depts.items()):
        if dept is CENTRE:
            continue
        aliases = sorted({*subjects, dept.short} - {dept.name_en, ""})
        rows.append(
            {
                "code": code,
                "kind": "department",
                "department_type": dept.department_type,
                "name_en": dept.name_en,
                "name_zh": dept.name_zh,
                "jurisdiction": CITY,
                "aliases": aliases,
            }
        )
    return rows + _queue_units(stats)


def matters(stats: RequestStats) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    done: set[str] = set()
    for subject, reason, type_ in sorted(stats.paths):
        dept = _subject_dept(subject)
        resp = w.responsible({"city": dept.department_type})
        for path in ((subject,), (subject, reason), (subject, reason, type_)):
            code = matter_code(*path)
            if code in done:
                continue
            done.add(code)
            name = path[-1]
            row: dict[str, Any] = {
                "code": code,
                "parent": matter_code(*path[:-1]) if len(path) > 1 else "",
                "name_en": name,
                "responsible": resp,
            }
            if len(path) == 1:
                row["name_zh"] = dept.name_zh
            elif len(path) == 2:
                row["name_zh"] = REASONS_ZH.get(name, name)
            else:
                row["name_zh"] = name
                row["keywords"] = keywords(name)
                hours = stats.target_hours.get(path, [])
                if len(hours) >= MIN_DEADLINE_SAMPLES:
                    resolve = duration(statistics.median(hours))
                    respond = duration(min(24.0, statistics.median(hours)))
                    row["deadlines"] = w.deadlines(respond, resolve)
            rows.append(row)
    return rows


def responsibilities(stats: RequestStats) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(stats.paths):
        handled = stats.handled_by.get(path)
        if not handled:
            continue
        (short, n), total = handled.most_common(1)[0], sum(handled.values())
        dept = _dept_for_code(short)
        queue = stats.top_queue[path].most_common(1)[0][0]
        rows.append(
            {
                "matter": matter_code(*path),
                "level": "city",
                "unit": dept.code,
                "city_coordinates": False,
                "note": (
                    f"handled by {dept.name_en} in {n} of {total} requests "
                    f"({n / total:.0%}), Jan-Oct 2015; busiest queue: {queue}"
                ),
            }
        )
    return rows


# -- entry point -------------------------------------------------------------------------------
def build(data_dir: Path | None, out: Path, progress: Callable[[str], None] | None = None) -> None:
    data = w.data_folder(data_dir, "boston", REQUESTS)
    out = Path(out)
    w.say(progress, f"reading boundaries from {data / 'boundaries'}")
    b = read_boundaries(data, progress)
    worst = measure(b)
    for what, (share, where) in worst.items():
        w.say(progress, f"worst {what}: {share:.4%} ({where}); tolerance {TOLERANCE[what]:.2%}")
    w.say(progress, f"reading requests from {data / REQUESTS}")
    stats = read_requests(data / REQUESTS)

    w.prepare_out(out)
    measured = "; ".join(f"{k} {v[0]:.3%} ({v[1]})" for k, v in worst.items())
    w.write_manifest(
        out,
        {
            "city": CITY,
            "name_en": "Boston",
            "name_zh": "波士顿市",
            "levels": LEVELS,
            "tolerance": TOLERANCE,
            "source": (
                "City of Boston open data (Analyze Boston), ODC-PDDL public domain: wards, "
                "precincts (2012 plan, WARD_PRECINCT) and neighbourhoods (WGS84 GeoJSON); units, "
                "matters and responsibilities derived from the 311 service requests opened "
                f"2015-01-01..2015-10-31 ({stats.rows} rows). City boundary = union of the wards. "
                "Repairs: " + "; ".join(b.notes) + ". Measured after repair: " + measured + ". "
                "Deadlines: resolve = median TARGET_DT - OPEN_DT per type (calendar time); "
                "respond = 24h or the resolve time if shorter (the data has no response target)."
            ),
        },
    )
    counts = {
        level: w.write_level(out, level, feats) for level, feats in jurisdiction_levels(b).items()
    }
    counts["units"] = w.write_csv(out, "units.csv", w.UNITS_HEADER, units(stats))
    counts["matters"] = w.write_csv(out, "matters.csv", w.MATTERS_HEADER, matters(stats))
    counts["responsibilities"] = w.write_csv(
        out, "responsibilities.csv", w.RESPONSIBILITIES_HEADER, responsibilities(stats)
    )
    w.say(progress, "wrote " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" to {out}")
