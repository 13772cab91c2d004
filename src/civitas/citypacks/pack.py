"""A city pack as read from its folder (the format of docs/CITYPACKS.md), and its problems.

``read_pack(path)`` parses every file and checks everything it can: structure, codes, the
jurisdiction tree, geometry, vocabularies, cross references and clashes with the other cities
already installed. It returns a :class:`Pack` or raises :class:`PackInvalid` carrying *all*
the problems found, each with its file, row and field. Nothing here writes to the database.
The readers live beside this module: ``manifest``, ``boundaries``, ``geometry``, ``tables``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civitas.kit.errors import InvalidInput

FORMAT = "civitas-citypack/1"
MANIFEST = "manifest.json"
BOUNDARIES = "boundaries"
UNITS = "units.csv"
MATTERS = "matters.csv"
RESPONSIBILITIES = "responsibilities.csv"

UNIT_COLUMNS = (
    "code", "kind", "department_type", "name_en", "name_zh", "jurisdiction", "parent",
    "aliases", "phone",
)  # fmt: skip
MATTER_COLUMNS = (
    "code", "parent", "name_en", "name_zh", "keywords", "urgency_default", "deadlines",
    "responsible",
)  # fmt: skip
RESPONSIBILITY_COLUMNS = (
    "matter", "level", "jurisdiction", "unit_type", "unit", "city_coordinates", "note",
)  # fmt: skip

ProgressFn = Callable[[str, int, int], None]


# -- problems -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack: where (file, row, field) and what to do about it.

    ``row`` is the CSV line number (the header is line 1) or the feature number in a GeoJSON
    file (the first feature is 1); None when the problem concerns a whole file.
    """

    file: str
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}:{self.row}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class PackInvalid(InvalidInput):
    code = "citypack_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(
            f"the city pack has {n} problem{'s' if n != 1 else ''}; nothing was imported",
            details=[p.as_dict() for p in self.problems],
        )


class Problems:
    """Collects problems while a pack is read."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, file: str, row: int | None, field: str, message: str) -> None:
        self.items.append(Problem(file, row, field, message))

    def __bool__(self) -> bool:
        return bool(self.items)


# -- the parsed pack ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    containment: float = 0.02
    gap: float = 0.01
    overlap: float = 0.01

    def as_dict(self) -> dict[str, float]:
        return {"containment": self.containment, "gap": self.gap, "overlap": self.overlap}


@dataclass(frozen=True)
class LevelSpec:
    code: str
    rank: int
    name_en: str
    name_zh: str
    overlay: bool = False

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "rank": self.rank}
        body.update(name_en=self.name_en, name_zh=self.name_zh)
        if self.overlay:
            body["overlay"] = True
        return body


@dataclass
class JurisdictionSpec:
    code: str
    level: str
    parent: str | None
    name_en: str
    name_zh: str
    aliases: list[str]
    boundary: dict[str, Any] | None
    file: str
    row: int


@dataclass
class UnitSpec:
    code: str
    kind: str
    department_type: str
    name_en: str
    name_zh: str
    jurisdiction: str
    parent: str | None
    aliases: list[str]
    phone: str
    row: int


@dataclass
class MatterSpec:
    code: str
    parent: str | None
    name_en: str
    name_zh: str
    keywords: list[str]
    urgency_default: str
    deadlines: dict[str, dict[str, str]]
    responsible: dict[str, str]
    row: int


@dataclass
class ResponsibilitySpec:
    matter: str
    level: str
    jurisdiction: str | None
    unit_type: str
    unit: str | None
    city_coordinates: bool
    note: str
    row: int

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What identifies an entry: the same key in a later import updates it."""
        return (self.matter, self.level, self.jurisdiction or "", self.unit_type, self.unit or "")


@dataclass
class Pack:
    """A checked pack. Names are completed (English from Chinese and back), aliases sorted,
    durations normalised, and every list is ordered parents before children."""

    city: str
    name_en: str
    name_zh: str
    levels: list[LevelSpec]
    tolerance: Tolerance = field(default_factory=Tolerance)
    source: str = ""
    jurisdictions: list[JurisdictionSpec] = field(default_factory=list)
    units: list[UnitSpec] = field(default_factory=list)
    matters: list[MatterSpec] = field(default_factory=list)
    responsibilities: list[ResponsibilitySpec] = field(default_factory=list)
    path: Path | None = None

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "city": self.city,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "levels": [lv.as_dict() for lv in self.levels],
            "tolerance": self.tolerance.as_dict(),
            "source": self.source,
        }


