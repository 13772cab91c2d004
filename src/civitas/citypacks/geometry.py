"""Geometry checks of a city pack: containment, gaps and sibling overlaps.

Areas are measured in square degrees: only ratios are compared, and within one city the
distortion of longitude/latitude is the same for both terms of a ratio to a good
approximation. Overlap candidates come from an STRtree so that hundreds of polygons cost
little more than their neighbours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shapely

if TYPE_CHECKING:
    from civitas.citypacks.pack import JurisdictionSpec, LevelSpec, Problems, Tolerance


def _near(geom: Any) -> str:
    """Where to look: a point inside the largest piece of a geometry."""
    parts = list(getattr(geom, "geoms", [geom]))
    largest = max(parts, key=lambda g: g.area)
    pt = largest.representative_point()
    return f"near lon {pt.x:.5f}, lat {pt.y:.5f}"


def check_geometry(
    specs: list[JurisdictionSpec],
    geoms: dict[str, Any],
    levels: dict[str, LevelSpec],
    tolerance: Tolerance,
    p: Problems,
    *,
    skip_gaps: set[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """Report children outside their parent, gaps under a parent and overlapping siblings.

    ``skip_gaps`` names parents not to check for gaps (a child of theirs is unusable).
    """
    by_code = {s.code: s for s in specs}
    for g in geoms.values():
        shapely.prepare(g)
    _containment(specs, geoms, tolerance, p)
    if progress:
        progress("checked containment", len(specs), len(specs))
    _gaps(specs, geoms, levels, tolerance, p, skip_gaps or set())
    if progress:
        progress("checked gaps", len(specs), len(specs))
    _overlaps(specs, geoms, by_code, tolerance, p)
    if progress:
        progress("checked overlaps", len(specs), len(specs))


def _containment(
    specs: list[JurisdictionSpec], geoms: dict[str, Any], tolerance: Tolerance, p: Problems
) -> None:
    for s in specs:
        geom, parent = geoms.get(s.code), geoms.get(s.parent or "")
        if geom is None or parent is None or parent.covers(geom):
            continue
        share = geom.difference(parent).area / geom.area if geom.area else 0.0
        if share > tolerance.containment:
            outside = geom.difference(parent)
            p.add(
                s.file,
                s.row,
                "geometry",
                f"{share:.1%} of {s.code}'s area lies outside its parent {s.parent} "
                f"(tolerance {tolerance.containment:.1%}), {_near(outside)}: fix the boundary "
                "or the parent code, or raise tolerance.containment in manifest.json",
            )


def _gaps(
    specs: list[JurisdictionSpec],
    geoms: dict[str, Any],
    levels: dict[str, LevelSpec],
    tolerance: Tolerance,
    p: Problems,
    skip: set[str],
) -> None:
    children: dict[str, list[JurisdictionSpec]] = defaultdict(list)
    for s in specs:
        if s.parent and not levels[s.level].overlay:
            children[s.parent].append(s)
    for s in specs:
        kids = children.get(s.code)
        parent = geoms.get(s.code)
        if not kids or parent is None or parent.area == 0 or s.code in skip:
            continue
        kid_geoms = [geoms.get(k.code) for k in kids]
        if any(g is None for g in kid_geoms):
            continue  # checked only when every child has a boundary
        uncovered = parent.difference(shapely.union_all(kid_geoms))
        share = uncovered.area / parent.area
        if share > tolerance.gap:
            level = kids[0].level
            p.add(
                s.file,
                s.row,
                "geometry",
                f"{share:.1%} of {s.code}'s area is covered by none of its {len(kids)} "
                f"{level} jurisdictions in {kids[0].file} (tolerance {tolerance.gap:.1%}), "
                f"largest gap {_near(uncovered)}: extend the children's boundaries to fill "
                "it, add the missing child, or raise tolerance.gap in manifest.json",
            )


def _overlaps(
    specs: list[JurisdictionSpec],
    geoms: dict[str, Any],
    by_code: dict[str, JurisdictionSpec],
    tolerance: Tolerance,
    p: Problems,
) -> None:
    by_level: dict[str, list[str]] = defaultdict(list)
    for s in specs:
        if s.code in geoms and s.parent:
            by_level[s.level].append(s.code)
    for codes in by_level.values():
        if len(codes) < 2:
            continue
        items = [geoms[c] for c in codes]
        tree = shapely.STRtree(items)
        left, right = tree.query(items, predicate="intersects")
        keep = left < right
        for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
            a, b = by_code[codes[i]], by_code[codes[j]]
            if a.parent != b.parent:
                continue
            ga, gb = items[i], items[j]
            smaller = min(ga.area, gb.area)
            if not smaller:
                continue
            common = ga.intersection(gb)
            share = common.area / smaller
            if share > tolerance.overlap:
                first, second = (a, b) if (a.file, a.row) < (b.file, b.row) else (b, a)
                p.add(
                    second.file,
                    second.row,
                    "geometry",
                    f"{second.code} overlaps its sibling {first.code} (feature {first.row}) "
                    f"over {share:.1%} of the smaller one's area (tolerance "
                    f"{tolerance.overlap:.1%}), {_near(common)}: correct the shared border, "
                    "or raise tolerance.overlap in manifest.json",
                )
