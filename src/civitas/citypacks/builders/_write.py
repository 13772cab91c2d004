"""Shared helpers for the city pack builders: cleaning geometry and writing the pack files.

The builders write exactly the format of docs/CITYPACKS.md; nothing here touches the database.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

Progress = Callable[[str], None]

UNITS_HEADER = (
    "code",
    "kind",
    "department_type",
    "name_en",
    "name_zh",
    "jurisdiction",
    "parent",
    "aliases",
    "phone",
)
MATTERS_HEADER = (
    "code",
    "parent",
    "name_en",
    "name_zh",
    "keywords",
    "urgency_default",
    "deadlines",
    "responsible",
)
RESPONSIBILITIES_HEADER = (
    "matter",
    "level",
    "jurisdiction",
    "unit_type",
    "unit",
    "city_coordinates",
    "note",
)
PACK_FILES = ("manifest.json", "units.csv", "matters.csv", "responsibilities.csv")


def say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def slugify(text: str) -> str:
    """ASCII lowercase words joined by '-': "Jamaica Plain" -> "jamaica-plain"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """A valid Polygon or MultiPolygon: repairs self-intersections, drops stray lines/points."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts: list[Polygon] = []
    for part in getattr(geom, "geoms", []):
        if isinstance(part, Polygon):
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(part.geoms)
    if not parts:
        raise ValueError("geometry has no polygonal part")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def geojson(geom: BaseGeometry | None) -> dict[str, Any] | None:
    return None if geom is None else dict(mapping(geom))


def prepare_out(out: Path) -> None:
    """Create the pack folder, removing only files a previous build of a pack wrote."""
    out.mkdir(parents=True, exist_ok=True)
    for name in PACK_FILES:
        (out / name).unlink(missing_ok=True)
    boundaries = out / "boundaries"
    boundaries.mkdir(exist_ok=True)
    for old in boundaries.glob("*.geojson"):
        old.unlink()


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps({"format": "civitas-citypack/1", **manifest}, ensure_ascii=False, indent=2)
    (out / "manifest.json").write_text(text + "\n", encoding="utf-8")


def write_level(out: Path, level: str, features: Iterable[dict[str, Any]]) -> int:
    """Write boundaries/<level>.geojson; each item has the feature properties and 'geometry'."""
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    for item in features:
        props = {k: v for k, v in item.items() if k != "geometry" and v not in (None, "", [])}
        collection["features"].append(
            {"type": "Feature", "properties": props, "geometry": item.get("geometry")}
        )
    path = out / "boundaries" / f"{level}.geojson"
    path.write_text(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    return len(collection["features"])


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value if str(v))
    return str(value)


def write_csv(out: Path, name: str, header: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with (out / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            unknown = set(row) - set(header)
            if unknown:
                raise ValueError(f"{name}: unknown columns {sorted(unknown)}")
            writer.writerow([cell(row.get(col)) for col in header])
            count += 1
    return count


def deadlines(respond: str, resolve: str, urgency: str = "normal") -> str:
    return f"{urgency}:{respond}/{resolve}"


def responsible(pairs: dict[str, str]) -> str:
    return ";".join(f"{level}:{dept}" for level, dept in pairs.items() if dept)


def data_folder(data_dir: Path | None, name: str, marker: str) -> Path:
    """The data folder of a city: DIR, DIR/<name>, or CIVITAS_DATA/<name> when DIR is None."""
    if data_dir is None:
        from django.conf import settings

        base = getattr(settings, "CIVITAS_DATA", None)
        if base is None:
            raise FileNotFoundError(f"no data folder given and CIVITAS_DATA is not set ({name})")
        data_dir = Path(base)
    data_dir = Path(data_dir)
    if not (data_dir / marker).exists() and (data_dir / name / marker).exists():
        data_dir = data_dir / name
    if not (data_dir / marker).exists():
        raise FileNotFoundError(f"{data_dir / marker} not found: is this the {name} data folder?")
    return data_dir
