"""Reading boundaries/<level>.geojson and checking the jurisdiction tree they form."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from civitas.citypacks.formats import check_code, clean_aliases
from civitas.citypacks.manifest import text
from civitas.citypacks.pack import BOUNDARIES, JurisdictionSpec, LevelSpec, Problems


def level_file(level: str) -> str:
    return f"{BOUNDARIES}/{level}.geojson"


def to_shape(geometry: Any) -> tuple[Any, str | None]:
    """A Shapely geometry from GeoJSON, or why it cannot be used (completing "the boundary ...")."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return None, (
            f"is a {kind}: give a Polygon or MultiPolygon, or null when the jurisdiction has "
            "no boundary"
        )
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        return None, f"cannot be read as GeoJSON ({exc}): check the coordinates' nesting"
    except shapely.errors.GEOSException as exc:
        return None, f"cannot be read as GeoJSON ({exc}): check the coordinates' nesting"
    if geom.is_empty:
        return None, "is empty: give the boundary or null"
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return None, (
            "has coordinates outside longitude -180..180 / latitude -90..90: reproject it to "
            "WGS84 (EPSG:4326), longitude first"
        )
    if not geom.is_valid:
        return None, (
            f"is not a valid polygon ({explain_validity(geom)}): repair it (e.g. with "
            "shapely.make_valid or QGIS 'Fix geometries') so that no ring crosses itself"
        )
    return geom, None


def _read_json(root: Path, name: str, p: Problems) -> Any:
    try:
        return json.loads((root / name).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        p.add(name, None, "", "not UTF-8 text: save the file as UTF-8")
    except json.JSONDecodeError as exc:
        p.add(name, None, "", f"not valid JSON: {exc.msg} at line {exc.lineno}:{exc.colno}")
    return None


@dataclass
class Features:
    specs: list[JurisdictionSpec] = field(default_factory=list)  # the usable features
    geoms: dict[str, Any] = field(default_factory=dict)  # their usable geometries by code
    # Every code some feature names, usable or not: other rows may refer to it without a
    # cascade of "unknown" problems.
    named: set[str] = field(default_factory=set)
    # Parents with a child whose feature is unusable: their gap check would mislead.
    incomplete: set[str] = field(default_factory=set)


def read_boundaries(root: Path, levels: list[LevelSpec], p: Problems) -> Features:
    """Every feature of every level file."""
    folder = root / BOUNDARIES
    found = Features()
    specs, geoms = found.specs, found.geoms
    if not folder.is_dir():
        why = "missing folder: put one <level>.geojson per level of manifest.json in it"
        p.add(f"{BOUNDARIES}/", None, "", why)
        return found
    known = {lv.code for lv in levels}
    for extra in sorted(folder.glob("*.geojson")):
        if extra.stem not in known:
            why = f"no level {extra.stem!r} in manifest.json: add it to 'levels' or remove the file"
            p.add(level_file(extra.stem), None, "", why)
    for level in levels:
        name = level_file(level.code)
        if not (root / name).is_file():
            why = (
                "missing: every level of manifest.json needs its file; write a "
                f"FeatureCollection of the {level.code} jurisdictions (it may be empty) or "
                "remove the level"
            )
            p.add(name, None, "", why)
            continue
        data = _read_json(root, name, p)
        if data is None:
            continue
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list) or data.get("type") != "FeatureCollection":
            p.add(name, None, "type", "must be a GeoJSON FeatureCollection with a features list")
            continue
        for row, feature in enumerate(features, start=1):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict) and isinstance(props.get("code"), str):
                found.named.add(props["code"].strip())
            spec = _read_feature(name, row, level, feature, p)
            if spec is None:
                if isinstance(props, dict) and isinstance(props.get("parent"), str):
                    found.incomplete.add(props["parent"].strip())
                continue
            specs.append(spec)
            if spec.boundary is not None:
                geom, why_not = to_shape(spec.boundary)
                if why_not:
                    p.add(name, row, "geometry", f"{spec.code}: the boundary {why_not}")
                else:
                    geoms.setdefault(spec.code, geom)
    return found


