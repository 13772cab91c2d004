"""The one door: what a person or an API key may see and do.

Every selector narrows its queryset with ``readable(actor, queryset)``; every service asks
``require(actor, action, ...)`` before a write. Nobody filters by membership inline.

A scope is a set of jurisdiction subtrees (``paths``), a set of units whose work the actor
handles (``unit_ids``), and the actor's own user id. The city centre's scope is the city's
whole tree; a district centre's is the district's subtree; a handler's is their unit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden
from civitas.org.models import (
    ApiKey,
    Membership,
    ResponsibilityRule,
    Role,
    Unit,
    UnitKind,
    User,
)

M = TypeVar("M", bound=Model)

# Roles whose scope is the whole subtree of their unit's jurisdiction when the unit is a
# centre or a government office; in any other unit they see that unit (and its children).
AREA_ROLES = frozenset(
    {
        Role.DISPATCHER,
        Role.HOTLINE_OPERATOR,
        Role.ANALYST,
        Role.ADMINISTRATOR,
        Role.AUDITOR,
        Role.UNIT_LEADER,
    }
)
AREA_UNIT_KINDS = frozenset({UnitKind.CENTRE, UnitKind.GOVERNMENT, UnitKind.GRID_TEAM})
STAFF_ROLES = frozenset(Role.values) - {Role.RESIDENT}

# action -> roles allowed to perform it (within their scope)
PERMISSIONS: dict[str, frozenset[str]] = {
    "reference.read": frozenset(Role.values),
    "units.read": STAFF_ROLES,
    "people.read": STAFF_ROLES,
    "responsibility.read": STAFF_ROLES,
    "responsibility.edit": frozenset({Role.ADMINISTRATOR}),
    "reference.edit": frozenset({Role.ADMINISTRATOR}),
    "audit.read": frozenset({Role.AUDITOR, Role.ADMINISTRATOR}),
    "apikey.manage": frozenset({Role.ADMINISTRATOR}),
    "records.hold": frozenset({Role.ADMINISTRATOR}),  # legal hold against retention
    "appeals.read": STAFF_ROLES,
    "appeals.enter": frozenset({Role.HOTLINE_OPERATOR, Role.GRID_WORKER, Role.DISPATCHER}),
    "appeals.dispatch": frozenset({Role.DISPATCHER, Role.ADMINISTRATOR}),
    "models.read": frozenset({Role.ANALYST, Role.DISPATCHER, Role.ADMINISTRATOR, Role.AUDITOR}),
    "models.manage": frozenset({Role.ADMINISTRATOR}),
    "assessment.read": frozenset(
        {Role.ANALYST, Role.DISPATCHER, Role.ADMINISTRATOR, Role.UNIT_LEADER, Role.AUDITOR}
    ),
    # Alerts, the risk register, the command centre, judgment reports, stability assessments.
    "risk.read": frozenset(
        {Role.ANALYST, Role.DISPATCHER, Role.ADMINISTRATOR, Role.UNIT_LEADER, Role.AUDITOR}
    ),
    # Handle alerts, open and manage risks, write stability assessments.
    "risk.manage": frozenset({Role.ANALYST, Role.DISPATCHER, Role.ADMINISTRATOR, Role.UNIT_LEADER}),
    # The data-sharing hub: the catalogue; defining and loading datasets; deciding grants;
    # asking for them; reading through them (the unit's grants: civitas.hub.rights).
    "hub.browse": STAFF_ROLES,
    "hub.manage": frozenset({Role.DATA_STEWARD, Role.ADMINISTRATOR}),
    "hub.decide": frozenset({Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.UNIT_LEADER}),
    "hub.request": frozenset(
        {Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.UNIT_LEADER, Role.ANALYST}
    ),
    "hub.use": frozenset(
        {
            Role.DATA_STEWARD,
            Role.ADMINISTRATOR,
            Role.UNIT_LEADER,
            Role.ANALYST,
            Role.UNIT_HANDLER,
            Role.DISPATCHER,
            Role.GRID_WORKER,
        }
    ),
    # Disputes (civitas.mediation): see, register (at a mediation body, from an appeal, by a
    # grid worker), mediate (accept, sessions, agreements, follow-ups, moves), figures.
    "disputes.read": frozenset(
        {
            Role.MEDIATOR,
            Role.GRID_WORKER,
            Role.DISPATCHER,
            Role.HOTLINE_OPERATOR,
            Role.UNIT_LEADER,
            Role.UNIT_HANDLER,
            Role.ANALYST,
            Role.ADMINISTRATOR,
            Role.AUDITOR,
        }
    ),
    "disputes.register": frozenset(
        {
            Role.MEDIATOR,
            Role.GRID_WORKER,
            Role.DISPATCHER,
            Role.HOTLINE_OPERATOR,
            Role.UNIT_HANDLER,
            Role.UNIT_LEADER,
        }
    ),
    "disputes.mediate": frozenset({Role.MEDIATOR, Role.UNIT_LEADER, Role.DISPATCHER}),
    "disputes.figures": frozenset(
        {Role.ANALYST, Role.UNIT_LEADER, Role.DISPATCHER, Role.ADMINISTRATOR, Role.AUDITOR}
    ),
    # Participation (civitas.participation): the staff side of organisations, volunteers,
    # tasks, consultations and suggestions; managing them; moderating public text.
    "participation.read": STAFF_ROLES,
    "participation.manage": frozenset(
        {Role.UNIT_LEADER, Role.UNIT_HANDLER, Role.DISPATCHER, Role.ADMINISTRATOR}
    ),
    "participation.moderate": frozenset({Role.UNIT_LEADER, Role.DISPATCHER, Role.ADMINISTRATOR}),
}

API_KEY_SCOPES = {
    "reference:read": {"reference.read"},
    "units:read": {"units.read", "responsibility.read"},
    "people:read": {"people.read"},
    "audit:read": {"audit.read"},
    "appeals:submit": {"appeals.submit"},
    "appeals:read": {"appeals.read"},
    "appeals:handle": {"appeals.read", "appeals.handle"},
    "assessment:read": {"assessment.read"},
    "risk:read": {"risk.read"},
    # A consumer unit's key reads through the unit's grants; an owner's key pushes records.
    "hub:read": {"hub.browse", "hub.use"},
    "hub:write": {"hub.browse", "hub.manage"},
    "disputes:read": {"disputes.read"},
    "disputes:register": {"disputes.read", "disputes.register"},
    "disputes:figures": {"disputes.figures"},
    "participation:read": {"participation.read"},
}


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    paths: tuple[str, ...] = ()
    unit_ids: frozenset[int] = frozenset()
    user_id: int | None = None
    roles: frozenset[str] = frozenset()
    actions: frozenset[str] = field(default_factory=frozenset)

    def covers_path(self, path: str) -> bool:
        return self.everything or any(path.startswith(p) for p in self.paths)


NOBODY = Scope()


def _scope_for_unit(unit: Unit, role: str) -> tuple[list[str], set[int]]:
    if role in AREA_ROLES and unit.kind in AREA_UNIT_KINDS:
        return [unit.jurisdiction.path], set()
    ids = {unit.pk}
    if role == Role.UNIT_LEADER:
        ids |= set(Unit.objects.filter(parent=unit).values_list("pk", flat=True))
    return [], ids


def _minimal_paths(paths: list[str]) -> tuple[str, ...]:
    """Drop subtrees already covered by a broader path."""
    kept: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(sorted(kept))


def scope_of(actor: Any) -> Scope:
    """Compute the actor's scope. Cached on the actor object for the request."""
    cached = getattr(actor, "_civitas_scope", None)
    if isinstance(cached, Scope):
        return cached
    scope = _compute_scope(actor)
    if actor is not None and not isinstance(actor, AnonymousUser):
        actor._civitas_scope = scope
    return scope


