"""Who stands where towards a dataset: its stewards (people of the owner unit), the units an
actor reads for (the consumers of grants), and the grants in force for them.

Grants are held by units, not people: whoever acts for the consumer unit with a using role
(or the unit's API key with the ``hub:read`` scope) reads through the unit's grants. This is
why these helpers look at memberships directly rather than at the area scope of
``org.access``: a centre's analyst has the whole city as scope but reads data only through
the centre's own grants.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from civitas.hub.models import Dataset, Grant, GrantStatus
from civitas.kit import clock
from civitas.org import access
from civitas.org.models import ApiKey, Membership, Role, Unit

STEWARD_ROLES = access.PERMISSIONS["hub.manage"]
DECIDER_ROLES = access.PERMISSIONS["hub.decide"]
REQUESTER_ROLES = access.PERMISSIONS["hub.request"]
USER_ROLES = access.PERMISSIONS["hub.use"]


def _member_units(actor: Any, roles: frozenset[str]) -> set[int]:
    if actor is None or not getattr(actor, "pk", None) or not getattr(actor, "is_active", True):
        return set()
    return set(
        Membership.objects.filter(
            user=actor, active=True, role__in=roles, unit__active=True
        ).values_list("unit_id", flat=True)
    )


def acting_units(actor: Any) -> set[int]:
    """The units whose grants ``actor`` may read through."""
    if isinstance(actor, ApiKey):
        usable = actor.unit_id and access.is_key_usable(actor) and "hub:read" in actor.scopes
        # A deactivated unit's machines lose its grants with its people.
        if usable and actor.unit_id and Unit.objects.filter(pk=actor.unit_id, active=True).exists():
            return {actor.unit_id}
        return set()
    if getattr(actor, "is_superuser", False):
        return set(Unit.objects.values_list("pk", flat=True))
    return _member_units(actor, USER_ROLES)


def requesting_units(actor: Any) -> set[int]:
    """The units for which ``actor`` may ask for a grant (people only: keys read and push)."""
    if isinstance(actor, ApiKey):
        return set()
    if getattr(actor, "is_superuser", False):
        return set(Unit.objects.values_list("pk", flat=True))
    return _member_units(actor, REQUESTER_ROLES)


def _owner_units(actor: Any, roles: frozenset[str]) -> set[int]:
    if isinstance(actor, ApiKey):
        usable = actor.unit_id and access.is_key_usable(actor) and "hub:write" in actor.scopes
        return {actor.unit_id} if usable and actor.unit_id else set()
    if getattr(actor, "is_superuser", False):
        return set(Unit.objects.values_list("pk", flat=True))
    units = _member_units(actor, roles)
    # Administrators of a government office or centre look after every unit in their area.
    # Each administrator membership counts alone: an administrator of a department who is
    # also an analyst at the city centre is no administrator of the city.
    if Role.ADMINISTRATOR in roles and getattr(actor, "pk", None) and actor.is_active:
        areas = Membership.objects.filter(
            user=actor,
            active=True,
            role=Role.ADMINISTRATOR,
            unit__active=True,
            unit__kind__in=access.AREA_UNIT_KINDS,
        ).values_list("unit__jurisdiction__path", flat=True)
        q = Q(pk__in=[])
        for p in areas:
            q |= Q(jurisdiction__path__startswith=p)
        units |= set(Unit.objects.filter(q).values_list("pk", flat=True))
    return units


def stewarded_units(actor: Any) -> set[int]:
    """Units whose datasets ``actor`` defines and loads (data stewards, administrators)."""
    return _owner_units(actor, STEWARD_ROLES)


def deciding_units(actor: Any) -> set[int]:
    """Units whose grants ``actor`` decides and whose usage log ``actor`` reads."""
    return _owner_units(actor, DECIDER_ROLES)


def is_steward(actor: Any, dataset: Dataset) -> bool:
    return dataset.owner_unit_id in stewarded_units(actor)


def is_decider(actor: Any, dataset: Dataset) -> bool:
    return dataset.owner_unit_id in deciding_units(actor)


def grants_in_force(actor: Any, dataset: Dataset | None = None) -> QuerySet[Grant]:
    """Approved, unexpired grants of the units ``actor`` reads for."""
    qs = Grant.objects.filter(
        consumer_unit_id__in=acting_units(actor),
        status=GrantStatus.APPROVED,
        expires_at__gt=clock.now(),
        dataset__active=True,
    )
    if dataset is not None:
        qs = qs.filter(dataset=dataset)
    return qs.select_related("dataset", "area", "consumer_unit")
