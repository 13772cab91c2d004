"""Reading units.csv, matters.csv and responsibilities.csv.

Rows are numbered by the CSV line they start on (the header is line 1), so a cell spanning
several lines does not shift the numbers of the rows after it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from civitas.citypacks.formats import (
    clean_aliases,
    parse_bool,
    parse_deadlines,
    parse_responsible,
    split_list,
)
from civitas.citypacks.pack import (
    MATTER_COLUMNS,
    MATTERS,
    RESPONSIBILITIES,
    RESPONSIBILITY_COLUMNS,
    UNIT_COLUMNS,
    UNITS,
    MatterSpec,
    Problems,
    ResponsibilitySpec,
    UnitSpec,
)

MIN_CATALOGUE_DEPTH = 3


def read_csv(
    root: Path, name: str, columns: tuple[str, ...], required: tuple[str, ...], p: Problems
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each non-blank row, every column present, cells stripped."""
    path = root / name
    header_text = ",".join(columns)
    if not path.is_file():
        p.add(name, None, "", f"missing: write the file with the header {header_text}")
        return
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                p.add(name, 1, "", f"empty: the first line is the header {header_text}")
                return
            bad = len(p.items)
            for col in header:
                if col not in columns:
                    why = f"unknown column: the columns are {header_text}"
                    p.add(name, 1, col or "(empty)", why)
            for col in required:
                if col not in header:
                    p.add(name, 1, col, "missing column: add it to the header")
            if len(set(header)) != len(header):
                p.add(name, 1, "", "a column is named twice in the header: keep one")
            if len(p.items) > bad:
                return
            start = reader.line_num + 1
            for values in reader:
                line, start = start, reader.line_num + 1
                if not any(v.strip() for v in values):
                    continue
                if len(values) > len(header):
                    why = (
                        f"{len(values)} cells but the header has {len(header)} columns: "
                        "quote cells that contain commas"
                    )
                    p.add(name, line, "", why)
                    continue
                row = dict.fromkeys(columns, "")
                row.update({h: v.strip() for h, v in zip(header, values, strict=False)})
                yield line, row
    except UnicodeDecodeError:
        p.add(name, None, "", "not UTF-8 text: save the file as UTF-8")
    except csv.Error as exc:
        p.add(name, None, "", f"not readable as CSV: {exc}")