def _read_feature(
    name: str, row: int, level: LevelSpec, feature: Any, p: Problems
) -> JurisdictionSpec | None:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        p.add(name, row, "type", "must be a GeoJSON Feature with properties and geometry")
        return None
    props = feature.get("properties")
    if not isinstance(props, dict):
        p.add(name, row, "properties", "must be an object with code, parent and names")
        return None
    start = len(p.items)
    raw_code = props.get("code")
    code = text(raw_code)
    why = "must be text" if raw_code is not None and not isinstance(raw_code, str) else None
    why = why or check_code(code)
    if why:
        p.add(name, row, "code", f"{raw_code!r}: {why}")
    raw_parent = props.get("parent")
    if raw_parent is not None and not isinstance(raw_parent, str):
        p.add(name, row, "parent", f"{raw_parent!r} must be text: the parent's code")
    name_en, name_zh = text(props.get("name_en")), text(props.get("name_zh"))
    if not (name_en or name_zh):
        p.add(name, row, "name_en", f"{code}: give a name (name_en, name_zh or both)")
    aliases = props.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        p.add(name, row, "aliases", 'must be a list of names, e.g. ["A1", "Old Town"]')
    if len(p.items) > start:
        return None
    geometry = feature.get("geometry")
    return JurisdictionSpec(
        code=code,
        level=level.code,
        parent=text(raw_parent) or None,
        name_en=name_en or name_zh,
        name_zh=name_zh or name_en,
        aliases=clean_aliases(aliases),
        boundary=geometry if geometry not in (None, {}) else None,
        file=name,
        row=row,
    )


def check_tree(
    city: str,
    levels: list[LevelSpec],
    specs: list[JurisdictionSpec],
    named: set[str],
    p: Problems,
) -> list[JurisdictionSpec]:
    """Codes unique, one city at the root, parents one level up; returns parents-first order."""
    by_level = {lv.code: lv for lv in levels}
    main = {lv.rank: lv for lv in levels if not lv.overlay}
    first: dict[str, JurisdictionSpec] = {}
    for s in specs:
        if s.code not in first:
            first[s.code] = s
            continue
        other = first[s.code]
        why = (
            f"duplicate code {s.code!r} (also {other.file} feature {other.row}): codes are "
            "unique across the pack; rename one"
        )
        p.add(s.file, s.row, "code", why)
    root_level = main.get(0)
    if root_level is not None:
        _check_root(city, root_level, specs, p)
    for s in specs:
        level = by_level[s.level]
        if level is root_level:
            continue
        expected = root_level if level.overlay else main.get(level.rank - 1)
        if expected is None:
            continue  # the manifest's ranks are wrong: reported already
        parent = first.get(s.parent or "")
        if not s.parent:
            why = f"{s.code}: required: the code of the {expected.code} it lies in"
        elif parent is None and s.parent in named:
            continue  # the parent's own feature is unusable: reported already
        elif parent is None:
            why = (
                f"unknown parent {s.parent!r}: no jurisdiction of the pack has this code; fix "
                f"it or add the parent to {level_file(expected.code)}"
            )
        elif parent.level != expected.code:
            rule = (
                "an overlay level hangs under the city"
                if level.overlay
                else f"a {level.code}'s parent is a {expected.code}, one level up"
            )
            why = f"the parent {s.parent!r} is a {parent.level}, but {rule}: fix the parent code"
        else:
            continue
        p.add(s.file, s.row, "parent", why)
    return _parents_first(city, first)


def _check_root(
    city: str, root_level: LevelSpec, specs: list[JurisdictionSpec], p: Problems
) -> None:
    at_root = [s for s in specs if s.level == root_level.code]
    if city and not any(s.code == city for s in at_root):
        why = (
            f"no feature for the city {city!r}: the {root_level.code} level holds one feature "
            "whose code is the manifest's city"
        )
        p.add(level_file(root_level.code), None, "code", why)
    for s in at_root:
        if s.code != city:
            why = f"{s.code!r}: the {root_level.code} level holds only the city {city!r}"
            p.add(s.file, s.row, "code", why)
        elif s.parent:
            p.add(s.file, s.row, "parent", "the city has no parent: leave it empty")


def _parents_first(city: str, by_code: dict[str, JurisdictionSpec]) -> list[JurisdictionSpec]:
    children: dict[str | None, list[JurisdictionSpec]] = {}
    for s in by_code.values():
        children.setdefault(s.parent, []).append(s)
    ordered: list[JurisdictionSpec] = []
    queue = deque([by_code[city]] if city in by_code else [])
    while queue:
        node = queue.popleft()
        ordered.append(node)
        queue.extend(children.get(node.code, []))
    return ordered
