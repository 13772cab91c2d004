"""The plain data of each GeoReport document (``formats`` turns it into XML or JSON)."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal, Contact, Event, Status
from civitas.matters.models import Matter
from civitas.open311 import privacy, statuses
from civitas.open311.formats import iso
from civitas.open311.models import ServiceAttribute, ServiceListing
from civitas.open311.selectors import service_type

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def discovery(base_url: str, changed: Any) -> dict[str, Any]:
    return {
        "changeset": iso(changed),
        "contact": settings.CIVITAS_OPEN311_CONTACT,
        "key_service": settings.CIVITAS_OPEN311_KEY_SERVICE,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url,
                "changeset": iso(changed),
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service(matter: Matter, listing: ServiceListing | None, has_attributes: bool) -> dict[str, Any]:
    description = ""
    if listing is not None:
        description = listing.description_zh if _zh() else listing.description_en
    group = (listing.group if listing else "") or (matter.parent.name if matter.parent else "")
    return {
        "service_code": matter.code,
        "service_name": matter.name,
        "description": description or matter.name,
        "metadata": has_attributes,
        "type": service_type(listing),
        "keywords": ", ".join(str(k) for k in matter.keywords or []),
        "group": group,
    }


def _zh() -> bool:
    return (get_language() or "").startswith("zh")


def definition(matter: Matter, attributes: list[ServiceAttribute]) -> dict[str, Any]:
    return {
        "service_code": matter.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": k, "name": n} for k, n in a.value_items()],
            }
            for a in attributes
        ],
    }


@functools.lru_cache(maxsize=8)
def _labels(language: str) -> dict[str, str]:
    return {value: str(label) for value, label in Status.choices}


def status_label(appeal: Appeal) -> str:
    """The status in words (looked up once per language: a thousand records per answer)."""
    return _labels(get_language() or "")[appeal.status]


def notice(appeal: Appeal) -> str:
    if appeal.status not in statuses.CLOSED_STATUSES and appeal.resolve_due is not None:
        return _("%(status)s; to be resolved by %(due)s") % {
            "status": status_label(appeal),
            "due": iso(appeal.resolve_due),
        }
    return status_label(appeal)


def request(appeal: Appeal, notes: dict[int, str], contacts: dict[int, Contact]) -> dict[str, Any]:
    """One service request as the public sees it: no contact details ever; the resident's
    words, the staff's notes, the exact address and the photo link only where the city allows
    public text, and then scrubbed."""
    detail = getattr(appeal, "open311", None)
    public = privacy.public_text()
    contact = contacts.get(appeal.pk)
    place = appeal.jurisdiction.name if appeal.jurisdiction else ""
    return {
        "service_request_id": appeal.ticket,
        "status": statuses.standard(appeal.status),
        "status_notes": privacy.scrub(notes.get(appeal.pk, ""), contact)
        if public and appeal.pk in notes
        else status_label(appeal),
        "service_name": appeal.matter.name if appeal.matter else "",
        "service_code": appeal.matter.code if appeal.matter else "",
        "description": privacy.scrub(appeal.text, contact) if public else "",
        "agency_responsible": appeal.lead_unit.name if appeal.lead_unit else "",
        "service_notice": notice(appeal),
        "requested_datetime": appeal.received_at,
        "updated_datetime": appeal.updated_at,
        "expected_datetime": appeal.resolve_due,
        "address": privacy.scrub(appeal.address, contact) if public and appeal.address else place,
        "address_id": appeal.jurisdiction.code if appeal.jurisdiction else "",
        "zipcode": detail.zipcode if detail else "",
        "lat": privacy.coarse(appeal.lat),
        "long": privacy.coarse(appeal.lon),
        "media_url": detail.media_url if detail and public else "",
    }


# What an update says when the city keeps notes private: a sentence an app can show.
_UPDATE_WORDS = {
    "progress": pgettext_lazy("open311 update", "The unit recorded progress."),
    "reply": pgettext_lazy("open311 update", "The unit replied to the resident."),
    "comment": pgettext_lazy("open311 update", "The resident added a comment."),
    "resident_info": pgettext_lazy("open311 update", "The resident answered the unit's question."),
    "request_info": pgettext_lazy("open311 update", "The unit asked the resident a question."),
    "whistle": pgettext_lazy("open311 update", "Other departments were summoned to help."),
}


def update(event: Event, contacts: dict[int, Contact]) -> dict[str, Any]:
    from civitas.appeals.workflow import action_label

    if privacy.public_text() and event.note:
        description = privacy.scrub(event.note, contacts.get(event.appeal_id))
    elif event.action in _UPDATE_WORDS:
        description = str(_UPDATE_WORDS[event.action])
    elif event.to_status and event.to_status != event.from_status:
        description = _labels(get_language() or "")[event.to_status]
    else:
        description = action_label(event.action)
    return {
        "update_id": str(event.pk),
        "service_request_id": event.appeal.ticket,
        "status": statuses.extended(event.action, event.to_status),
        "updated_datetime": event.at,
        "description": description,
        "media_url": "",
    }


def contacts_of(appeal_ids: list[int]) -> dict[int, Contact]:
    """Contacts are read only to scrub them out of public text."""
    if not privacy.public_text() or not appeal_ids:
        return {}
    return {c.appeal_id: c for c in Contact.objects.filter(appeal_id__in=appeal_ids)}
