"""How appeals are scoped, registered with the one door (org.access)."""

from __future__ import annotations

from django.db.models import Q

from civitas.appeals.models import Appeal
from civitas.org import access
from civitas.org.access import Scope


def _appeal_rule(scope: Scope) -> Q:
    q = Q(pk__in=[])
    if scope.user_id:
        q |= Q(resident_id=scope.user_id)
    if "appeals.read" not in scope.actions:
        return q
    for path in scope.paths:
        q |= Q(jurisdiction_path__startswith=path)
    if scope.unit_ids:
        units = list(scope.unit_ids)
        q |= Q(lead_unit_id__in=units) | Q(assignments__unit_id__in=units)
        q |= Q(summonses__unit_id__in=units)
    return q


def register() -> None:
    access.register(Appeal, None, _appeal_rule)
