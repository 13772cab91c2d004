"""Every read of units, people and the responsibility list goes through access.readable()."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from civitas.kit.models import AuditEntry
from civitas.org.access import readable, require
from civitas.org.models import ApiKey, Membership, ResponsibilityRule, Unit, User


def units(actor: Any, *, search: str = "", kind: str = "", city: str = "") -> QuerySet[Unit]:
    qs = readable(actor, Unit.objects.select_related("jurisdiction", "parent"))
    if search:
        qs = qs.filter(
            Q(name_en__icontains=search) | Q(name_zh__icontains=search) | Q(code__icontains=search)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if city:
        qs = qs.filter(city=city)
    return qs.order_by("code")


def people(actor: Any, *, search: str = "") -> QuerySet[User]:
    qs = readable(actor, User.objects.all())
    if search:
        qs = qs.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return qs.order_by("username")


def memberships(actor: Any, *, user: User | None = None) -> QuerySet[Membership]:
    qs = readable(actor, Membership.objects.select_related("unit", "user"))
    return qs.filter(user=user) if user is not None else qs


def responsibilities(
    actor: Any, *, city: str = "", matter: str = ""
) -> QuerySet[ResponsibilityRule]:
    qs = readable(
        actor, ResponsibilityRule.objects.select_related("matter", "level", "jurisdiction", "unit")
    )
    if city:
        qs = qs.filter(city=city)
    if matter:
        qs = qs.filter(matter__code=matter)
    return qs


def api_keys(actor: Any) -> QuerySet[ApiKey]:
    return readable(actor, ApiKey.objects.select_related("unit"))


def audit_entries(
    actor: Any, *, object_type: str = "", object_id: str = ""
) -> QuerySet[AuditEntry]:
    """The audit log, newest first: for auditors and administrators only (403 otherwise)."""
    require(actor, "audit.read")
    qs = AuditEntry.objects.order_by("-seq")
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    return qs
