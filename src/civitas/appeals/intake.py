"""Intake: the one door through which every channel brings an appeal in.

``submit()`` validates, numbers the appeal, stores the contact apart, keeps the photos (checked
and cleaned), runs triage, and dispatches it when the route is clear — otherwise it waits in
the centre's triage queue. A client's Idempotency-Key makes a retried submission return the
first appeal. Callers own the transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from civitas.appeals import triage
from civitas.appeals import workflow as wf
from civitas.appeals.models import (
    Appeal,
    Channel,
    Contact,
    Event,
    IdempotencyKey,
    Kind,
    LocateMethod,
    TicketCounter,
)
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, InvalidInput
from civitas.matters.models import Matter, Urgency

MAX_TEXT = 4000


@dataclass
class ContactIn:
    name: str = ""
    phone: str = ""
    email: str = ""
    on_behalf_of: str = ""
    wants_notifications: bool = True


@dataclass
class AppealIn:
    city: str
    text: str
    channel: str = Channel.WEB
    kind: str = Kind.COMPLAINT
    title: str = ""
    matter_code: str = ""
    urgency: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    contact: ContactIn = field(default_factory=ContactIn)
    external_id: str = ""
    received_at: datetime | None = None
    # A place named by its code in the city's register (Open311 address_id): authoritative.
    place_code: str = ""


@dataclass(frozen=True)
class Submitted:
    appeal: Appeal
    token: str | None  # None when a retry returned the first appeal
    created: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def _check(data: AppealIn) -> tuple[Matter | None, list[dict[str, str]]]:
    problems: list[dict[str, str]] = []

    def bad(fld: str, msg: str) -> None:
        problems.append({"field": fld, "message": msg})

    if not Jurisdiction.objects.filter(code=data.city, parent__isnull=True).exists():
        bad("city", _("no city with code %(city)s") % {"city": repr(data.city)})
    text = (data.text or "").strip()
    if len(text) < 5:
        bad("text", _("describe what happened in at least 5 characters"))
    if len(text) > MAX_TEXT:
        bad(
            "text",
            _("at most %(limit)d characters (got %(length)d)")
            % {"limit": MAX_TEXT, "length": len(text)},
        )
    if data.channel not in Channel.values:
        bad("channel", _("unknown channel %(channel)s") % {"channel": repr(data.channel)})
    if data.kind not in Kind.values:
        bad(
            "kind",
            _("unknown kind %(kind)s; use one of %(values)s")
            % {"kind": repr(data.kind), "values": ", ".join(Kind.values)},
        )
    if data.urgency and data.urgency not in Urgency.values:
        bad("urgency", _("unknown urgency %(urgency)s") % {"urgency": repr(data.urgency)})
    if (data.lat is None) != (data.lon is None):
        bad("lat" if data.lat is None else "lon", _("give both latitude and longitude, or none"))
    if data.lat is not None and not -90 <= data.lat <= 90:
        bad("lat", _("latitude must be within [-90, 90]"))
    if data.lon is not None and not -180 <= data.lon <= 180:
        bad("lon", _("longitude must be within [-180, 180]"))
    if len(data.address) > 300:
        bad("address", _("at most %(limit)d characters") % {"limit": 300})
    if data.contact.email and "@" not in data.contact.email:
        bad("contact.email", _("not an e-mail address"))
    if (
        data.place_code
        and not Jurisdiction.objects.filter(
            code=data.place_code, path__startswith=f"/{data.city}/"
        ).exists()
    ):
        bad(
            "address_id",
            _("no place with code %(code)s in this city") % {"code": repr(data.place_code)},
        )
    matter = None
    if data.matter_code:
        matter = Matter.objects.filter(
            code=data.matter_code, catalogue=data.city, active=True
        ).first()
        if matter is None:
            bad(
                "matter",
                _("no active matter %(matter)s in this city's catalogue")
                % {"matter": repr(data.matter_code)},
            )
    return matter, problems


def next_ticket(city: str, at: datetime) -> str:
    """``<CITY>-<YYYYMMDD>-<NNNNNN>``, numbered per city and local day under a row lock."""
    from zoneinfo import ZoneInfo

    day = at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()
    for _attempt in range(3):
        counter = TicketCounter.objects.select_for_update().filter(city=city, day=day).first()
        if counter is None:
            try:
                with transaction.atomic():
                    counter = TicketCounter.objects.create(city=city, day=day, last=0)
            except IntegrityError:
                continue
            counter = TicketCounter.objects.select_for_update().get(pk=counter.pk)
        counter.last += 1
        counter.save(update_fields=["last"])
        return f"{city}-{day:%Y%m%d}-{counter.last:06d}"
    raise Conflict(_("could not number the appeal; try again"))


def _request_hash(data: AppealIn) -> str:
    payload = asdict(data)
    payload.pop("received_at", None)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def submit(
    *,
    actor: Any,
    data: AppealIn,
    resident: Any = None,
    idempotency_key: str = "",
    client: str = "",
    photos: list[Any] | None = None,
    dispatch_now: bool = True,
) -> Submitted:
    if idempotency_key:
        if len(idempotency_key) > 200:
            raise InvalidInput(
                _("Idempotency-Key is longer than %(limit)d characters") % {"limit": 200},
                details={"field": "Idempotency-Key"},
            )
        client = client or audit.actor_label(actor)
        first = IdempotencyKey.objects.filter(client=client, key=idempotency_key).first()
        if first is not None:
            if first.request_hash != _request_hash(data):
                raise Conflict(
                    _(
                        "this Idempotency-Key was used for a different submission; "
                        "use a new key for a new appeal"
                    ),
                    code="idempotency_mismatch",
                    status=422,
                )
            return Submitted(first.appeal, None, False)
    matter, problems = _check(data)
    if problems:
        listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise InvalidInput(
            ngettext(
                "%(count)d problem with the appeal: %(problems)s",
                "%(count)d problems with the appeal: %(problems)s",
                len(problems),
            )
            % {"count": len(problems), "problems": listed},
            details=problems,
        )
    from civitas.appeals import attachments

    checked_photos = [attachments.check_image(p) for p in (photos or [])]
    now = clock.now()
    received = data.received_at or now
    token = secrets.token_urlsafe(24)
    appeal = Appeal(
        token_hash=hash_token(token),
        city=data.city,
        channel=data.channel,
        kind=data.kind,
        title=data.title.strip()[:200],
        text=data.text.strip(),
        matter=matter,
        urgency=data.urgency or Urgency.NORMAL,
        matter_method="resident"
        if matter and data.channel == Channel.WEB
        else ("staff" if matter else ""),
        matter_confidence=1.0 if matter else None,
        lat=data.lat,
        lon=data.lon,
        address=data.address.strip(),
        received_at=received,
        resident=resident if getattr(resident, "is_authenticated", False) else None,
        submitted_by=audit.actor_label(actor),
        external_id=data.external_id,
        jurisdiction_path=f"/{data.city}/",
    )
    if data.place_code:
        place = Jurisdiction.objects.get(code=data.place_code)
        appeal.jurisdiction, appeal.jurisdiction_path = place, place.path
        appeal.locate_method, appeal.locate_confidence = LocateMethod.ADDRESS, 1.0
    triage.run(appeal)
    # The route is decided (reads only) before the ticket is numbered: the day's counter row
    # and, from the first audit entry, the audit chain's head row stay locked until the
    # commit, and every intake waits for them, so the slow part (locate, classify,
    # duplicates, routing) runs before either is taken.
    decided = decide(appeal) if dispatch_now else None
    appeal.ticket = next_ticket(data.city, received)
    appeal.save()
    c = data.contact
    Contact.objects.create(
        appeal=appeal,
        name=c.name.strip()[:120],
        phone=c.phone.strip()[:40],
        email=c.email.strip(),
        on_behalf_of=c.on_behalf_of.strip()[:200],
        wants_notifications=c.wants_notifications,
    )
    for photo in checked_photos:
        attachments.store(appeal=appeal, image=photo, purpose="photo", by=audit.actor_label(actor))
    if idempotency_key:
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    client=client,
                    key=idempotency_key,
                    request_hash=_request_hash(data),
                    appeal=appeal,
                    created_at=now,
                )
        except IntegrityError:
            # A concurrent retry won the race: give up this copy, return the first.
            raise _Raced(client, idempotency_key) from None
    Event.objects.create(
        appeal=appeal,
        at=received,
        actor=audit.actor_label(actor),
        action="received",
        to_status=appeal.status,
        note="",
        public=True,
        data={
            "channel": appeal.channel,
            "located_by": appeal.locate_method,
            "matter": appeal.matter.code if appeal.matter else None,
            "confidence": appeal.matter_confidence,
            **getattr(appeal, "triage_notes", {}),
        },
    )
    audit.record(
        actor=actor,
        action="appeal.receive",
        object_type="appeals.appeal",
        object_id=appeal.ticket,
        after={
            "city": appeal.city,
            "channel": appeal.channel,
            "matter": appeal.matter.code if appeal.matter else None,
            "jurisdiction": appeal.jurisdiction.code if appeal.jurisdiction else None,
        },
    )
    if dispatch_now:
        auto_dispatch(appeal, decided)
    return Submitted(appeal, token, True)


class _Raced(Exception):
    def __init__(self, client: str, key: str) -> None:
        self.client, self.key = client, key


def submit_once(**kwargs: Any) -> Submitted:
    """``submit`` in its own transaction, retried when a concurrent duplicate won the race."""
    try:
        with transaction.atomic():
            return submit(**kwargs)
    except _Raced as raced:
        first = IdempotencyKey.objects.get(client=raced.client, key=raced.key)
        return Submitted(first.appeal, None, False)


MACHINE_METHODS = ("model", "keywords")


def router() -> Any:
    return import_string(getattr(settings, "CIVITAS_ROUTER", "civitas.dispatch.routing.route"))


def unsure_classification(appeal: Appeal) -> str:
    """Why a machine classification is too unsure to dispatch on, or "" when it is not."""
    if appeal.matter_method not in MACHINE_METHODS or appeal.matter_confidence is None:
        return ""
    threshold = float(getattr(settings, "CIVITAS_TRIAGE_MIN_CONFIDENCE", 0.6))
    if appeal.matter_confidence >= threshold:
        return ""
    return (
        f"classification unsure ({appeal.matter_confidence:.2f} < {threshold:.2f}): "
        "a person checks the matter"
    )


def decide(appeal: Appeal) -> tuple[str, Any]:
    """(why a person must check the matter, or ""; the router's decision, or None then)."""
    unsure = unsure_classification(appeal)
    return unsure, None if unsure else router()(appeal)


def auto_dispatch(appeal: Appeal, decided: tuple[str, Any] | None = None) -> Appeal:
    """Dispatch when the route is clear; otherwise put the case in the centre's queue.
    ``decided``: what ``decide`` said earlier in the same transaction, else it is asked now."""
    from civitas.appeals import services

    unsure, decision = decided if decided is not None else decide(appeal)
    if decision is None or decision.unit is None:
        return wf.transition(
            appeal=appeal,
            action="hold_for_triage",
            actor="system",
            parties=frozenset({wf.SYSTEM}),
            note=unsure or decision.reason,
        )
    return services.dispatch(
        actor="system", appeal=appeal, unit=decision.unit, reason=decision.reason, system=True
    )