# -- reading --------------------------------------------------------------------------------


def read_pack(
    path: str | Path, *, check_database: bool = True, progress: ProgressFn | None = None
) -> Pack:
    """Parse and check the whole pack; raise PackInvalid listing every problem found.

    ``check_database`` (default on) also refuses codes that belong to another installed city.
    """
    from civitas.citypacks import boundaries, geometry, manifest, tables

    root = Path(path)
    p = Problems()
    if not root.is_dir():
        why = "not a folder: give the path of a city pack folder (the one holding manifest.json)"
        raise PackInvalid([Problem(str(root), None, "", why)])
    head = manifest.read_manifest(root, p)
    if head is None:
        raise PackInvalid(p.items)
    levels = {lv.code: lv for lv in head.levels}
    found = boundaries.read_boundaries(root, head.levels, p)
    j_codes = found.named
    if progress:
        progress("read boundaries", len(found.specs), len(found.specs))
    ordered = boundaries.check_tree(head.city, head.levels, found.specs, j_codes, p)
    geometry.check_geometry(
        ordered,
        found.geoms,
        levels,
        head.tolerance,
        p,
        skip_gaps=found.incomplete,
        progress=progress,
    )
    units, unit_codes = tables.read_units(root, j_codes, p)
    matters, matter_codes = tables.read_matters(root, set(levels), p)
    responsibilities = tables.read_responsibilities(
        root, set(levels), j_codes, unit_codes, matter_codes, p
    )
    pack = Pack(
        city=head.city,
        name_en=head.name_en,
        name_zh=head.name_zh,
        levels=head.levels,
        tolerance=head.tolerance,
        source=head.source,
        jurisdictions=ordered,
        units=units,
        matters=matters,
        responsibilities=responsibilities,
        path=root,
    )
    if check_database and head.city:
        _check_database(pack, p)
    if p:
        raise PackInvalid(p.items)
    return pack


def _owner_clash(kind: str, code: str, owner: str, city: str) -> str:
    return (
        f"{code!r} is already a {kind} of the city {owner!r}: codes are unique across cities; "
        f"prefix it with {city!r}"
    )


def _check_database(pack: Pack, p: Problems) -> None:
    """Clashes with what other cities already hold: codes are unique across an installation."""
    from civitas.geo.models import Jurisdiction, Level
    from civitas.matters.models import Matter
    from civitas.org.models import Unit

    city = pack.city
    features = {j.code: j for j in pack.jurisdictions}
    rows = Jurisdiction.objects.filter(code__in=list(features)).values_list("code", "path")
    for code, path in rows:
        owner = path.strip("/").split("/")[0]
        if owner != city:
            s = features[code]
            p.add(s.file, s.row, "code", _owner_clash("jurisdiction", code, owner, city))
    units = {u.code: u for u in pack.units}
    for code, owner in Unit.objects.filter(code__in=list(units)).values_list("code", "city"):
        if owner != city:
            p.add(UNITS, units[code].row, "code", _owner_clash("unit", code, owner, city))
    matters = {m.code: m for m in pack.matters}
    matter_rows = Matter.objects.filter(code__in=list(matters)).values_list("code", "catalogue")
    for code, owner in matter_rows:
        if owner != city:
            p.add(MATTERS, matters[code].row, "code", _owner_clash("matter", code, owner, city))
    levels = {lv.code: (i, lv) for i, lv in enumerate(pack.levels)}
    for existing in Level.objects.filter(code__in=list(levels)):
        i, lv = levels[existing.code]
        if (existing.rank, existing.overlay) == (lv.rank, lv.overlay):
            continue
        used = (
            Jurisdiction.objects.filter(level=existing)
            .exclude(path__startswith=f"/{city}/")
            .values_list("path", flat=True)
            .first()
        )
        if used:
            owner = used.strip("/").split("/")[0]
            kind = f"rank {existing.rank}" + (" (overlay)" if existing.overlay else "")
            why = (
                f"the level {lv.code!r} is installed with {kind} and used by the city "
                f"{owner!r}: give it the same rank and overlay, or use another level code"
            )
            p.add(MANIFEST, None, f"levels[{i}]", why)
