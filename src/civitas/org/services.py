"""Every write to units, memberships, API keys and the responsibility list.

Callers own the transaction; each write leaves an audit entry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction, Level
from civitas.kit import audit, clock
from civitas.kit.errors import InvalidInput, NotFound
from civitas.matters.models import Matter
from civitas.matters.vocabulary import DepartmentType
from civitas.org.models import (
    ApiKey,
    Membership,
    ResponsibilityRevision,
    ResponsibilityRule,
    Role,
    Unit,
    UnitKind,
    User,
)

KEY_PREFIX = "cvt_"


def _unit_snapshot(u: Unit) -> dict[str, Any]:
    return {
        "code": u.code,
        "city": u.city,
        "kind": u.kind,
        "department_type": u.department_type,
        "name_en": u.name_en,
        "name_zh": u.name_zh,
        "aliases": u.aliases,
        "phone": u.phone,
        "jurisdiction": u.jurisdiction.code,
        "parent": u.parent.code if u.parent else None,
        "active": u.active,
    }


def save_unit(
    *,
    actor: Any,
    code: str,
    kind: str,
    name_en: str,
    name_zh: str,
    jurisdiction: Jurisdiction,
    department_type: str = "",
    parent: Unit | None = None,
    aliases: list[str] | None = None,
    phone: str = "",
    active: bool = True,
    reason: str = "",
    audit_it: bool = True,
) -> Unit:
    code = (code or "").strip()
    if not code or len(code) > 60:
        raise InvalidInput(
            _("unit code %(code)s must be 1-60 characters") % {"code": repr(code)},
            details={"field": "code"},
        )
    if kind not in UnitKind.values:
        raise InvalidInput(
            _("unknown unit kind %(kind)s") % {"kind": repr(kind)}, details={"field": "kind"}
        )
    if department_type and department_type not in DepartmentType.values:
        raise InvalidInput(
            _("unknown department type %(type)s") % {"type": repr(department_type)},
            details={"field": "department_type"},
        )
    unit = Unit.objects.filter(code=code).select_related("jurisdiction", "parent").first()
    before = _unit_snapshot(unit) if unit else None
    unit = unit or Unit(code=code)
    unit.kind, unit.department_type = kind, department_type
    unit.name_en, unit.name_zh = name_en or name_zh, name_zh or name_en
    unit.jurisdiction, unit.parent = jurisdiction, parent
    unit.city = jurisdiction.root_code
    unit.aliases = sorted({a.strip() for a in (aliases or []) if a and a.strip()})
    unit.phone, unit.active = phone, active
    unit.save()
    after = _unit_snapshot(unit)
    if audit_it and before != after:
        audit.record(
            actor=actor,
            action="unit.create" if before is None else "unit.update",
            object_type="org.unit",
            object_id=code,
            before=before,
            after=after,
            reason=reason,
        )
    return unit


def add_membership(
    *, actor: Any, user: User, role: str, unit: Unit | None = None, reason: str = ""
) -> Membership:
    if role not in Role.values:
        raise InvalidInput(
            _("unknown role %(role)s") % {"role": repr(role)}, details={"field": "role"}
        )
    if role != Role.RESIDENT and unit is None:
        raise InvalidInput(
            _("the role %(role)s needs a unit") % {"role": Role(role).label},
            details={"field": "unit"},
        )
    membership, created = Membership.objects.get_or_create(user=user, unit=unit, role=role)
    if not membership.active:
        membership.active = True
        membership.save(update_fields=["active"])
        created = True
    if created:
        audit.record(
            actor=actor,
            action="membership.grant",
            object_type="org.membership",
            object_id=membership.pk,
            after={"user": user.username, "role": role, "unit": unit.code if unit else None},
            reason=reason,
        )
    return membership


# -- responsibility list ---------------------------------------------------------------------


def _rule_snapshot(rule: ResponsibilityRule) -> dict[str, Any]:
    return {
        "city": rule.city,
        "matter": rule.matter.code,
        "level": rule.level.code,
        "jurisdiction": rule.jurisdiction.code if rule.jurisdiction else None,
        "unit_type": rule.unit_type,
        "unit": rule.unit.code if rule.unit else None,
        "city_coordinates": rule.city_coordinates,
        "note": rule.note,
        "active": rule.active,
    }


def save_responsibility(
    *,
    actor: Any,
    reason: str,
    matter: Matter,
    level: Level,
    city: str,
    jurisdiction: Jurisdiction | None = None,
    unit_type: str = "",
    unit: Unit | None = None,
    city_coordinates: bool = False,
    note: str = "",
    active: bool = True,
    rule: ResponsibilityRule | None = None,
) -> ResponsibilityRule:
    """Create or change an entry; every change bumps its version and keeps a revision."""
    if not (reason or "").strip():
        raise InvalidInput(
            _("say why the responsibility list changes"), details={"field": "reason"}
        )
    if not unit_type and unit is None:
        raise InvalidInput(
            _("name a responsible department type or a unit"), details={"field": "unit_type"}
        )
    if unit_type and unit_type not in DepartmentType.values:
        raise InvalidInput(
            _("unknown department type %(type)s") % {"type": repr(unit_type)},
            details={"field": "unit_type"},
        )
    if jurisdiction is not None and jurisdiction.root_code != city:
        raise InvalidInput(
            _("%(place)s is not in the city %(city)s") % {"place": jurisdiction.code, "city": city},
            details={"field": "jurisdiction"},
        )
    if unit is not None and unit.city != city:
        raise InvalidInput(
            _("unit %(unit)s is not in the city %(city)s") % {"unit": unit.code, "city": city},
            details={"field": "unit"},
        )
    before = _rule_snapshot(rule) if rule and rule.pk else None
    if rule is None:
        rule = ResponsibilityRule(version=0)
    rule.city, rule.matter, rule.level, rule.jurisdiction = city, matter, level, jurisdiction
    rule.unit_type, rule.unit = unit_type, unit
    rule.city_coordinates, rule.note, rule.active = city_coordinates, note, active
    after = _rule_snapshot(rule)
    if before == after:
        return rule
    rule.version = (rule.version or 0) + 1
    rule.save()
    ResponsibilityRevision.objects.create(
        rule=rule,
        version=rule.version,
        actor=audit.actor_label(actor),
        at=clock.now(),
        reason=reason,
        snapshot=after,
    )
    audit.record(
        actor=actor,
        action="responsibility.create" if before is None else "responsibility.update",
        object_type="org.responsibility",
        object_id=rule.pk,
        before=before,
        after=after,
        reason=reason,
    )
    return rule


# -- API keys ----------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    *,
    actor: Any,
    name: str,
    scopes: list[str],
    unit: Unit | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; the clear key is returned once and never stored."""
    from civitas.org.access import API_KEY_SCOPES

    unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
    if unknown:
        raise InvalidInput(
            _("unknown scopes %(unknown)s; known: %(known)s")
            % {"unknown": unknown, "known": sorted(API_KEY_SCOPES)},
            details={"field": "scopes"},
        )
    if not name.strip():
        raise InvalidInput(_("an API key needs a name"), details={"field": "name"})
    secret = secrets.token_urlsafe(32)
    prefix = secrets.token_hex(4)
    clear = f"{KEY_PREFIX}{prefix}_{secret}"
    key = ApiKey.objects.create(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash(clear),
        scopes=sorted(set(scopes)),
        unit=unit,
        created_by=audit.actor_label(actor),
        created_at=clock.now(),
        expires_at=expires_at,
    )
    audit.record(
        actor=actor,
        action="apikey.create",
        object_type="org.apikey",
        object_id=key.pk,
        after={
            "name": key.name,
            "prefix": prefix,
            "scopes": key.scopes,
            "unit": unit.code if unit else None,
        },
    )
    return key, clear


