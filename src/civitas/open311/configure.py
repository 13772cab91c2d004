"""Audited writes of the Open311 configuration: how matters are listed as services, the
attributes of their definitions, the outside systems cases are handed to, and retries of
handoffs. The admin and the demo write through here, so every change is in the audit chain.

An outside system's API key is kept in clear (it is sent to that system); it never enters the
audit chain, which records only that it changed and its last four characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.kit import audit, clock
from civitas.kit.errors import InvalidInput
from civitas.matters.models import Matter
from civitas.open311.models import (
    LIST_DATATYPES,
    Datatype,
    ExternalSystem,
    Handoff,
    ServiceAttribute,
    ServiceListing,
    ServiceType,
)
from civitas.org.models import Unit

# attribute[CODE] and attribute[CODE][] carry the code in a form field's name: no brackets,
# no spaces, nothing a client would have to escape.
CODE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,60}$")


def mask(secret: str) -> str:
    """A key as people may see it: its last four characters at most."""
    secret = secret or ""
    if len(secret) < 12:
        return "••••" if secret else ""
    return "••••" + secret[-4:]


# -- listings ----------------------------------------------------------------------------------


def _listing_snapshot(listing: ServiceListing) -> dict[str, Any]:
    return {
        "matter": listing.matter.code,
        "listed": listing.listed,
        "group": listing.group,
        "type": listing.type,
        "description_en": listing.description_en,
        "description_zh": listing.description_zh,
    }


def save_listing(
    *,
    actor: Any,
    matter: Matter,
    listed: bool = True,
    group: str = "",
    type: str = ServiceType.REALTIME,
    description_en: str = "",
    description_zh: str = "",
    reason: str = "",
) -> ServiceListing:
    """Create or change how ``matter`` appears in ``services`` (one listing per matter)."""
    if type not in ServiceType.values:
        raise InvalidInput(
            _("unknown Open311 service type %(type)s; known: %(known)s")
            % {"type": repr(type), "known": ", ".join(ServiceType.values)},
            details={"field": "type"},
        )
    group = (group or "").strip()
    if len(group) > 120:
        raise InvalidInput(
            _("the group name is longer than 120 characters"), details={"field": "group"}
        )
    for field, text in (("description_en", description_en), ("description_zh", description_zh)):
        if len(text or "") > 500:
            raise InvalidInput(
                _("%(field)s is longer than 500 characters") % {"field": field},
                details={"field": field},
            )
    with transaction.atomic():
        listing = (
            ServiceListing.objects.select_for_update()
            .select_related("matter")
            .filter(matter=matter)
            .first()
        )
        before = _listing_snapshot(listing) if listing else None
        listing = listing or ServiceListing(matter=matter)
        listing.listed, listing.group, listing.type = bool(listed), group, type
        listing.description_en = (description_en or "").strip()
        listing.description_zh = (description_zh or "").strip()
        listing.save()
        after = _listing_snapshot(listing)
        if before != after:
            audit.record(
                actor=actor,
                action="open311.listing.create" if before is None else "open311.listing.update",
                object_type="open311.servicelisting",
                object_id=matter.code,
                before=before,
                after=after,
                reason=reason,
            )
    return listing


def delete_listing(*, actor: Any, listing: ServiceListing, reason: str = "") -> None:
    """Back to the default: a leaf listed under its parent's name."""
    with transaction.atomic():
        before = _listing_snapshot(listing)
        listing.delete()
        audit.record(
            actor=actor,
            action="open311.listing.delete",
            object_type="open311.servicelisting",
            object_id=before["matter"],
            before=before,
            reason=reason,
        )


# -- attributes ----------------------------------------------------------------------------------


def _attribute_snapshot(a: ServiceAttribute) -> dict[str, Any]:
    return {
        "matter": a.matter.code,
        "code": a.code,
        "variable": a.variable,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": a.datatype_description,
        "order": a.order,
        "description_en": a.description_en,
        "description_zh": a.description_zh,
        "values": a.values,
    }


def clean_values(datatype: str, values: Any) -> list[dict[str, str]]:
    """The allowed values of a list attribute as [{"key", "name_en", "name_zh"}]; none for
    the other datatypes. Refuses what a client could not answer unambiguously."""
    values = values or []
    if datatype not in LIST_DATATYPES:
        if values:
            raise InvalidInput(
                _("only list attributes (%(lists)s) have values; %(datatype)s does not")
                % {"lists": ", ".join(sorted(LIST_DATATYPES)), "datatype": datatype},
                details={"field": "values"},
            )
        return []
    if not isinstance(values, list) or not values:
        raise InvalidInput(
            _(
                "a %(datatype)s attribute needs a JSON list of values, e.g. "
                '[{"key": "yes", "name_en": "Yes", "name_zh": "是"}]'
            )
            % {"datatype": datatype},
            details={"field": "values"},
        )
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, value in enumerate(values, start=1):
        if not isinstance(value, dict):
            raise InvalidInput(
                _("value %(n)d is not an object with a key and names") % {"n": n},
                details={"field": "values"},
            )
        key = str(value.get("key", "")).strip()
        name_en = str(value.get("name_en") or value.get("name") or "").strip()
        name_zh = str(value.get("name_zh") or "").strip()
        if not key or len(key) > 60:
            raise InvalidInput(
                _("value %(n)d needs a key of 1-60 characters") % {"n": n},
                details={"field": "values"},
            )
        if key in seen:
            raise InvalidInput(
                _("value %(n)d repeats the key %(key)s") % {"n": n, "key": repr(key)},
                details={"field": "values"},
            )
        if not (name_en or name_zh):
            raise InvalidInput(
                _("value %(n)d (%(key)s) needs a name (name_en or name_zh)")
                % {"n": n, "key": repr(key)},
                details={"field": "values"},
            )
        seen.add(key)
        cleaned.append({"key": key, "name_en": name_en or name_zh, "name_zh": name_zh or name_en})
    return cleaned


