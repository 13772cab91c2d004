"""How participation rows are scoped with the one door (org.access), for staff.

What the public sees (open tasks, consultations, suggestions, active organisations, without
anyone's contacts) is chosen by the public selectors, not by ``readable``. Staff see the rows
of their area or their units; a person always sees their own participant record and takes.

A street office's or a community committee's handler works for one unit, so the scope of
``org.access`` holds no area for them; in participation the area of such a unit (its
jurisdiction's subtree) counts: the community's staff confirm the volunteers living there, the
street's staff see and manage the tasks of its communities. :func:`managing_units` says
through which units a person may manage (``participation.manage``) at a place.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from civitas.org import access
from civitas.org.models import ApiKey, Membership, Unit, UnitKind
from civitas.participation.models import (
    Comment,
    Consultation,
    Organisation,
    Participant,
    Report,
    Suggestion,
    Task,
    TaskTake,
)

# Units that publish tasks and look after the organisations and volunteers of their area.
AREA_UNITS = frozenset(
    {UnitKind.CENTRE, UnitKind.GOVERNMENT, UnitKind.COMMUNITY_COMMITTEE, UnitKind.GRID_TEAM}
)


def _unit_area_paths(scope: access.Scope) -> list[str]:
    if not scope.unit_ids:
        return []
    return list(
        Unit.objects.filter(pk__in=scope.unit_ids, kind__in=AREA_UNITS, active=True).values_list(
            "jurisdiction__path", flat=True
        )
    )


def area_rule(path_field: str, unit_field: str | None = None) -> access.Rule:
    """Inside the actor's area subtrees, or those of their office's or committee's area, or of
    their units."""
    base = access.path_rule(path_field, unit_field=unit_field)

    def rule(scope: access.Scope) -> Q:
        q = base(scope)
        for p in _unit_area_paths(scope):
            q |= Q(**{f"{path_field}__startswith": p})
        return q

    return rule


def _own_or_staff(path_field: str, owner_field: str) -> access.Rule:
    staff = area_rule(path_field)

    def rule(scope: access.Scope) -> Q:
        q = Q(**{owner_field: scope.user_id}) if scope.user_id else Q(pk__in=[])
        if "participation.read" in scope.actions:
            q |= staff(scope)
        return q

    return rule


def managing_units(actor: Any, path: str | None = None) -> list[Unit]:
    """The units (city centres, offices, committees) through which ``actor`` may manage
    participation, whose area covers ``path`` when given. A superuser manages everywhere
    through any such unit; API keys never manage."""
    if actor is None or isinstance(actor, ApiKey) or not getattr(actor, "pk", None):
        return []
    if not access.can(actor, "participation.manage"):
        return []
    scope = access.scope_of(actor)
    if scope.everything:
        units = Unit.objects.filter(kind__in=AREA_UNITS, active=True)
    else:
        ids = Membership.objects.filter(
            user_id=actor.pk,
            active=True,
            role__in=access.PERMISSIONS["participation.manage"],
        ).values_list("unit_id", flat=True)
        units = Unit.objects.filter(pk__in=ids, kind__in=AREA_UNITS, active=True)
    out = list(units.select_related("jurisdiction").order_by("jurisdiction__path", "code"))
    if path is not None:
        out = [u for u in out if path.startswith(u.jurisdiction.path)]
    return out


def may_manage(actor: Any, path: str) -> bool:
    return bool(managing_units(actor, path))


def register() -> None:
    access.register(
        Organisation,
        "participation.read",
        area_rule("jurisdiction_path", unit_field="partner_unit_id"),
    )
    access.register(Participant, None, _own_or_staff("home_path", "user_id"))
    access.register(
        Task, "participation.read", area_rule("jurisdiction_path", unit_field="publisher_id")
    )
    access.register(TaskTake, None, _own_or_staff("task__jurisdiction_path", "user_id"))
    access.register(
        Consultation,
        "participation.read",
        access.path_rule("jurisdiction_path", unit_field="unit_id"),
    )
    access.register(
        Comment,
        "participation.read",
        access.path_rule("consultation__jurisdiction_path", unit_field="consultation__unit_id"),
    )
    access.register(
        Suggestion,
        "participation.read",
        access.path_rule("jurisdiction_path", unit_field="unit_id"),
    )
    access.register(Report, "participation.moderate", access.path_rule("target_path"))
