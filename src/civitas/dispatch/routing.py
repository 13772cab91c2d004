"""Where an appeal goes: the lead unit from the responsibility list and the location.

The entries of the matter and of its ancestors in the catalogue are considered, the most
specific first: the deepest matter, then an entry restricted to a jurisdiction containing the
case, then the lowest level the case's location reaches (a street entry needs a case located
to a street or below). An entry reserved to the city (``city_coordinates``), a text naming
places in more than one district, or a case that cannot be placed goes to the city centre.
"""

from __future__ import annotations

from dataclasses import dataclass

from civitas.appeals.models import Appeal
from civitas.geo.gazetteer import gazetteer
from civitas.geo.models import Jurisdiction, Level
from civitas.org.models import ResponsibilityRule, Unit, UnitKind


@dataclass(frozen=True)
class Decision:
    unit: Unit | None  # None: the centre must decide (triage queue)
    reason: str
    rule_id: int | None = None
    confidence: float | None = None  # a learned router's probability; None for the list


def centre_of(city: str, jurisdiction: Jurisdiction | None = None) -> Unit | None:
    """The service centre for a place: the nearest centre up the tree, else the city's."""
    paths = []
    if jurisdiction is not None:
        codes = jurisdiction.path.strip("/").split("/")
        paths = ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]
    centres = {
        u.jurisdiction.path: u
        for u in Unit.objects.filter(city=city, kind=UnitKind.CENTRE, active=True).select_related(
            "jurisdiction"
        )
    }
    for path in reversed(paths):
        if path in centres:
            return centres[path]
    return centres.get(f"/{city}/")


def _districts_named(appeal: Appeal) -> set[str]:
    rank = Level.objects.filter(rank=1, overlay=False).values_list("code", flat=True)
    mentions = gazetteer().find(f"{appeal.title} {appeal.text}")
    return {m.code for m in mentions if m.level in set(rank) and m.confidence >= 0.85}


def _unit_for(rule: ResponsibilityRule, appeal: Appeal) -> Unit | None:
    if rule.unit is not None:
        return rule.unit if rule.unit.active else None
    assert appeal.jurisdiction is not None
    codes = appeal.jurisdiction.path.strip("/").split("/")
    anchors = Jurisdiction.objects.filter(code__in=codes).select_related("level")
    at_level = [j for j in anchors if j.level_id == rule.level_id]
    if not at_level:
        return None
    return (
        Unit.objects.filter(jurisdiction=at_level[0], department_type=rule.unit_type, active=True)
        .order_by("kind", "code")
        .first()
    )


def applicable(
    rules: list[ResponsibilityRule], case_rank: int, case_path: str
) -> list[ResponsibilityRule]:
    """The entries that may apply to a case at this place, the most specific first: the
    deepest matter, then an entry restricted to a jurisdiction containing the case, then the
    lowest level the case reaches."""
    usable = [
        r
        for r in rules
        if r.level.rank <= case_rank
        and (r.jurisdiction is None or case_path.startswith(r.jurisdiction.path))
    ]
    return sorted(
        usable,
        key=lambda r: (
            -r.matter.depth,
            -(r.jurisdiction.depth if r.jurisdiction else -1),
            -r.level.rank,
        ),
    )


def route(appeal: Appeal) -> Decision:
    if appeal.matter_id is None:
        return Decision(None, "no matter: the centre classifies it")
    if appeal.jurisdiction_id is None:
        return Decision(None, "not located: the centre places it")
    if len(_districts_named(appeal)) > 1:
        return Decision(None, "names places in more than one district: the city coordinates")
    matter_codes = appeal.matter.path.strip("/").split("/")  # type: ignore[union-attr]
    rules = list(
        ResponsibilityRule.objects.filter(
            city=appeal.city, active=True, matter__code__in=matter_codes
        ).select_related("matter", "level", "jurisdiction", "unit")
    )
    if any(r.city_coordinates for r in rules):
        return Decision(None, "reserved to the city centre by the responsibility list")
    case_path = appeal.jurisdiction.path  # type: ignore[union-attr]
    case_rank = appeal.jurisdiction.level.rank  # type: ignore[union-attr]
    for rule in applicable(rules, case_rank, case_path):
        unit = _unit_for(rule, appeal)
        if unit is not None:
            return Decision(
                unit,
                f"responsibility list entry {rule.pk} (v{rule.version}): "
                f"{rule.matter.code} at {rule.level.code}",
                rule.pk,
            )
    return Decision(None, "no responsible unit found for this matter and place")