def parents_first(name: str, items: dict[str, Any], p: Problems) -> list[str]:
    """Codes ordered parents first; a loop of parents is reported on each of its members."""
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1 = being visited, 2 = done

    def visit(code: str, trail: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            loop = trail[trail.index(code) :]
            chain = " -> ".join([*loop, code])
            for member in loop:
                why = f"{member}: the parents {chain} go round in a circle: break the loop"
                p.add(name, items[member].row, "parent", why)
            return
        state[code] = 1
        parent = items[code].parent
        if parent and parent in items:
            visit(parent, [*trail, code])
        state[code] = 2
        ordered.append(code)

    for code in items:
        visit(code, [])
    return ordered


def _duplicate(code: str, line: int, kind: str) -> str:
    return f"duplicate code {code!r} (also line {line}): {kind} codes are unique; rename one"


def _unknown_parent(
    name: str, items: dict[str, Any], known: set[str], what: str, p: Problems
) -> None:
    for item in items.values():
        if item.parent == item.code:
            p.add(name, item.row, "parent", f"{item.code} cannot be its own parent")
            item.parent = None
        elif item.parent and item.parent not in known:
            p.add(name, item.row, "parent", f"unknown parent {item.parent!r}: {what}")


def read_units(root: Path, j_codes: set[str], p: Problems) -> tuple[list[UnitSpec], set[str]]:
    """The usable units, parents first, and every code in the file (usable or not)."""
    from civitas.matters.vocabulary import DepartmentType
    from civitas.org.models import UnitKind

    kinds, depts = ", ".join(UnitKind.values), ", ".join(DepartmentType.values)
    units: dict[str, UnitSpec] = {}
    rows = list(read_csv(root, UNITS, UNIT_COLUMNS, ("code", "kind", "jurisdiction"), p))
    for line, r in rows:
        start = len(p.items)
        code, dept, place = r["code"], r["department_type"], r["jurisdiction"]
        if not code or len(code) > 60:
            p.add(UNITS, line, "code", f"{code!r}: a unit code is 1-60 characters")
        elif code in units:
            p.add(UNITS, line, "code", _duplicate(code, units[code].row, "unit"))
        if r["kind"] not in UnitKind.values:
            p.add(UNITS, line, "kind", f"unknown unit kind {r['kind']!r}: use one of {kinds}")
        if dept and dept not in DepartmentType.values:
            why = f"unknown department type {dept!r}: use one of {depts}, or leave it empty"
            p.add(UNITS, line, "department_type", why)
        if not (r["name_en"] or r["name_zh"]):
            p.add(UNITS, line, "name_en", f"{code}: give a name (name_en, name_zh or both)")
        if not place:
            p.add(UNITS, line, "jurisdiction", "required: the code of the area the unit serves")
        elif place not in j_codes:
            why = f"unknown jurisdiction {place!r}: use the code of a feature in boundaries/"
            p.add(UNITS, line, "jurisdiction", why)
        if len(r["phone"]) > 40:
            p.add(UNITS, line, "phone", "longer than 40 characters: give one duty number")
        if len(p.items) > start:
            continue
        units[code] = UnitSpec(
            code=code,
            kind=r["kind"],
            department_type=dept,
            name_en=r["name_en"] or r["name_zh"],
            name_zh=r["name_zh"] or r["name_en"],
            jurisdiction=place,
            parent=r["parent"] or None,
            aliases=clean_aliases(split_list(r["aliases"])),
            phone=r["phone"],
            row=line,
        )
    what = "use the code of another unit in units.csv, or leave it empty"
    named = {r["code"] for _, r in rows if r["code"]}
    _unknown_parent(UNITS, units, named, what, p)
    return [units[c] for c in parents_first(UNITS, units, p)], named


def read_matters(
    root: Path, level_codes: set[str], p: Problems
) -> tuple[list[MatterSpec], set[str]]:
    """The usable matters, parents first, and every code in the file (usable or not)."""
    from civitas.matters.models import Urgency

    matters: dict[str, MatterSpec] = {}
    rows = list(read_csv(root, MATTERS, MATTER_COLUMNS, ("code", "parent"), p))
    for line, r in rows:
        start = len(p.items)
        code = r["code"]
        if not code or len(code) > 60 or "/" in code:
            p.add(MATTERS, line, "code", f"{code!r}: a matter code is 1-60 characters, no '/'")
        elif code in matters:
            p.add(MATTERS, line, "code", _duplicate(code, matters[code].row, "matter"))
        if not (r["name_en"] or r["name_zh"]):
            p.add(MATTERS, line, "name_en", f"{code}: give a name (name_en, name_zh or both)")
        urgency = r["urgency_default"] or Urgency.NORMAL.value
        if urgency not in Urgency.values:
            use = ", ".join(Urgency.values)
            why = f"unknown urgency {urgency!r}: use {use}, or leave it empty (normal)"
            p.add(MATTERS, line, "urgency_default", why)
        deadlines, errors = parse_deadlines(r["deadlines"])
        for error in errors:
            p.add(MATTERS, line, "deadlines", error)
        responsible, errors = parse_responsible(r["responsible"], level_codes)
        for error in errors:
            p.add(MATTERS, line, "responsible", error)
        if len(p.items) > start:
            continue
        matters[code] = MatterSpec(
            code=code,
            parent=r["parent"] or None,
            name_en=r["name_en"] or r["name_zh"],
            name_zh=r["name_zh"] or r["name_en"],
            keywords=split_list(r["keywords"]),
            urgency_default=urgency,
            deadlines=deadlines,
            responsible=responsible,
            row=line,
        )
    if not rows and (root / MATTERS).is_file():
        why = f"no matters: the catalogue needs at least {MIN_CATALOGUE_DEPTH} levels"
        p.add(MATTERS, None, "", why)
    what = "use the code of another matter in matters.csv, or leave it empty for a category"
    named = {r["code"] for _, r in rows if r["code"]}
    _unknown_parent(MATTERS, matters, named, what, p)
    ordered = [matters[c] for c in parents_first(MATTERS, matters, p)]
    _check_depth(ordered, matters, {r["parent"] for _, r in rows if r["parent"]}, p)
    return ordered, named


def _check_depth(
    ordered: list[MatterSpec], matters: dict[str, MatterSpec], parents: set[str], p: Problems
) -> None:
    """Every leaf lies at least MIN_CATALOGUE_DEPTH levels down."""
    for m in ordered:
        if m.code in parents:
            continue
        depth, node, seen = 1, m, {m.code}
        while node.parent:
            up = matters.get(node.parent)
            if up is None or up.code in seen:
                break  # an unknown, invalid or looping parent: reported already
            node, depth = up, depth + 1
            seen.add(up.code)
        else:
            if depth < MIN_CATALOGUE_DEPTH:
                why = (
                    f"{m.code} is a leaf at level {depth} of the catalogue, which needs at least "
                    f"{MIN_CATALOGUE_DEPTH} levels (category / sub-category / matter): add "
                    "matters under it or place it under a sub-category"
                )
                p.add(MATTERS, m.row, "parent", why)


def read_responsibilities(
    root: Path,
    level_codes: set[str],
    j_codes: set[str],
    unit_codes: set[str],
    matter_codes: set[str],
    p: Problems,
) -> list[ResponsibilitySpec]:
    from civitas.matters.vocabulary import DepartmentType

    name = RESPONSIBILITIES
    depts, levels = ", ".join(DepartmentType.values), ", ".join(sorted(level_codes))
    entries: list[ResponsibilitySpec] = []
    seen: dict[tuple[str, ...], int] = {}
    for line, r in read_csv(root, name, RESPONSIBILITY_COLUMNS, ("matter", "level"), p):
        start = len(p.items)
        if r["matter"] not in matter_codes:
            why = f"unknown matter {r['matter']!r}: use a code from matters.csv"
            p.add(name, line, "matter", why)
        if r["level"] not in level_codes:
            why = f"unknown level {r['level']!r}: use a level of manifest.json ({levels})"
            p.add(name, line, "level", why)
        if r["jurisdiction"] and r["jurisdiction"] not in j_codes:
            why = (
                f"unknown jurisdiction {r['jurisdiction']!r}: use the code of a feature in "
                "boundaries/, or leave it empty for the whole city"
            )
            p.add(name, line, "jurisdiction", why)
        if r["unit_type"] and r["unit_type"] not in DepartmentType.values:
            why = f"unknown department type {r['unit_type']!r}: use one of {depts}"
            p.add(name, line, "unit_type", why)
        if r["unit"] and r["unit"] not in unit_codes:
            p.add(name, line, "unit", f"unknown unit {r['unit']!r}: use a code from units.csv")
        if not (r["unit_type"] or r["unit"]):
            why = "say who is responsible: a department type in unit_type or a unit's code in unit"
            p.add(name, line, "unit_type", why)
        coordinates = parse_bool(r["city_coordinates"])
        if coordinates is None:
            why = f"{r['city_coordinates']!r}: write true or false"
            p.add(name, line, "city_coordinates", why)
        if len(p.items) > start:
            continue
        entry = ResponsibilitySpec(
            matter=r["matter"],
            level=r["level"],
            jurisdiction=r["jurisdiction"] or None,
            unit_type=r["unit_type"],
            unit=r["unit"] or None,
            city_coordinates=bool(coordinates),
            note=r["note"],
            row=line,
        )
        if entry.key in seen:
            why = (
                f"duplicate entry (the same matter, level, jurisdiction, unit_type and unit as "
                f"line {seen[entry.key]}): keep one"
            )
            p.add(name, line, "matter", why)
            continue
        seen[entry.key] = line
        entries.append(entry)
    return entries
