"""Exporting an installed city as a city pack, in the format ``read_pack`` reads.

Export then import is lossless: the pack written here, imported again, changes nothing.
Only active units, matters and responsibility entries are written (plus the inactive
ancestors an active one needs). The manifest's tolerance and source are not model fields;
they come from the city's last ``citypack.import`` audit entry, or the defaults.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from civitas.citypacks.formats import (
    format_bool,
    format_deadlines,
    format_responsible,
    join_list,
)
from civitas.citypacks.pack import (
    BOUNDARIES,
    FORMAT,
    MANIFEST,
    MATTER_COLUMNS,
    MATTERS,
    RESPONSIBILITIES,
    RESPONSIBILITY_COLUMNS,
    UNIT_COLUMNS,
    UNITS,
    Tolerance,
)
from civitas.geo.models import Jurisdiction, Level
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.models import AuditEntry
from civitas.matters.models import Matter
from civitas.org.models import ResponsibilityRule, Unit


def cities() -> list[str]:
    """Codes of the installed cities (root jurisdictions)."""
    return list(
        Jurisdiction.objects.filter(parent__isnull=True)
        .order_by("code")
        .values_list("code", flat=True)
    )


def _last_manifest(city: str) -> dict[str, Any]:
    entry = (
        AuditEntry.objects.filter(action="citypack.import", object_id=city).order_by("-seq").first()
    )
    manifest = entry.summary.get("manifest") if entry and isinstance(entry.summary, dict) else None
    return manifest if isinstance(manifest, dict) else {}


def _with_ancestors(chosen: Iterable[Any], by_pk: dict[int, Any]) -> list[Any]:
    """The chosen rows plus every ancestor they need, in their original order."""
    keep: set[int] = set()
    for row in chosen:
        while row is not None and row.pk not in keep:
            keep.add(row.pk)
            row = by_pk.get(row.parent_id) if row.parent_id else None
    return [row for pk, row in by_pk.items() if pk in keep]


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} is a file: give a folder to write the pack into")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise InvalidInput(
            f"{out} is not empty and holds no city pack: choose a new or empty folder"
        )
    (out / BOUNDARIES).mkdir(parents=True, exist_ok=True)
    for stale in (out / BOUNDARIES).glob("*.geojson"):
        stale.unlink()


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_features(path: Path, features: list[dict[str, Any]]) -> None:
    """A FeatureCollection with one feature per line: readable diffs, no bulky indentation."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    body = ",\n".join(lines)
    text = '{"type":"FeatureCollection","features":[\n' + body + ("\n" if lines else "") + "]}\n"
    path.write_text(text, encoding="utf-8")


def export_city(city_code: str, out_dir: str | Path) -> Path:
    """Write the city as a pack into ``out_dir`` (new, empty, or an earlier pack to replace)."""
    root = Jurisdiction.objects.filter(code=city_code, parent__isnull=True).first()
    if root is None:
        known = ", ".join(cities()) or "none"
        raise NotFound(f"no city {city_code!r} is installed (installed: {known})")
    out = Path(out_dir)
    _prepare(out)
    places = list(
        Jurisdiction.objects.filter(path__startswith=root.path)
        .select_related("level", "parent")
        .order_by("path")
    )
    units_by_pk = {
        u.pk: u
        for u in Unit.objects.filter(city=city_code)
        .select_related("jurisdiction", "parent")
        .order_by("code")
    }
    matters_by_pk = {
        m.pk: m
        for m in Matter.objects.filter(catalogue=city_code)
        .select_related("parent")
        .order_by("path")
    }
    rules = list(
        ResponsibilityRule.objects.filter(city=city_code, active=True)
        .select_related("matter", "level", "jurisdiction", "unit")
        .order_by(
            "matter__path",
            "level__rank",
            "level__code",
            "jurisdiction__path",
            "unit_type",
            "unit__code",
            "pk",
        )
    )
    units = _with_ancestors(
        [u for u in units_by_pk.values() if u.active]
        + [units_by_pk[r.unit_id] for r in rules if r.unit_id in units_by_pk],
        units_by_pk,
    )
    matters = _with_ancestors(
        [m for m in matters_by_pk.values() if m.active]
        + [matters_by_pk[r.matter_id] for r in rules if r.matter_id in matters_by_pk],
        matters_by_pk,
    )

    # Levels: those of the city's jurisdictions, its responsibility entries and its catalogue.
    level_codes = {j.level.code for j in places} | {r.level.code for r in rules}
    for m in matters:
        level_codes.update(m.responsible)
    levels = sorted(
        Level.objects.filter(code__in=level_codes), key=lambda lv: (lv.overlay, lv.rank, lv.code)
    )
    previous = _last_manifest(city_code)
    tolerance = previous.get("tolerance") or Tolerance().as_dict()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "city": city_code,
        "name_en": root.name_en,
        "name_zh": root.name_zh,
        "levels": [
            {"code": lv.code, "rank": lv.rank, "name_en": lv.name_en, "name_zh": lv.name_zh}
            | ({"overlay": True} if lv.overlay else {})
            for lv in levels
        ],
        "tolerance": tolerance,
        "source": previous.get("source") or "",
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )

    by_level: dict[str, list[dict[str, Any]]] = {lv.code: [] for lv in levels}
    for j in places:
        props: dict[str, Any] = {"code": j.code}
        if j.parent is not None:
            props["parent"] = j.parent.code
        props.update({"name_en": j.name_en, "name_zh": j.name_zh})
        if j.aliases:
            props["aliases"] = list(j.aliases)
        by_level[j.level.code].append(
            {"type": "Feature", "properties": props, "geometry": j.boundary}
        )
    for code, features in by_level.items():
        _write_features(out / BOUNDARIES / f"{code}.geojson", features)

    _write_csv(
        out / UNITS,
        UNIT_COLUMNS,
        (
            {
                "code": u.code,
                "kind": u.kind,
                "department_type": u.department_type,
                "name_en": u.name_en,
                "name_zh": u.name_zh,
                "jurisdiction": u.jurisdiction.code,
                "parent": u.parent.code if u.parent else "",
                "aliases": join_list(u.aliases),
                "phone": u.phone,
            }
            for u in units
        ),
    )
    _write_csv(
        out / MATTERS,
        MATTER_COLUMNS,
        (
            {
                "code": m.code,
                "parent": m.parent.code if m.parent else "",
                "name_en": m.name_en,
                "name_zh": m.name_zh,
                "keywords": join_list(m.keywords),
                "urgency_default": m.urgency_default,
                "deadlines": format_deadlines(m.deadlines or {}),
                "responsible": format_responsible(m.responsible or {}),
            }
            for m in matters
        ),
    )
    _write_csv(
        out / RESPONSIBILITIES,
        RESPONSIBILITY_COLUMNS,
        (
            {
                "matter": r.matter.code,
                "level": r.level.code,
                "jurisdiction": r.jurisdiction.code if r.jurisdiction else "",
                "unit_type": r.unit_type,
                "unit": r.unit.code if r.unit else "",
                "city_coordinates": format_bool(r.city_coordinates),
                "note": r.note,
            }
            for r in rules
        ),
    )
    return out
