"""Every write to levels and jurisdictions. Callers own the transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.utils.translation import gettext as _
from shapely.geometry import shape
from shapely.validation import explain_validity

from civitas.geo import signals
from civitas.geo.locate import index
from civitas.geo.models import Jurisdiction, Level
from civitas.kit import audit
from civitas.kit.errors import Conflict, InvalidInput

AUDITED_FIELDS = ("code", "name_en", "name_zh", "aliases", "level", "parent")


def check_code(code: str) -> str:
    code = (code or "").strip()
    if not code or "/" in code or len(code) > 40 or any(ch.isspace() for ch in code):
        raise InvalidInput(
            _("jurisdiction code %(code)s must be 1-40 characters without '/' or spaces")
            % {"code": repr(code)},
            details={"field": "code"},
        )
    return code


def check_boundary(geojson: Any) -> dict[str, Any] | None:
    """Accept a GeoJSON Polygon or MultiPolygon that is valid; return it unchanged."""
    if geojson in (None, "", {}):
        return None
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(
            _("boundary must be a GeoJSON Polygon or MultiPolygon"), details={"field": "boundary"}
        )
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise InvalidInput(
            _("boundary is not readable GeoJSON: %(error)s") % {"error": exc},
            details={"field": "boundary"},
        ) from exc
    if geom.is_empty:
        raise InvalidInput(_("boundary is empty"), details={"field": "boundary"})
    if not geom.is_valid:
        raise InvalidInput(
            _("boundary is not a valid polygon: %(reason)s") % {"reason": explain_validity(geom)},
            details={"field": "boundary"},
        )
    return geojson


def boundary_digest(boundary: dict[str, Any] | None) -> str | None:
    """A short fingerprint of a boundary, so that the audit trail shows when it changed."""
    if boundary is None:
        return None
    text = json.dumps(boundary, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _snapshot(j: Jurisdiction) -> dict[str, Any]:
    return {
        "code": j.code,
        "name_en": j.name_en,
        "name_zh": j.name_zh,
        "aliases": j.aliases,
        "level": j.level.code if j.level_id else None,
        "parent": j.parent.code if j.parent_id and j.parent else None,
        "has_boundary": j.boundary is not None,
        "boundary_sha256": boundary_digest(j.boundary),
    }


def save_jurisdiction(
    *,
    actor: Any,
    code: str,
    level: Level,
    name_en: str,
    name_zh: str,
    parent: Jurisdiction | None = None,
    aliases: list[str] | None = None,
    boundary: dict[str, Any] | None = None,
    reason: str = "",
    existing: Jurisdiction | None = None,
    audit_it: bool = True,
) -> Jurisdiction:
    """Create or update a jurisdiction, keeping paths of its subtree consistent."""
    code = check_code(code)
    boundary = check_boundary(boundary)
    if not (name_en or name_zh):
        raise InvalidInput(_("a jurisdiction needs a name"), details={"field": "name_en"})
    j = existing or Jurisdiction.objects.filter(code=code).first()
    before = _snapshot(j) if j else None
    if j is None:
        j = Jurisdiction(code=code)
    old_path = j.path
    if parent is not None and j.pk and parent.path.startswith(j.path):
        raise Conflict(
            _("%(code)s cannot be placed under its own descendant %(parent)s")
            % {"code": code, "parent": parent.code}
        )
    j.code, j.level, j.parent = code, level, parent
    j.name_en, j.name_zh = name_en or name_zh, name_zh or name_en
    j.aliases = sorted({a.strip() for a in (aliases or []) if a and a.strip()})
    j.boundary = boundary
    j.path = (parent.path if parent else "/") + code + "/"
    j.depth = (parent.depth + 1) if parent else 0
    if boundary:
        geom = shape(boundary)
        point = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
        j.centroid_lat, j.centroid_lon = point.y, point.x
    else:
        j.centroid_lat = j.centroid_lon = None
    j.save()
    if old_path and old_path != j.path:
        for d in Jurisdiction.objects.filter(path__startswith=old_path).exclude(pk=j.pk):
            d.path = j.path + d.path[len(old_path) :]
            d.depth = d.path.strip("/").count("/")
            d.save(update_fields=["path", "depth", "updated_at"])
        signals.subtree_moved.send(
            sender=Jurisdiction, jurisdiction=j, old_path=old_path, new_path=j.path
        )
    after = _snapshot(j)
    if audit_it and before != after:
        action = "jurisdiction.create" if before is None else "jurisdiction.update"
        audit.record(
            actor=actor,
            action=action,
            object_type="geo.jurisdiction",
            object_id=code,
            before=before,
            after=after,
            reason=reason,
        )
    index.invalidate()
    return j


def save_level(*, code: str, rank: int, name_en: str, name_zh: str, overlay: bool = False) -> Level:
    level, _created = Level.objects.update_or_create(
        code=code,
        defaults={"rank": rank, "name_en": name_en, "name_zh": name_zh, "overlay": overlay},
    )
    return level
