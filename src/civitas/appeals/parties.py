"""Who the actor is to a case: the centre, the lead unit, a co-handler, the resident...

Derived from the one door (org.access.scope_of) and the case's assignments, so that the
workflow table can say who may take each action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Assignment, Summons
from civitas.org.access import scope_of
from civitas.org.models import ApiKey, Membership, Role, UnitKind

CENTRE_ROLES = frozenset({Role.DISPATCHER, Role.ADMINISTRATOR})
HANDLER_ROLES = frozenset({Role.UNIT_HANDLER, Role.UNIT_LEADER})


@dataclass(frozen=True)
class TrackingToken:
    """A resident who proved knowledge of the case's private tracking token."""

    appeal_id: int

    def audit_label(self) -> str:
        return f"resident-token:{self.appeal_id}"


def _unit_roles(user: Any) -> dict[int, set[str]]:
    cached = getattr(user, "_civitas_unit_roles", None)
    if cached is not None:
        return dict(cached)
    roles: dict[int, set[str]] = {}
    for unit_id, role in Membership.objects.filter(
        user=user, active=True, unit__isnull=False
    ).values_list("unit_id", "role"):
        roles.setdefault(unit_id, set()).add(role)
    user._civitas_unit_roles = roles
    return roles


def case_path(appeal: Appeal) -> str:
    return appeal.jurisdiction_path or f"/{appeal.city}/"


def parties_of(actor: Any, appeal: Appeal) -> frozenset[str]:
    if actor == "system" or actor is None:
        return frozenset({wf.SYSTEM}) if actor == "system" else frozenset()
    if isinstance(actor, TrackingToken):
        return frozenset({wf.RESIDENT}) if actor.appeal_id == appeal.pk else frozenset()
    if isinstance(actor, ApiKey):
        return _key_parties(actor, appeal)
    if not getattr(actor, "is_authenticated", False):
        return frozenset()
    parties: set[str] = set()
    if appeal.resident_id and appeal.resident_id == actor.pk:
        parties.add(wf.RESIDENT)
    scope = scope_of(actor)
    covers = scope.covers_path(case_path(appeal))
    if covers and (scope.everything or scope.roles & CENTRE_ROLES):
        parties.add(wf.CENTRE)
    if covers and Role.HOTLINE_OPERATOR in scope.roles:
        parties.add(wf.OPERATOR)
    unit_roles = _unit_roles(actor)
    if appeal.lead_unit_id in unit_roles:
        roles = unit_roles[appeal.lead_unit_id]
        if roles & HANDLER_ROLES:
            parties.add(wf.LEAD)
        if Role.UNIT_LEADER in roles:
            parties.add(wf.LEADER)
    co_units = set(
        Assignment.objects.filter(
            appeal=appeal,
            role=Assignment.Role.CO,
            state__in=[Assignment.State.DISPATCHED, Assignment.State.ACCEPTED],
        ).values_list("unit_id", flat=True)
    )
    if any(unit_roles.get(u, set()) & HANDLER_ROLES for u in co_units):
        parties.add(wf.CO)
    summoned = set(Summons.objects.filter(appeal=appeal).values_list("unit_id", flat=True))
    if any(unit_roles.get(u, set()) & HANDLER_ROLES for u in summoned):
        parties.add(wf.SUMMONED)
    return frozenset(parties)


def may_see_contact(actor: Any, appeal: Appeal) -> bool:
    """The appellant's name and phone: the centre and operators in scope, and the lead unit's
    handlers (who must call back). Co-handlers and summoned departments see the case only."""
    parties = parties_of(actor, appeal)
    return bool(parties & {wf.CENTRE, wf.OPERATOR, wf.LEAD, wf.RESIDENT})


def _key_parties(key: ApiKey, appeal: Appeal) -> frozenset[str]:
    """A machine client with the appeals:handle scope acts for its unit: the lead, a
    co-handler or a summoned department of the case, or the centre when the unit is a
    service centre whose area covers the case. The app (appeals:submit) that submitted a
    case may comment on it for its resident."""
    scope = scope_of(key)
    parties: set[str] = set()
    if "appeals.submit" in scope.actions and appeal.submitted_by == key.audit_label():
        parties.add(wf.APP)  # the app that brought the case in speaks for its resident
    if "appeals.handle" not in scope.actions or key.unit_id is None:
        return frozenset(parties)
    if key.unit_id == appeal.lead_unit_id:
        parties.add(wf.LEAD)
    if Assignment.objects.filter(
        appeal=appeal,
        unit_id=key.unit_id,
        role=Assignment.Role.CO,
        state__in=[Assignment.State.DISPATCHED, Assignment.State.ACCEPTED],
    ).exists():
        parties.add(wf.CO)
    if Summons.objects.filter(appeal=appeal, unit_id=key.unit_id).exists():
        parties.add(wf.SUMMONED)
    centre = key.unit is not None and key.unit.kind == UnitKind.CENTRE
    if centre and scope.covers_path(case_path(appeal)):
        parties.add(wf.CENTRE)
    return frozenset(parties)
