"""Build the Changsha city pack from ``shared/data/changsha``.

Tree: city ``430100`` (长沙市) -> 9 districts/counties (adcodes, Amap polygons) -> 168
streets/towns (``boundaries/streets.csv``, no polygons). Matters: the TipDM 2020 three-level
taxonomy. Units: the city 12345 centre, each district's government and functional departments,
each street/town office. Responsibilities: a level-1 class (or a more specific level-2 branch)
goes to a department type at district level; community matters also to the street office.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from civitas.citypacks.builders import _write as w
from civitas.citypacks.builders.changsha_names import (
    BY_SUFFIX,
    DEPARTMENTS,
    GOV,
    LEVEL1,
    LEVEL2_EN,
    LEVEL2_HANDLER,
    STREET_LEVEL2,
    STREET_LEVEL3,
    SUFFIX_EN,
)

CITY = "430100"
MATTER_PREFIX = "CS-M"
TOLERANCE = {"containment": 0.001, "gap": 0.001, "overlap": 0.001}

LEVELS = [
    {"code": "city", "rank": 0, "name_en": "City", "name_zh": "市"},
    {"code": "district", "rank": 1, "name_en": "District/county", "name_zh": "区县"},
    {"code": "street", "rank": 2, "name_en": "Street/township", "name_zh": "街道/乡镇"},
]


# -- names -------------------------------------------------------------------------------------
def pinyin_name(pinyin: str) -> str:
    """'wen yi lu' -> 'Wenyilu'; 'dong an' -> "Dong'an" (apostrophe before a vowel syllable)."""
    out = ""
    for i, syllable in enumerate(pinyin.lower().replace("v", "ü").split()):
        if i and syllable[0] in "aoe":
            out += "'"
        out += syllable
    return out[:1].upper() + out[1:]


def split_suffix(full_name: str) -> tuple[str, str]:
    """'文艺路街道' -> ('文艺路', '街道'); longest known suffix first."""
    for suffix in sorted(SUFFIX_EN, key=len, reverse=True):
        if full_name.endswith(suffix) and len(full_name) > len(suffix):
            return full_name[: -len(suffix)], suffix
    return full_name, ""


def english_name(short_zh: str, pinyin: str, full_zh: str) -> str:
    """'芙蓉', 'fu rong', '芙蓉区' -> 'Furong District'; '长沙县', 'chang sha xian' -> county."""
    _stem, suffix = split_suffix(full_zh)
    syllables = pinyin.split()
    if suffix and short_zh.endswith(suffix) and len(syllables) > len(suffix):
        syllables = syllables[: -len(suffix)]  # the short name kept its suffix
    base = pinyin_name(" ".join(syllables))
    return f"{base} {SUFFIX_EN[suffix]}" if suffix else base


# -- reading -----------------------------------------------------------------------------------
def read_district_codes(path: Path) -> dict[str, str]:
    """district_code_map.csv: adcode -> anonymised code ("430104" -> "A3")."""
    out: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"anon_code", "adcode"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
        for line, r in enumerate(reader, start=2):
            anon, adcode = (r["anon_code"] or "").strip(), (r["adcode"] or "").strip()
            if not anon or not adcode:
                raise ValueError(f"{path.name}, line {line}: anon_code and adcode are required")
            if out.get(adcode, anon) != anon:
                raise ValueError(
                    f"{path.name}, line {line}: adcode {adcode} has two codes, "
                    f"{out[adcode]} and {anon}"
                )
            out[adcode] = anon
    return out


@dataclass
class Area:
    code: str
    parent: str
    name_zh: str
    name_en: str
    short_zh: str
    aliases: list[str]
    geometry: BaseGeometry | None = None


def read_areas(data: Path) -> tuple[Area, list[Area], list[Area]]:
    with (data / "boundaries" / "streets.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    anon = read_district_codes(data / "district_code_map.csv")
    geojson = json.loads((data / "boundaries" / "districts.geojson").read_text(encoding="utf-8"))
    shapes = {
        str(f["properties"]["adcode"]): w.polygonal(shape(f["geometry"]))
        for f in geojson["features"]
    }

    city: Area | None = None
    districts: list[Area] = []
    streets: list[Area] = []
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        deep, full = r["deep"].strip(), r["ext_name"].strip()
        name_en = english_name(r["name"].strip(), r["pinyin"], full)
        if deep == "1":
            city = Area(
                CITY,
                "",
                full,
                name_en.removesuffix(" City"),
                r["name"].strip(),
                ["A市", "Changsha City"],
            )
        elif deep == "2":
            # The anonymised code is the district's alias ("A3" for 岳麓区). The name without
            # its suffix ("岳麓") is no alias: the gazetteer derives it at a lower confidence.
            code = r["id"].strip()
            stem, _ = split_suffix(full)
            aliases = [anon[code]] if code in anon else []
            districts.append(Area(code, CITY, full, name_en, stem, aliases, shapes.get(code)))
        elif deep == "3":
            parent = r["pid"].strip()
            if parent not in by_id:
                raise ValueError(f"streets.csv: street {r['id']} has unknown parent {parent}")
            streets.append(Area(r["id"].strip(), parent, full, name_en, r["name"].strip(), []))
    if city is None:
        raise ValueError("streets.csv has no city row (deep=1)")
    unknown = sorted(set(anon) - {d.code for d in districts})
    if unknown:
        raise ValueError(
            f"district_code_map.csv: adcode(s) {', '.join(unknown)} are not districts "
            "(deep=2) in streets.csv"
        )
    missing = [d.code for d in districts if d.geometry is None]
    if missing:
        raise ValueError(f"districts.geojson has no polygon for {missing}")
    city.geometry = w.polygonal(unary_union([d.geometry for d in districts]))
    return city, districts, streets


def measure(city: Area, districts: list[Area]) -> dict[str, float]:
    shapes = [d.geometry for d in districts if d.geometry is not None]
    union = unary_union(shapes)
    worst_overlap = 0.0
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            a, b = shapes[i], shapes[j]
            worst_overlap = max(worst_overlap, a.intersection(b).area / min(a.area, b.area))
    assert city.geometry is not None
    return {
        "containment": max(g.difference(city.geometry).area / g.area for g in shapes),
        "gap": city.geometry.difference(union).area / city.geometry.area,
        "overlap": worst_overlap,
    }


# -- writing -----------------------------------------------------------------------------------
def feature(area: Area) -> dict[str, Any]:
    return {
        "code": area.code,
        "parent": area.parent,
        "name_en": area.name_en,
        "name_zh": area.name_zh,
        "aliases": area.aliases,
        "geometry": w.geojson(area.geometry),
    }


def units(districts: list[Area], streets: list[Area]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "code": f"{CITY}-12345",
            "kind": "centre",
            "name_en": "Changsha 12345 Citizen Hotline",
            "name_zh": "长沙市12345市民服务热线",
            "jurisdiction": CITY,
            "aliases": ["12345", "市长热线", "12345热线"],
            "phone": "12345",
        }
    ]
    for d in districts:
        gov = f"{d.code}-{GOV}"
        rows.append(
            {
                "code": gov,
                "kind": "government",
                "department_type": "district_office",
                "name_en": f"{d.name_en} People's Government",
                "name_zh": f"{d.name_zh}人民政府",
                "jurisdiction": d.code,
                "aliases": [f"{d.name_zh}政府"],
            }
        )
        for spec in DEPARTMENTS:
            is_district = d.name_zh.endswith("区")
            name_zh = spec.branch_zh if spec.branch_zh and is_district else spec.name_zh
            rows.append(
                {
                    "code": f"{d.code}-{spec.suffix}",
                    "kind": "department",
                    "department_type": spec.department_type,
                    "name_en": spec.name_en.format(d=d.name_en),
                    "name_zh": name_zh.format(d=d.name_zh, s=d.short_zh),
                    "jurisdiction": d.code,
                    "parent": gov,
                }
            )
    for s in streets:
        office = "办事处" if s.name_zh.endswith("街道") else "人民政府"
        rows.append(
            {
                "code": f"{s.code}-OFFICE",
                "kind": "government",
                "department_type": "street_office",
                "name_en": f"{s.name_en} {'Office' if office == '办事处' else 'Government'}",
                "name_zh": f"{s.name_zh}{office}",
                "jurisdiction": s.code,
                "parent": f"{s.parent}-{GOV}",
            }
        )
    return rows


def _handler_type(handler: str) -> str:
    """A handler is a department type or the suffix of a named unit (type 'other')."""
    return BY_SUFFIX[handler].department_type if handler in BY_SUFFIX else handler


def _rules(matter: str, handler: str, districts: list[Area], note: str) -> list[dict[str, Any]]:
    if handler in BY_SUFFIX:
        return [
            {
                "matter": matter,
                "level": "district",
                "jurisdiction": d.code,
                "unit": f"{d.code}-{handler}",
                "city_coordinates": False,
                "note": note,
            }
            for d in districts
        ]
    return [
        {
            "matter": matter,
            "level": "district",
            "unit_type": handler,
            "city_coordinates": False,
            "note": note,
        }
    ]


def catalogue(
    data: Path, districts: list[Area]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with (data / "taxonomy_3level.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            (r["level1"].strip(), r["level2"].strip(), r["level3"].strip())
            for r in csv.DictReader(fh)
        ]
    matters: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    codes: dict[tuple[str, ...], str] = {}
    counters: dict[tuple[str, ...], int] = {}

    def code_for(path: tuple[str, ...]) -> tuple[str, bool]:
        if path in codes:
            return codes[path], False
        parent = codes[path[:-1]] if len(path) > 1 else MATTER_PREFIX
        n = counters[path[:-1]] = counters.get(path[:-1], 0) + 1
        codes[path] = f"{parent}-{n:02d}"
        return codes[path], True

    for l1, l2, l3 in rows:
        if not (l1 and l2 and l3):
            continue
        if l1 not in LEVEL1:
            raise ValueError(f"taxonomy_3level.csv: level-1 class {l1!r} has no handler")
        l1_en, l1_handler = LEVEL1[l1]
        handler = LEVEL2_HANDLER.get((l1, l2), l1_handler)
        for path in ((l1,), (l1, l2), (l1, l2, l3)):
            code, new = code_for(path)
            if not new:
                continue
            h = l1_handler if len(path) == 1 else handler
            pairs = {"district": _handler_type(h)}
            if (l2 in STREET_LEVEL2 and len(path) >= 2) or (len(path) == 3 and l3 in STREET_LEVEL3):
                pairs["street"] = "street_office"
            name_en = {1: l1_en, 2: LEVEL2_EN.get(l2, l2), 3: l3}[len(path)]
            matters.append(
                {
                    "code": code,
                    "parent": codes[path[:-1]] if len(path) > 1 else "",
                    "name_en": name_en,
                    "name_zh": path[-1],
                    "keywords": [path[-1]] if len(path) == 3 and path[-1] != "其他" else [],
                    "responsible": w.responsible(pairs),
                }
            )
            if len(path) == 1:
                rules += _rules(code, h, districts, f"{l1}: level-1 class")
            elif len(path) == 2 and (l1, l2) in LEVEL2_HANDLER:
                rules += _rules(code, h, districts, f"{l1}/{l2}: handled apart from {l1}")
            if (len(path) == 2 and l2 in STREET_LEVEL2) or (
                len(path) == 3 and l3 in STREET_LEVEL3 and l2 not in STREET_LEVEL2
            ):
                rules.append(
                    {
                        "matter": code,
                        "level": "street",
                        "unit_type": "street_office",
                        "city_coordinates": False,
                        "note": f"{'/'.join(path)}: the street/town office acts first",
                    }
                )
    return matters, rules


def build(data_dir: Path | None, out: Path, progress: Callable[[str], None] | None = None) -> None:
    data = w.data_folder(data_dir, "changsha", "taxonomy_3level.csv")
    out = Path(out)
    w.say(progress, f"reading boundaries from {data / 'boundaries'}")
    city, districts, streets = read_areas(data)
    worst = measure(city, districts)
    w.say(progress, "districts: worst " + ", ".join(f"{k} {v:.4%}" for k, v in worst.items()))
    matters, rules = catalogue(data, districts)

    w.prepare_out(out)
    w.write_manifest(
        out,
        {
            "city": CITY,
            "name_en": "Changsha",
            "name_zh": "长沙市",
            "levels": LEVELS,
            "tolerance": TOLERANCE,
            "source": (
                "District polygons: boundaries/districts.geojson (Amap-derived; coordinates may "
                "carry the GCJ-02 offset of a few hundred metres against WGS84, not corrected "
                "here). Streets/towns: boundaries/streets.csv (AreaCity, MIT), no polygons. "
                "City boundary = union of the districts. A1..A9 aliases from district_code_map.csv "
                "(TipDM 2020 problem C, decoded by co-occurrence with street names). Matters: the "
                "challenge's 3-level taxonomy (competition data, no licence stated: evaluation "
                "only); level-3 English names are the Chinese ones. Units and responsibilities are "
                "the usual district structure of a Chinese city, not taken from an official list. "
                "Measured: " + ", ".join(f"{k} {v:.4%}" for k, v in worst.items()) + "."
            ),
        },
    )
    counts = {
        "city": w.write_level(out, "city", [feature(city)]),
        "district": w.write_level(out, "district", [feature(d) for d in districts]),
        "street": w.write_level(out, "street", [feature(s) for s in streets]),
        "units": w.write_csv(out, "units.csv", w.UNITS_HEADER, units(districts, streets)),
        "matters": w.write_csv(out, "matters.csv", w.MATTERS_HEADER, matters),
        "responsibilities": w.write_csv(
            out, "responsibilities.csv", w.RESPONSIBILITIES_HEADER, rules
        ),
    }
    w.say(progress, "wrote " + ", ".join(f"{n} {k}" for k, n in counts.items()) + f" to {out}")
