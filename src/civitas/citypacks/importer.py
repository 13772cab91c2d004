"""Importing a city pack: all or nothing, idempotent, through the domain services.

The whole pack is read and checked first (``read_pack``); then every write happens inside one
``transaction.atomic()``, parents before children. Objects that already hold what the pack
says are not touched, so a second import of the same pack changes nothing and leaves no
per-object audit entries; one ``citypack.import`` entry records each import.

The pack describes the whole city: units, matters and responsibility entries of the city that
the pack no longer lists are deactivated (never deleted). Jurisdictions cannot be deactivated;
those absent from the pack are kept and reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from civitas.citypacks.pack import Pack, read_pack
from civitas.geo import services as geo_services
from civitas.geo.locate import index
from civitas.geo.models import Jurisdiction, Level
from civitas.kit import audit
from civitas.matters import services as matter_services
from civitas.matters.models import Matter
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRule, Unit

KINDS = ("level", "jurisdiction", "unit", "matter", "responsibility")
PLURAL = {
    "level": "levels",
    "jurisdiction": "jurisdictions",
    "unit": "units",
    "matter": "matters",
    "responsibility": "responsibilities",
}
ProgressFn = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    city: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    deactivated: Counter[str] = field(default_factory=Counter)
    kept: list[str] = field(default_factory=list)  # jurisdictions in the database, not the pack

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_changed(self) -> int:
        return sum(self.updated.values()) + sum(self.deactivated.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "created": {k: self.created[k] for k in KINDS},
            "updated": {k: self.updated[k] for k in KINDS},
            "unchanged": {k: self.unchanged[k] for k in KINDS},
            "deactivated": {k: self.deactivated[k] for k in KINDS if self.deactivated[k]},
            "kept": self.kept,
        }

    def summary(self) -> str:
        def line(label: str, counts: Counter[str]) -> str:
            parts = [
                f"{counts[k]} {PLURAL[k] if counts[k] != 1 else k}" for k in KINDS if counts[k]
            ]
            return f"{label}: {', '.join(parts) if parts else 'nothing'}"

        lines = [
            f"city {self.city}",
            line("created", self.created),
            line("updated", self.updated),
            line("unchanged", self.unchanged),
        ]
        if sum(self.deactivated.values()):
            lines.append(line("deactivated (no longer in the pack)", self.deactivated))
        if self.kept:
            shown = ", ".join(self.kept[:10]) + (" ..." if len(self.kept) > 10 else "")
            lines.append(
                f"kept {len(self.kept)} jurisdictions that the pack does not list: {shown}"
            )
        return "\n".join(lines)


class _Step:
    """Progress for one stage, reported every few percent."""

    def __init__(self, progress: ProgressFn | None, stage: str, total: int) -> None:
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        self.every = max(1, total // 50)

    def tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % self.every == 0 or self.done == self.total):
            self.progress(self.stage, self.done, self.total)


def import_pack(
    path_or_pack: str | Path | Pack,
    *,
    actor: Any,
    progress: ProgressFn | None = None,
    reason: str = "",
) -> ImportReport:
    """Check the whole pack, then write it in one transaction. Raises PackInvalid."""
    if isinstance(path_or_pack, Pack):
        pack = path_or_pack
    else:
        pack = read_pack(path_or_pack, progress=progress)
    reason = reason or f"city pack import: {pack.city}"
    report = ImportReport(city=pack.city)
    with transaction.atomic():
        levels = _levels(pack, actor, reason, report)
        places = _jurisdictions(pack, levels, actor, reason, report, progress)
        units = _units(pack, places, actor, reason, report, progress)
        matters = _matters(pack, actor, reason, report, progress)
        _responsibilities(pack, levels, places, units, matters, actor, reason, report, progress)
        audit.record(
            actor=actor,
            action="citypack.import",
            object_type="citypacks.city",
            object_id=pack.city,
            reason=reason,
            extra={
                "manifest": pack.manifest(),
                "pack": str(pack.path) if pack.path else None,
                **report.as_dict(),
            },
        )
        transaction.on_commit(index.invalidate)
    index.invalidate()
    return report


def _levels(pack: Pack, actor: Any, reason: str, report: ImportReport) -> dict[str, Level]:
    existing = {lv.code: lv for lv in Level.objects.filter(code__in=[x.code for x in pack.levels])}
    result: dict[str, Level] = {}
    for spec in pack.levels:
        old = existing.get(spec.code)
        want = {
            "rank": spec.rank,
            "name_en": spec.name_en,
            "name_zh": spec.name_zh,
            "overlay": spec.overlay,
        }
        before = (
            {
                "rank": old.rank,
                "name_en": old.name_en,
                "name_zh": old.name_zh,
                "overlay": old.overlay,
            }
            if old
            else None
        )
        if old is not None and before == want:
            result[spec.code] = old
            report.unchanged["level"] += 1
            continue
        result[spec.code] = geo_services.save_level(
            code=spec.code,
            rank=spec.rank,
            name_en=spec.name_en,
            name_zh=spec.name_zh,
            overlay=spec.overlay,
        )
        (report.created if old is None else report.updated)["level"] += 1
        audit.record(
            actor=actor,
            action="level.create" if old is None else "level.update",
            object_type="geo.level",
            object_id=spec.code,
            before=before,
            after=want,
            reason=reason,
        )
    return result


def _jurisdictions(
    pack: Pack,
    levels: dict[str, Level],
    actor: Any,
    reason: str,
    report: ImportReport,
    progress: ProgressFn | None,
) -> dict[str, Jurisdiction]:
    codes = [s.code for s in pack.jurisdictions]
    existing = {j.code: j for j in Jurisdiction.objects.filter(code__in=codes)}
    saved: dict[str, Jurisdiction] = {}
    step = _Step(progress, "jurisdictions", len(codes))
    for spec in pack.jurisdictions:  # parents first
        old = existing.get(spec.code)
        level = levels[spec.level]
        parent = saved[spec.parent] if spec.parent else None
        if old is not None and (
            old.level_id == level.pk
            and old.parent_id == (parent.pk if parent else None)
            and (old.name_en, old.name_zh) == (spec.name_en, spec.name_zh)
            and old.aliases == spec.aliases
            and old.boundary == spec.boundary
        ):
            saved[spec.code] = old
            report.unchanged["jurisdiction"] += 1
            step.tick()
            continue
        saved[spec.code] = geo_services.save_jurisdiction(
            actor=actor,
            code=spec.code,
            level=level,
            parent=parent,
            name_en=spec.name_en,
            name_zh=spec.name_zh,
            aliases=spec.aliases,
            boundary=spec.boundary,
            reason=reason,
            existing=old,
        )
        (report.created if old is None else report.updated)["jurisdiction"] += 1
        step.tick()
    report.kept = list(
        Jurisdiction.objects.filter(path__startswith=f"/{pack.city}/")
        .exclude(code__in=codes)
        .order_by("path")
        .values_list("code", flat=True)
    )
    return saved


def _units(
    pack: Pack,
    places: dict[str, Jurisdiction],
    actor: Any,
    reason: str,
    report: ImportReport,
    progress: ProgressFn | None,
) -> dict[str, Unit]:
    existing = {
        u.code: u
        for u in Unit.objects.filter(city=pack.city).select_related("jurisdiction", "parent")
    }
    others = [u.code for u in pack.units if u.code not in existing]
    existing.update(
        {u.code: u for u in Unit.objects.filter(code__in=others).select_related("jurisdiction")}
    )
    saved: dict[str, Unit] = {}
    step = _Step(progress, "units", len(pack.units))
    for spec in pack.units:  # parents first
        old = existing.get(spec.code)
        parent = saved[spec.parent] if spec.parent else None
        place = places[spec.jurisdiction]
        if old is not None and (
            old.kind == spec.kind
            and old.department_type == spec.department_type
            and (old.name_en, old.name_zh) == (spec.name_en, spec.name_zh)
            and old.jurisdiction_id == place.pk
            and old.parent_id == (parent.pk if parent else None)
            and old.aliases == spec.aliases
            and old.phone == spec.phone
            and old.active
        ):
            saved[spec.code] = old
            report.unchanged["unit"] += 1
            step.tick()
            continue
        saved[spec.code] = org_services.save_unit(
            actor=actor,
            code=spec.code,
            kind=spec.kind,
            department_type=spec.department_type,
            name_en=spec.name_en,
            name_zh=spec.name_zh,
            jurisdiction=place,
            parent=parent,
            aliases=spec.aliases,
            phone=spec.phone,
            active=True,
            reason=reason,
        )
        (report.created if old is None else report.updated)["unit"] += 1
        step.tick()
    for code, old in existing.items():
        if code not in saved and old.active and old.city == pack.city:
            saved_parent = saved.get(old.parent.code) if old.parent else None
            org_services.save_unit(
                actor=actor,
                code=code,
                kind=old.kind,
                department_type=old.department_type,
                name_en=old.name_en,
                name_zh=old.name_zh,
                jurisdiction=old.jurisdiction,
                parent=saved_parent or old.parent,
                aliases=old.aliases,
                phone=old.phone,
                active=False,
                reason=reason,
            )
            report.deactivated["unit"] += 1
    return saved


def _matters(
    pack: Pack, actor: Any, reason: str, report: ImportReport, progress: ProgressFn | None
) -> dict[str, Matter]:
    existing = {m.code: m for m in Matter.objects.filter(catalogue=pack.city)}
    others = [m.code for m in pack.matters if m.code not in existing]
    existing.update({m.code: m for m in Matter.objects.filter(code__in=others)})
    by_pk = {m.pk: m for m in existing.values()}
    saved: dict[str, Matter] = {}
    step = _Step(progress, "matters", len(pack.matters))
    for spec in pack.matters:  # parents first
        old = existing.get(spec.code)
        parent = saved[spec.parent] if spec.parent else None
        if old is not None and (
            old.catalogue == pack.city
            and old.parent_id == (parent.pk if parent else None)
            and (old.name_en, old.name_zh) == (spec.name_en, spec.name_zh)
            and old.keywords == spec.keywords
            and old.urgency_default == spec.urgency_default
            and old.deadlines == spec.deadlines
            and old.responsible == spec.responsible
            and old.active
        ):
            saved[spec.code] = old
            report.unchanged["matter"] += 1
            step.tick()
            continue
        saved[spec.code] = matter_services.save_matter(
            actor=actor,
            catalogue=pack.city,
            code=spec.code,
            parent=parent,
            name_en=spec.name_en,
            name_zh=spec.name_zh,
            keywords=spec.keywords,
            urgency_default=spec.urgency_default,
            deadlines=spec.deadlines,
            responsible=spec.responsible,
            active=True,
            reason=reason,
        )
        (report.created if old is None else report.updated)["matter"] += 1
        step.tick()
    # Deactivate what the pack no longer lists, children before parents.
    gone = [m for code, m in existing.items() if code not in saved and m.active]
    for old in sorted(gone, key=lambda m: -m.depth):
        parent_row = by_pk.get(old.parent_id) if old.parent_id else None
        parent = saved.get(parent_row.code, parent_row) if parent_row else None
        if old.parent_id and parent is None:
            parent = Matter.objects.get(pk=old.parent_id)
        matter_services.save_matter(
            actor=actor,
            catalogue=old.catalogue,
            code=old.code,
            parent=parent,
            name_en=old.name_en,
            name_zh=old.name_zh,
            keywords=old.keywords,
            urgency_default=old.urgency_default,
            deadlines=old.deadlines,
            responsible=old.responsible,
            active=False,
            reason=reason,
        )
        report.deactivated["matter"] += 1
    return saved


def _responsibilities(
    pack: Pack,
    levels: dict[str, Level],
    places: dict[str, Jurisdiction],
    units: dict[str, Unit],
    matters: dict[str, Matter],
    actor: Any,
    reason: str,
    report: ImportReport,
    progress: ProgressFn | None,
) -> None:
    existing: dict[tuple[str, str, str, str, str], ResponsibilityRule] = {}
    spare: list[ResponsibilityRule] = []
    rules = ResponsibilityRule.objects.filter(city=pack.city).select_related(
        "matter", "level", "jurisdiction", "unit"
    )
    for found in rules.order_by("-active", "pk"):
        key = (
            found.matter.code,
            found.level.code,
            found.jurisdiction.code if found.jurisdiction else "",
            found.unit_type,
            found.unit.code if found.unit else "",
        )
        if key in existing:
            spare.append(found)
        else:
            existing[key] = found
    step = _Step(progress, "responsibilities", len(pack.responsibilities))
    used: set[int] = set()
    for spec in pack.responsibilities:
        rule = existing.get(spec.key)
        if rule is not None:
            used.add(rule.pk)
            if (rule.city_coordinates, rule.note, rule.active) == (
                spec.city_coordinates,
                spec.note,
                True,
            ):
                report.unchanged["responsibility"] += 1
                step.tick()
                continue
        org_services.save_responsibility(
            actor=actor,
            reason=reason,
            city=pack.city,
            matter=matters[spec.matter],
            level=levels[spec.level],
            jurisdiction=places[spec.jurisdiction] if spec.jurisdiction else None,
            unit_type=spec.unit_type,
            unit=units[spec.unit] if spec.unit else None,
            city_coordinates=spec.city_coordinates,
            note=spec.note,
            active=True,
            rule=rule,
        )
        (report.created if rule is None else report.updated)["responsibility"] += 1
        step.tick()
    for rule in [*existing.values(), *spare]:
        if rule.pk in used or not rule.active:
            continue
        org_services.save_responsibility(
            actor=actor,
            reason=reason,
            city=rule.city,
            matter=rule.matter,
            level=rule.level,
            jurisdiction=rule.jurisdiction,
            unit_type=rule.unit_type,
            unit=rule.unit,
            city_coordinates=rule.city_coordinates,
            note=rule.note,
            active=False,
            rule=rule,
        )
        report.deactivated["responsibility"] += 1