def save_attribute(
    *,
    actor: Any,
    matter: Matter,
    code: str,
    datatype: str,
    description_en: str,
    description_zh: str = "",
    variable: bool = True,
    required: bool = False,
    datatype_description: str = "",
    order: int = 1,
    values: Any = None,
    attribute: ServiceAttribute | None = None,
    reason: str = "",
) -> ServiceAttribute:
    """Create an attribute of ``matter``'s service definition, or change ``attribute``
    (found by matter and code when not given)."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise InvalidInput(
            _(
                "attribute code %(code)s must be 1-60 letters, digits or _ . : - "
                "(it travels in form field names such as attribute[CODE])"
            )
            % {"code": repr(code)},
            details={"field": "code"},
        )
    if datatype not in Datatype.values:
        raise InvalidInput(
            _("unknown datatype %(datatype)s; known: %(known)s")
            % {"datatype": repr(datatype), "known": ", ".join(Datatype.values)},
            details={"field": "datatype"},
        )
    description_en = (description_en or "").strip()
    description_zh = (description_zh or "").strip()
    if not description_en:
        raise InvalidInput(
            _("an attribute needs its question in English"), details={"field": "description_en"}
        )
    if required and not variable:
        raise InvalidInput(
            _("an attribute shown for information only cannot be required"),
            details={"field": "required"},
        )
    if not isinstance(order, int) or order < 0 or order > 32767:
        raise InvalidInput(
            _("order must be a whole number from 0 to 32767"), details={"field": "order"}
        )
    cleaned_values = clean_values(datatype, values)
    with transaction.atomic():
        if attribute is None:
            attribute = (
                ServiceAttribute.objects.select_for_update()
                .filter(matter=matter, code=code)
                .first()
            )
        elif attribute.pk:
            attribute = ServiceAttribute.objects.select_for_update().get(pk=attribute.pk)
        clash = ServiceAttribute.objects.filter(matter=matter, code=code)
        if attribute is not None and attribute.pk:
            clash = clash.exclude(pk=attribute.pk)
        if clash.exists():
            raise InvalidInput(
                _("%(matter)s already has an attribute %(code)s")
                % {"matter": matter.code, "code": code},
                details={"field": "code"},
            )
        before = _attribute_snapshot(attribute) if attribute is not None else None
        attribute = attribute or ServiceAttribute()
        attribute.matter, attribute.code, attribute.datatype = matter, code, datatype
        attribute.variable, attribute.required = bool(variable), bool(required)
        attribute.datatype_description = (datatype_description or "").strip()[:200]
        attribute.order = order
        attribute.description_en, attribute.description_zh = description_en, description_zh
        attribute.values = cleaned_values
        attribute.save()
        after = _attribute_snapshot(attribute)
        if before != after:
            audit.record(
                actor=actor,
                action="open311.attribute.create" if before is None else "open311.attribute.update",
                object_type="open311.serviceattribute",
                object_id=f"{matter.code}:{code}",
                before=before,
                after=after,
                reason=reason,
            )
    return attribute


def delete_attribute(*, actor: Any, attribute: ServiceAttribute, reason: str = "") -> None:
    with transaction.atomic():
        before = _attribute_snapshot(attribute)
        attribute.delete()
        audit.record(
            actor=actor,
            action="open311.attribute.delete",
            object_type="open311.serviceattribute",
            object_id=f"{before['matter']}:{before['code']}",
            before=before,
            reason=reason,
        )


# -- outside systems -----------------------------------------------------------------------------


def _system_snapshot(s: ExternalSystem) -> dict[str, Any]:
    return {
        "unit": s.unit.code,
        "name": s.name,
        "endpoint": s.endpoint,
        "api_key": mask(s.api_key),
        "jurisdiction_id": s.jurisdiction_id,
        "format": s.format,
        "service_codes": s.service_codes,
        "default_service_code": s.default_service_code,
        "share_contact": s.share_contact,
        "poll_seconds": s.poll_seconds,
        "timeout_seconds": s.timeout_seconds,
        "active": s.active,
    }


def clean_endpoint(endpoint: str) -> str:
    endpoint = (endpoint or "").strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InvalidInput(
            _(
                "the endpoint %(endpoint)s must be an http(s) base URL without query, "
                "e.g. https://example.org/open311/v2"
            )
            % {"endpoint": repr(endpoint)},
            details={"field": "endpoint"},
        )
    return endpoint


def save_external_system(
    *,
    actor: Any,
    unit: Unit,
    name: str,
    endpoint: str,
    api_key: str | None,
    jurisdiction_id: str = "",
    format: str = ExternalSystem.Format.JSON,
    service_codes: dict[str, str] | None = None,
    default_service_code: str = "",
    share_contact: bool = False,
    poll_seconds: int = 300,
    timeout_seconds: float = 10.0,
    active: bool = True,
    system: ExternalSystem | None = None,
    reason: str = "",
) -> ExternalSystem:
    """Create an outside system for ``unit`` or change ``system``. ``api_key`` None (or
    empty when changing) keeps the key it has."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InvalidInput(_("a name of 1-120 characters is needed"), details={"field": "name"})
    endpoint = clean_endpoint(endpoint)
    if format not in ExternalSystem.Format.values:
        raise InvalidInput(
            _("unknown format %(format)s; known: json, xml") % {"format": repr(format)},
            details={"field": "format"},
        )
    codes = service_codes or {}
    if not isinstance(codes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in codes.items()
    ):
        raise InvalidInput(
            _(
                "service codes must be a JSON object of our matter code to theirs, "
                'e.g. {"%(example)s": "WATER"}'
            )
            % {"example": "DC-M01-01-01"},
            details={"field": "service_codes"},
        )
    unknown = sorted(
        set(codes) - set(Matter.objects.filter(code__in=codes).values_list("code", flat=True))
    )
    if unknown:
        raise InvalidInput(
            _("unknown matter codes in service codes: %(codes)s") % {"codes": ", ".join(unknown)},
            details={"field": "service_codes"},
        )
    default_service_code = (default_service_code or "").strip()
    if not codes and not default_service_code:
        raise InvalidInput(
            _("give a default service code, or service codes for our matters"),
            details={"field": "default_service_code"},
        )
    if not isinstance(poll_seconds, int) or not 30 <= poll_seconds <= 86400:
        raise InvalidInput(_("poll every 30 to 86,400 seconds"), details={"field": "poll_seconds"})
    if not 1 <= float(timeout_seconds) <= 120:
        raise InvalidInput(
            _("the timeout must be 1 to 120 seconds"), details={"field": "timeout_seconds"}
        )
    api_key = (api_key or "").strip()
    with transaction.atomic():
        if system is not None and system.pk:
            system = (
                ExternalSystem.objects.select_for_update().select_related("unit").get(pk=system.pk)
            )
        else:
            system = None
        clash = ExternalSystem.objects.filter(unit=unit)
        if system is not None:
            clash = clash.exclude(pk=system.pk)
        if clash.exists():
            raise InvalidInput(
                _("the unit %(unit)s already has an outside system") % {"unit": unit.code},
                details={"field": "unit"},
            )
        if system is None and not api_key:
            raise InvalidInput(
                _("the outside system's API key is needed"), details={"field": "api_key"}
            )
        before = _system_snapshot(system) if system is not None else None
        old_key = system.api_key if system is not None else ""
        system = system or ExternalSystem()
        system.unit, system.name, system.endpoint = unit, name, endpoint
        if api_key:
            system.api_key = api_key
        system.jurisdiction_id = (jurisdiction_id or "").strip()
        system.format, system.service_codes = format, codes
        system.default_service_code = default_service_code
        system.share_contact, system.active = bool(share_contact), bool(active)
        system.poll_seconds, system.timeout_seconds = poll_seconds, float(timeout_seconds)
        system.save()
        after = _system_snapshot(system)
        key_changed = before is not None and system.api_key != old_key
        if before != after or key_changed:
            audit.record(
                actor=actor,
                action="open311.system.create" if before is None else "open311.system.update",
                object_type="open311.externalsystem",
                object_id=unit.code,
                before=before,
                after=after,
                extra={"api_key_changed": True} if key_changed else None,
                reason=reason,
            )
    return system


def retry_handoffs(*, actor: Any, handoffs: Iterable[Handoff], reason: str = "") -> int:
    """Make handoffs that are still open due at once; returns how many."""
    now = clock.now()
    open_states = (Handoff.State.QUEUED, Handoff.State.WAITING_ID, Handoff.State.SENT)
    n = 0
    with transaction.atomic():
        for handoff in handoffs:
            if handoff.state not in open_states:
                continue
            Handoff.objects.filter(pk=handoff.pk).update(next_attempt_at=now)
            audit.record(
                actor=actor,
                action="open311.handoff.retry",
                object_type="open311.handoff",
                object_id=handoff.pk,
                extra={"appeal": handoff.appeal_id, "system": handoff.system_id},
                reason=reason,
            )
            n += 1
    return n
