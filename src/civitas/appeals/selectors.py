"""Every read of appeals, narrowed by the one door (org.access.readable)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from civitas.appeals.models import OPEN_STATUSES, Appeal, Assignment, Status, Summons
from civitas.appeals.parties import TrackingToken
from civitas.kit import clock
from civitas.org.access import readable
from civitas.org.models import Membership, Role, Unit


def appeals(actor: Any) -> QuerySet[Appeal]:
    return readable(actor, Appeal.objects.select_related("matter", "jurisdiction", "lead_unit"))


def case(actor: Any, ticket: str) -> Appeal | None:
    """One case the actor may see (by its ticket), or None."""
    if isinstance(actor, TrackingToken):
        return (
            Appeal.objects.select_related("matter", "jurisdiction", "lead_unit")
            .filter(pk=actor.appeal_id, ticket=ticket)
            .first()
        )
    return appeals(actor).filter(ticket=ticket).first()


def by_token(token: str) -> Appeal | None:
    from civitas.appeals.intake import hash_token

    if not token or len(token) > 100:
        return None
    return (
        Appeal.objects.select_related("matter", "jurisdiction", "lead_unit")
        .filter(token_hash=hash_token(token))
        .first()
    )


def my_units(actor: Any) -> list[int]:
    if not getattr(actor, "is_authenticated", False):
        return []
    return list(
        Membership.objects.filter(
            user=actor,
            active=True,
            role__in=[Role.UNIT_HANDLER, Role.UNIT_LEADER],
            unit__isnull=False,
        ).values_list("unit_id", flat=True)
    )


def my_queue(actor: Any) -> QuerySet[Appeal]:
    """Open work of the actor's units: led by them, co-handled, or summoned to; soonest due
    first."""
    units = my_units(actor)
    # Co-handling and summonses still open are few: read their case ids first, so that the
    # database combines two indexes (lead unit, ids) instead of joining every assignment.
    others = list(
        Assignment.objects.filter(
            unit_id__in=units,
            role=Assignment.Role.CO,
            state__in=[Assignment.State.DISPATCHED, Assignment.State.ACCEPTED],
        ).values_list("appeal_id", flat=True)
    )
    others += Summons.objects.filter(unit_id__in=units, reported_at__isnull=True).values_list(
        "appeal_id", flat=True
    )
    qs = (
        appeals(actor)
        .filter(status__in=OPEN_STATUSES)
        .filter(Q(lead_unit_id__in=units) | Q(pk__in=sorted(set(others))))
    )
    return qs.order_by("resolve_due", "received_at")


DESK_QUEUES = ("unlocated", "unclassified", "triage", "returned", "overdue", "duplicates", "review")


def desk(actor: Any, queue: str) -> QuerySet[Appeal]:
    """The centre's dispatch desk: the cases that need a dispatcher."""
    qs = appeals(actor)
    if queue == "unlocated":
        return qs.filter(status__in=[Status.RECEIVED, Status.TRIAGE], jurisdiction__isnull=True)
    if queue == "unclassified":
        return qs.filter(status__in=[Status.RECEIVED, Status.TRIAGE], matter__isnull=True)
    if queue == "triage":
        return qs.filter(status=Status.TRIAGE).order_by("received_at")
    if queue == "returned":
        return qs.filter(status=Status.RETURNED).order_by("received_at")
    if queue == "overdue":
        return qs.filter(status__in=OPEN_STATUSES, resolve_due__lt=clock.now()).order_by(
            "resolve_due"
        )
    if queue == "duplicates":
        return qs.filter(
            status__in=OPEN_STATUSES, duplicate_candidate__isnull=False, duplicate_of__isnull=True
        )
    if queue == "review":
        return qs.filter(status=Status.REVIEW)
    raise ValueError(f"unknown queue {queue!r}; use one of {', '.join(DESK_QUEUES)}")


def target_units(city: str) -> QuerySet[Unit]:
    """The units a case of ``city`` may be sent to (dispatch, arbitration, co-handling,
    whistle): every active unit of the city. Names and codes of units are not private."""
    return Unit.objects.filter(city=city, active=True).select_related("jurisdiction")
