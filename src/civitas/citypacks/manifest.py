"""Reading manifest.json: the format, the city, its levels, tolerances and source."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civitas.citypacks.formats import check_code
from civitas.citypacks.pack import FORMAT, MANIFEST, LevelSpec, Problems, Tolerance

TOLERANCE_EXAMPLE = '{"containment": 0.02, "gap": 0.01, "overlap": 0.01}'


@dataclass
class Head:
    city: str
    name_en: str
    name_zh: str
    levels: list[LevelSpec]
    tolerance: Tolerance
    source: str


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def read_manifest(root: Path, p: Problems) -> Head | None:
    """The manifest, or None when it is missing or unreadable (nothing else can be checked)."""
    path = root / MANIFEST
    if not path.is_file():
        why = (
            f"missing: a city pack starts with manifest.json (format {FORMAT!r}, city, names, "
            "levels); see docs/CITYPACKS.md"
        )
        p.add(MANIFEST, None, "", why)
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        p.add(MANIFEST, None, "", "not UTF-8 text: save the file as UTF-8")
        return None
    except json.JSONDecodeError as exc:
        p.add(MANIFEST, exc.lineno, "", f"not valid JSON: {exc.msg} (column {exc.colno})")
        return None
    if not isinstance(data, dict):
        p.add(MANIFEST, None, "", "must be a JSON object with format, city, names and levels")
        return None
    if data.get("format") != FORMAT:
        why = f"is {data.get('format')!r}; this version of Civitas reads {FORMAT!r}"
        p.add(MANIFEST, None, "format", why)
    city = text(data.get("city"))
    why_not = check_code(city)
    if why_not:
        p.add(MANIFEST, None, "city", f"the code of the city: {why_not}")
    name_en, name_zh = text(data.get("name_en")), text(data.get("name_zh"))
    if not (name_en or name_zh):
        p.add(MANIFEST, None, "name_en", "give the city a name (name_en, name_zh or both)")
    levels = _read_levels(data.get("levels"), p)
    tolerance = _read_tolerance(data.get("tolerance"), p)
    source = data.get("source", "")
    if not isinstance(source, str):
        p.add(MANIFEST, None, "source", "must be text: where the data came from, its licence")
        source = ""
    if not levels:
        return None
    return Head(city, name_en or name_zh, name_zh or name_en, levels, tolerance, source)


def _read_tolerance(raw: Any, p: Problems) -> Tolerance:
    if raw is None:
        return Tolerance()
    if not isinstance(raw, dict):
        p.add(MANIFEST, None, "tolerance", f"must be an object: {TOLERANCE_EXAMPLE}")
        return Tolerance()
    values = Tolerance().as_dict()
    for key, value in raw.items():
        if key not in values:
            p.add(MANIFEST, None, f"tolerance.{key}", "unknown: use containment, gap or overlap")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            why = f"{value!r} is not a share between 0 and 1 (e.g. 0.02 for 2%)"
            p.add(MANIFEST, None, f"tolerance.{key}", why)
        else:
            values[key] = float(value)
    return Tolerance(**values)


def _read_levels(raw: Any, p: Problems) -> list[LevelSpec]:
    if not isinstance(raw, list) or not raw:
        why = "list the levels of the tree, from the city (rank 0) down"
        p.add(MANIFEST, None, "levels", why)
        return []
    levels: list[LevelSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"levels[{i}]"
        if not isinstance(item, dict):
            p.add(MANIFEST, None, where, 'must be an object: {"code": ..., "rank": ..., ...}')
            continue
        start = len(p.items)
        code = text(item.get("code"))
        if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_" for ch in code):
            why = f"{code!r}: a level code is 1-40 letters, digits, '-' or '_'"
            p.add(MANIFEST, None, f"{where}.code", why)
        elif code in seen:
            p.add(MANIFEST, None, f"{where}.code", f"level {code!r} is listed twice: keep one")
        seen.add(code)
        rank = item.get("rank")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
            why = f"{rank!r}: the rank is a whole number, 0 for the city, growing downwards"
            p.add(MANIFEST, None, f"{where}.rank", why)
        overlay = item.get("overlay", False)
        if not isinstance(overlay, bool):
            p.add(MANIFEST, None, f"{where}.overlay", "must be true or false")
        elif overlay and rank == 0:
            why = "an overlay level hangs under the city: give it a rank of 1 or more"
            p.add(MANIFEST, None, f"{where}.rank", why)
        name_en, name_zh = text(item.get("name_en")), text(item.get("name_zh"))
        if not (name_en or name_zh):
            p.add(MANIFEST, None, f"{where}.name_en", "give the level a name (name_en, name_zh)")
        if len(p.items) == start and isinstance(rank, int):
            levels.append(LevelSpec(code, rank, name_en or name_zh, name_zh or name_en, overlay))
    main = sorted((lv for lv in levels if not lv.overlay), key=lambda lv: lv.rank)
    ranks = [lv.rank for lv in main]
    if ranks != list(range(len(main))):
        why = (
            f"the ranks of the nesting levels are {ranks}: give them 0, 1, 2, ... (one level "
            'per rank, the city at 0; mark side layers with "overlay": true)'
        )
        p.add(MANIFEST, None, "levels", why)
    return levels