def _compute_scope(actor: Any) -> Scope:
    if actor is None or isinstance(actor, AnonymousUser) or not getattr(actor, "pk", None):
        return NOBODY
    if isinstance(actor, ApiKey):
        if not is_key_usable(actor):
            return NOBODY
        actions = frozenset().union(*(API_KEY_SCOPES.get(s, set()) for s in actor.scopes))
        if actor.unit_id is None:
            # A key that acts for no unit may read public reference data and submit
            # appeals (a city app), nothing scoped.
            return Scope(actions=actions & {"reference.read", "appeals.submit"})
        unit = Unit.objects.select_related("jurisdiction").get(pk=actor.unit_id)
        key_paths, key_units = _scope_for_unit(unit, Role.DISPATCHER)
        return Scope(
            paths=_minimal_paths(key_paths), unit_ids=frozenset(key_units), actions=actions
        )
    user: User = actor
    if not user.is_active:
        return NOBODY
    if user.is_superuser:
        return Scope(
            everything=True,
            user_id=user.pk,
            roles=frozenset(Role.values),
            actions=frozenset(PERMISSIONS),
        )
    paths: list[str] = []
    unit_ids: set[int] = set()
    roles: set[str] = set()
    memberships = Membership.objects.filter(user=user, active=True).select_related(
        "unit__jurisdiction"
    )
    for m in memberships:
        roles.add(m.role)
        if m.unit is not None and m.unit.active:
            p, ids = _scope_for_unit(m.unit, m.role)
            paths += p
            unit_ids |= ids
    if not roles:
        roles.add(Role.RESIDENT)
    actions = frozenset(a for a, allowed in PERMISSIONS.items() if roles & allowed)
    return Scope(
        paths=_minimal_paths(paths),
        unit_ids=frozenset(unit_ids),
        user_id=user.pk,
        roles=frozenset(roles),
        actions=actions,
    )


def is_key_usable(key: ApiKey) -> bool:
    from civitas.kit import clock

    if key.revoked_at is not None:
        return False
    return not (key.expires_at is not None and key.expires_at <= clock.now())