def revoke_api_key(*, actor: Any, key: ApiKey, reason: str = "") -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor,
            action="apikey.revoke",
            object_type="org.apikey",
            object_id=key.pk,
            reason=reason,
        )
    return key


def authenticate_api_key(clear: str) -> ApiKey:
    """The key a client presented, if it exists, is not revoked and has not expired."""
    from civitas.org.access import is_key_usable

    key = ApiKey.objects.filter(key_hash=_hash(clear.strip())).first()
    if key is None or not is_key_usable(key):
        raise NotFound(_("unknown, revoked or expired API key"), code="invalid_api_key", status=401)
    now = clock.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


# -- whom to tell ---------------------------------------------------------------------------


def people_in(unit: Unit | None, roles: Iterable[str]) -> list[User]:
    """The active people holding one of ``roles`` in ``unit`` (none without a unit)."""
    if unit is None:
        return []
    return list(
        User.objects.filter(
            is_active=True,
            memberships__unit=unit,
            memberships__role__in=list(roles),
            memberships__active=True,
        )
        .distinct()
        .order_by("pk")
    )


def notice_addresses(people: Iterable[User], fallback: Unit | None = None) -> list[tuple[str, str]]:
    """(channel, recipient) for each person: their e-mail, else their phone; the unit's duty
    phone when nobody can be reached."""
    out: list[tuple[str, str]] = []
    for p in people:
        if p.email:
            out.append(("email", p.email))
        elif p.phone:
            out.append(("sms", p.phone))
    if not out and fallback is not None and fallback.phone:
        out.append(("sms", fallback.phone))
    return list(dict.fromkeys(out))
