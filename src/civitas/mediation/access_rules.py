"""How disputes are scoped with the one door (org.access).

Staff whose area covers the dispute's place see it; so do the people of every unit that has
handled it at some stage (a community committee keeps sight of a dispute it passed up) and
whoever registered it. Parties' names and contacts are narrower still: see
``civitas.mediation.services.may_see_parties``.
"""

from __future__ import annotations

from django.db.models import Q

from civitas.mediation.models import Agreement, Dispute, Event, FollowUp, Party, Session, Stage
from civitas.org import access


def dispute_rule(prefix: str = "") -> access.Rule:
    base = access.path_rule(
        f"{prefix}jurisdiction_path",
        unit_field=f"{prefix}unit_id",
        owner_field=f"{prefix}registered_by_user_id",
    )

    def rule(scope: access.Scope) -> Q:
        q = base(scope)
        if scope.unit_ids:
            q |= Q(**{f"{prefix}stages__unit_id__in": scope.unit_ids})
        return q

    return rule


def register() -> None:
    access.register(Dispute, "disputes.read", dispute_rule())
    for model in (Party, Stage, Session, Agreement, FollowUp, Event):
        access.register(model, "disputes.read", dispute_rule("dispute__"))