def can(actor: Any, action: str, *, path: str | None = None) -> bool:
    """May the actor perform ``action`` (optionally on something at jurisdiction ``path``)?"""
    scope = scope_of(actor)
    if action not in scope.actions:
        return False
    if path is None or action == "reference.read":
        return True
    return scope.covers_path(path)


def require(actor: Any, action: str, *, path: str | None = None) -> Scope:
    if not can(actor, action, path=path):
        raise Forbidden(
            f"you may not {action.replace('.', ' ')} here",
            code="forbidden",
            details={"action": action},
        )
    return scope_of(actor)


def may_see_contacts(actor: Any, unit: Unit) -> bool:
    """Phones of a unit's people: administrators whose scope covers the unit, and the unit's
    own leaders. Everyone else who may read the unit sees names and roles only."""
    scope = scope_of(actor)
    if scope.everything:
        return True
    if Role.ADMINISTRATOR in scope.roles and (
        scope.covers_path(unit.jurisdiction.path) or unit.pk in scope.unit_ids
    ):
        return True
    if scope.user_id is None:
        return False
    return Membership.objects.filter(
        user_id=scope.user_id, unit=unit, role=Role.UNIT_LEADER, active=True
    ).exists()


# -- row-level reading ----------------------------------------------------------------------

Rule = Callable[[Scope], Q]
_READ_RULES: dict[type[Model], tuple[str | None, Rule]] = {}


def register(model: type[Model], action: str | None, rule: Rule) -> None:
    """Declare how rows of ``model`` are scoped. Domain apps call this from AppConfig.ready.

    Without ``action`` in the actor's scope nothing is readable; ``action=None`` leaves the
    whole decision to ``rule`` (people always see their own record).
    """
    _READ_RULES[model] = (action, rule)


def path_rule(
    path_field: str, unit_field: str | None = None, owner_field: str | None = None
) -> Rule:
    """The common shape: inside a jurisdiction subtree, or of one's units, or one's own."""

    def rule(scope: Scope) -> Q:
        q = Q(pk__in=[])
        for p in scope.paths:
            q |= Q(**{f"{path_field}__startswith": p})
        if unit_field and scope.unit_ids:
            q |= Q(**{f"{unit_field}__in": scope.unit_ids})
        if owner_field and scope.user_id:
            q |= Q(**{owner_field: scope.user_id})
        return q

    return rule


def readable(actor: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    """Narrow ``queryset`` to the rows ``actor`` may read. Unregistered models: nothing."""
    model = queryset.model
    if model not in _READ_RULES:
        raise LookupError(f"{model.__name__} has no access rule; register one in org.access")
    action, rule = _READ_RULES[model]
    scope = scope_of(actor)
    if action is not None and action not in scope.actions:
        return queryset.none()
    if scope.everything:
        return queryset
    narrowed = queryset.filter(rule(scope))
    # Only a join can repeat a row; DISTINCT costs a sort of every matching row, so it is
    # added only when the query joins another table (rules written with subqueries need none).
    query = narrowed.query
    if any(
        query.alias_refcount.get(alias) and getattr(join, "join_type", None)
        for alias, join in query.alias_map.items()
    ):
        return narrowed.distinct()
    return narrowed


def _people_rule(scope: Scope) -> Q:
    q = Q(pk=scope.user_id) if scope.user_id else Q(pk__in=[])
    if "people.read" not in scope.actions:
        return q
    for p in scope.paths:
        q |= Q(memberships__unit__jurisdiction__path__startswith=p, memberships__active=True)
    if scope.unit_ids:
        q |= Q(memberships__unit_id__in=scope.unit_ids, memberships__active=True)
    return q


def _membership_rule(scope: Scope) -> Q:
    own = Q(user_id=scope.user_id) if scope.user_id else Q(pk__in=[])
    if "people.read" not in scope.actions:
        return own
    return own | path_rule("unit__jurisdiction__path", unit_field="unit_id")(scope)


def _rules_rule(scope: Scope) -> Q:
    # City-wide entries are visible to staff of that city; local ones inside their subtree.
    cities = {p.strip("/").split("/")[0] for p in scope.paths}
    if scope.unit_ids:
        cities |= set(Unit.objects.filter(pk__in=scope.unit_ids).values_list("city", flat=True))
    q = Q(city__in=cities, jurisdiction__isnull=True)
    for p in scope.paths:
        q |= Q(jurisdiction__path__startswith=p)
    if scope.unit_ids:
        q |= Q(unit_id__in=scope.unit_ids)
    return q


def register_defaults() -> None:
    register(Jurisdiction, "reference.read", lambda scope: Q())
    register(Unit, "units.read", path_rule("jurisdiction__path", unit_field="pk"))
    register(User, None, _people_rule)
    register(Membership, None, _membership_rule)
    register(ResponsibilityRule, "responsibility.read", _rules_rule)
    register(ApiKey, "apikey.manage", path_rule("unit__jurisdiction__path"))
