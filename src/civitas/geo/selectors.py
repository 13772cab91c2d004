"""Reads of the jurisdiction tree. Jurisdictions are public reference data; callers that
serve people still pass the result through org.access.readable()."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from civitas.geo.models import Jurisdiction, Level


def jurisdictions(*, level: str = "", within: str = "", search: str = "") -> QuerySet[Jurisdiction]:
    qs = Jurisdiction.objects.select_related("level", "parent")
    if level:
        qs = qs.filter(level__code=level)
    if within:
        root = Jurisdiction.objects.filter(code=within).first()
        qs = qs.filter(path__startswith=root.path) if root else qs.none()
    if search:
        # Aliases are a JSON list; SQLite stores non-ASCII text \u-escaped, so match both forms.
        qs = qs.filter(
            Q(name_en__icontains=search)
            | Q(name_zh__icontains=search)
            | Q(code__icontains=search)
            | Q(aliases__icontains=search)
            | Q(aliases__icontains=json.dumps(search)[1:-1])
        )
    return qs


def boundary_map(parent: Jurisdiction | None, children: Iterable[Jurisdiction]) -> dict[str, Any]:
    """GeoJSON of a place (role "self") and its children (role "child"), those with a boundary."""
    features = [parent.as_feature(role="self")] if parent and parent.boundary else []
    features += [j.as_feature(role="child") for j in children if j.boundary]
    return {"type": "FeatureCollection", "features": features}


def get_jurisdiction(code: str) -> Jurisdiction | None:
    return Jurisdiction.objects.select_related("level", "parent").filter(code=code).first()


def cities() -> QuerySet[Jurisdiction]:
    return Jurisdiction.objects.filter(parent__isnull=True).select_related("level")


def levels() -> QuerySet[Level]:
    return Level.objects.all()
