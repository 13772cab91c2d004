"""How the hub's rows are scoped with the one door (org.access).

The catalogue (datasets, schemas) is visible to the staff of the city it belongs to: knowing
what exists is how a department asks for it. Records are never read through ``readable``:
``hub.query`` reads them through a grant (or as the owner) and logs every read. Grants are
seen by the people of both units and by those whose area covers either; the usage log by
the owner's deciders (``hub.services``) and by auditors in their area.
"""

from __future__ import annotations

from django.db.models import Q

from civitas.hub.models import AccessLog, Batch, Dataset, Grant, QuarantineRow, Record
from civitas.org import access
from civitas.org.models import Unit


def _cities(scope: access.Scope) -> set[str]:
    cities = {p.strip("/").split("/")[0] for p in scope.paths}
    if scope.unit_ids:
        cities |= set(Unit.objects.filter(pk__in=scope.unit_ids).values_list("city", flat=True))
    return cities


def _catalogue_rule(prefix: str = "") -> access.Rule:
    def rule(scope: access.Scope) -> Q:
        return Q(**{f"{prefix}city__in": _cities(scope)})

    return rule


def _grant_rule(scope: access.Scope) -> Q:
    q = Q(pk__in=[])
    if scope.unit_ids:
        q |= Q(consumer_unit_id__in=scope.unit_ids) | Q(dataset__owner_unit_id__in=scope.unit_ids)
    for p in scope.paths:
        q |= Q(consumer_unit__jurisdiction__path__startswith=p)
        q |= Q(dataset__owner_unit__jurisdiction__path__startswith=p)
    return q


def _owner_rule(prefix: str) -> access.Rule:
    def rule(scope: access.Scope) -> Q:
        q = Q(pk__in=[])
        if scope.unit_ids:
            q |= Q(**{f"{prefix}owner_unit_id__in": scope.unit_ids})
        for p in scope.paths:
            q |= Q(**{f"{prefix}owner_unit__jurisdiction__path__startswith": p})
        return q

    return rule


def _usage_rule(scope: access.Scope) -> Q:
    """Who used a dataset: the owner's deciders, and auditors in their area."""
    if "audit.read" in scope.actions:
        return _owner_rule("dataset__")(scope)
    if "hub.decide" in scope.actions and scope.unit_ids:
        return Q(dataset__owner_unit_id__in=scope.unit_ids)
    return Q(pk__in=[])


def register() -> None:
    access.register(Dataset, "hub.browse", _catalogue_rule())
    access.register(Grant, "hub.browse", _grant_rule)
    access.register(Batch, "hub.manage", _owner_rule("dataset__"))
    access.register(QuarantineRow, "hub.manage", _owner_rule("batch__dataset__"))
    access.register(AccessLog, None, _usage_rule)
    # Records: only through hub.query, which checks grants; readable() gives nothing.
    access.register(Record, "hub.browse", lambda scope: Q(pk__in=[]))
