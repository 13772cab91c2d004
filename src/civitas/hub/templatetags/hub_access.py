"""What a reader of the catalogue can do about a dataset's data: ask for access, read it
through the grants in force, or see who used it (for the dataset page's actions)."""

from __future__ import annotations

from typing import Any

from django import template

from civitas.hub import rights
from civitas.hub.models import Dataset, Grant, GrantStatus, Sharing
from civitas.org import access

register = template.Library()


@register.simple_tag(takes_context=True)
def dataset_access(context: Any, ds: Dataset) -> dict[str, Any]:
    request = context.get("request")
    actor = getattr(request, "user", None)
    if actor is None or not access.can(actor, "hub.browse"):
        return {}
    owner = rights.is_steward(actor, ds) or rights.is_decider(actor, ds)
    asking = rights.requesting_units(actor) - {ds.owner_unit_id}
    mine = rights.requesting_units(actor) | rights.acting_units(actor)
    return {
        "in_force": list(rights.grants_in_force(actor, ds).order_by("-expires_at")),
        "waiting": list(
            Grant.objects.filter(
                dataset=ds, consumer_unit_id__in=mine, status=GrantStatus.REQUESTED
            ).order_by("-requested_at")[:5]
        ),
        "may_ask": bool(asking) and ds.sharing != Sharing.NOT_SHAREABLE and ds.active,
        "not_shareable": ds.sharing == Sharing.NOT_SHAREABLE,
        "owner": owner,
        "usage": rights.is_decider(actor, ds)
        or access.can(actor, "audit.read", path=ds.owner_unit.jurisdiction.path),
    }
