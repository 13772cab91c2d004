"""How appeals are scoped, registered with the one door (org.access)."""

from __future__ import annotations

from django.db.models import Q

from civitas.appeals.models import Appeal, Assignment, Summons
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
        # Subqueries, not joins: a join repeats a case per assignment and needs DISTINCT.
        q |= Q(lead_unit_id__in=units)
        q |= Q(pk__in=Assignment.objects.filter(unit_id__in=units).values("appeal_id"))
        q |= Q(pk__in=Summons.objects.filter(unit_id__in=units).values("appeal_id"))
    return q


def register() -> None:
    access.register(Appeal, None, _appeal_rule)
