"""Writes through Open311: a new service request, a deferred one, an update to a request.

A request is checked completely before anything is stored (service, location, attributes by
datatype, contact fields, description, media URL) and then enters ``appeals.intake.submit``,
the door of every channel: the same numbering, triage, routing and dispatch. With deferred
creation the checked request is kept under a token and background work submits it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django_tasks import task

from civitas.appeals import intake
from civitas.appeals import services as appeal_services
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Channel, Kind, Status
from civitas.appeals.parties import parties_of
from civitas.kit import clock, netguard
from civitas.kit.errors import CivitasError
from civitas.open311 import statuses
from civitas.open311.models import (
    Datatype,
    PendingRequest,
    RequestDetail,
    ServiceAttribute,
    ServiceType,
)
from civitas.open311.selectors import Problem, service, service_type
from civitas.org.models import ApiKey

MAX_DESCRIPTION = intake.MAX_TEXT
MAX_STRING = 255


def _one(params: Any, name: str) -> str:
    """A parameter's value, stripped; an empty parameter is the same as an absent one."""
    return (params.get(name) or "").strip()


def parse_when(value: str, name: str) -> datetime | None:
    """A w3 date-time (a zone is expected; a date alone means its local midnight)."""
    if not value:
        return None
    try:
        parsed = parse_datetime(value.replace(" ", "+")) if "T" in value else None
        if parsed is None and "T" not in value:
            day = parse_date(value)
            if day is not None:
                parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        parsed = None
    if parsed is None:
        raise Problem(
            400,
            _("%(name)s is not a date-time like 2026-01-31T08:00:00+08:00: %(value)s")
            % {"name": name, "value": value[:40]},
        )
    if parsed.tzinfo is None:
        from django.utils import timezone

        parsed = timezone.make_aware(parsed)
    return parsed


def _float(value: str, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Problem(
            400, _("%(name)s is not a number: %(value)s") % {"name": name, "value": value[:40]}
        ) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise Problem(
            400,
            _("%(name)s must be between %(low)s and %(high)s")
            % {"name": name, "low": low, "high": high},
        )
    return number


# -- attributes --------------------------------------------------------------------------------


def _attribute_params(params: Any) -> dict[str, list[str]]:
    """``attribute[CODE]`` and ``attribute[CODE][]`` → {CODE: [values]} (empty ones dropped)."""
    found: dict[str, list[str]] = {}
    for name in params:
        if not name.startswith("attribute[") or "]" not in name:
            continue
        code = name[len("attribute[") : name.index("]")]
        values = [v.strip() for v in params.getlist(name) if v.strip()]
        if values:
            found.setdefault(code, []).extend(values)
    return found


def check_attributes(attributes: list[ServiceAttribute], params: Any) -> dict[str, Any]:
    given = _attribute_params(params)
    by_code = {a.code: a for a in attributes if a.variable}
    unknown = sorted(set(given) - set(by_code))
    if unknown:
        raise Problem(
            400,
            _("unknown attribute %(codes)s for this service; its attributes are %(known)s")
            % {"codes": ", ".join(unknown), "known": ", ".join(by_code) or "-"},
        )
    answers: dict[str, Any] = {}
    for code, attr in by_code.items():
        values = given.get(code, [])
        if not values:
            if attr.required:
                raise Problem(
                    400,
                    _("attribute[%(code)s] is required (%(question)s)")
                    % {"code": code, "question": attr.description},
                )
            continue
        answers[code] = _attribute_value(attr, values)
    return answers


def _attribute_value(attr: ServiceAttribute, values: list[str]) -> Any:
    code = attr.code
    keys = [k for k, _n in attr.value_items()]
    if attr.datatype != Datatype.MULTI and len(values) > 1:
        raise Problem(400, _("attribute[%(code)s] takes one value") % {"code": code})
    value = values[0]
    if attr.datatype == Datatype.NUMBER:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise Problem(
                400,
                _("attribute[%(code)s] must be a number: %(value)s")
                % {"code": code, "value": value[:40]},
            )
        return number
    if attr.datatype == Datatype.DATETIME:
        when = parse_when(value, f"attribute[{code}]")
        return when.isoformat() if when else None
    if attr.datatype == Datatype.STRING:
        if len(value) > MAX_STRING or "\n" in value:
            raise Problem(
                400,
                _("attribute[%(code)s] is one line of at most %(limit)d characters")
                % {"code": code, "limit": MAX_STRING},
            )
        return value
    if attr.datatype == Datatype.TEXT:
        if len(value) > MAX_DESCRIPTION:
            raise Problem(
                400,
                _("attribute[%(code)s] is at most %(limit)d characters")
                % {"code": code, "limit": MAX_DESCRIPTION},
            )
        return value
    wrong = [v for v in values if v not in keys]
    if wrong:
        raise Problem(
            400,
            _("attribute[%(code)s] has no value %(values)s; choose from %(keys)s")
            % {"code": code, "values": ", ".join(wrong), "keys": ", ".join(keys)},
        )
    return values if attr.datatype == Datatype.MULTI else value


def _answers_text(attributes: list[ServiceAttribute], answers: dict[str, Any]) -> str:
    names = {a.code: a for a in attributes}
    lines = []
    for code, value in answers.items():
        attr = names[code]
        shown = dict(attr.value_items())
        if isinstance(value, list):
            value = ", ".join(str(shown.get(v, v)) for v in value)
        elif attr.datatype == Datatype.SINGLE:
            value = shown.get(value, value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        lines.append(f"{attr.description}: {value}")
    return "\n".join(lines)


# -- a new request -----------------------------------------------------------------------------


@dataclass
class Checked:
    appeal: intake.AppealIn
    detail: dict[str, Any] = field(default_factory=dict)
    batch: bool = False  # the service is created later, under a token


def check_request(city: str, params: Any) -> Checked:
    """Everything a POST requests must get right, in the order a client would fix it."""
    code = _one(params, "service_code")
    if not code:
        raise Problem(400, _("service_code is required (see services.xml for the codes)"))
    try:
        matter, listing = service(city, code)
    except Problem as exc:
        raise Problem(400, exc.description) from None
    lat_s, long_s = _one(params, "lat"), _one(params, "long")
    address = _one(params, "address_string")
    address_id = _one(params, "address_id")
    if bool(lat_s) != bool(long_s):
        raise Problem(400, _("give both lat and long, or neither"))
    if not (lat_s or address or address_id):
        raise Problem(400, _("a location is required: lat and long, address_string or address_id"))
    lat = _float(lat_s, "lat", -90, 90) if lat_s else None
    lon = _float(long_s, "long", -180, 180) if long_s else None
    if len(address) > 300:
        raise Problem(400, _("address_string is at most 300 characters"))
    description = (params.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Problem(
            400,
            _("description is at most %(limit)d characters (got %(length)d)")
            % {"limit": MAX_DESCRIPTION, "length": len(description)},
        )
    attributes = list(ServiceAttribute.objects.filter(matter=matter).order_by("order", "code"))
    answers = check_attributes(attributes, params)
    media_url = _one(params, "media_url")
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            raise Problem(400, _("media_url is not an http(s) URL")) from None
        if len(media_url) > 1000:
            raise Problem(400, _("media_url is at most 1000 characters"))
        try:
            # Stored and shown, never fetched by the server: no credentials, no control text.
            netguard.client_url(media_url, field="media_url")
        except CivitasError as exc:
            raise Problem(400, exc.message) from None
    email = _one(params, "email")
    if email and "@" not in email:
        raise Problem(400, _("email is not an e-mail address"))
    text = "\n\n".join(p for p in (description, _answers_text(attributes, answers)) if p)
    if len(text) < 5:
        text = "\n".join(p for p in (matter.name_en, matter.name_zh, text) if p)
    if len(text) > MAX_DESCRIPTION:
        raise Problem(
            400,
            _("the description and the attribute answers together exceed %(limit)d characters")
            % {"limit": MAX_DESCRIPTION},
        )
    name = " ".join(p for p in (_one(params, "first_name"), _one(params, "last_name")) if p)
    data = intake.AppealIn(
        city=city,
        text=text,
        channel=Channel.OPEN311,
        kind=Kind.REPORT,
        title=matter.name[:200],
        matter_code=matter.code,
        lat=lat,
        lon=lon,
        address=address,
        place_code=address_id,
        contact=intake.ContactIn(
            name=name[:120], phone=_one(params, "phone")[:40], email=email[:254]
        ),
    )
    detail = {
        "attributes": answers,
        "media_url": media_url,
        "address_id": address_id[:60],
        "zipcode": _one(params, "zipcode")[:20],
        "device_id": _one(params, "device_id")[:120],
        "account_id": _one(params, "account_id")[:120],
    }
    return Checked(data, detail, batch=service_type(listing) == ServiceType.BATCH)


def create(checked: Checked, key: ApiKey, idempotency_key: str = "") -> Appeal:
    """Submit a checked request; runs in the caller's transaction."""
    try:
        submitted = intake.submit(
            actor=key,
            data=checked.appeal,
            idempotency_key=idempotency_key,
            client=f"open311:{key.pk}",
        )
    except CivitasError as exc:
        raise Problem(400, exc.message) from None
    if submitted.created:
        RequestDetail.objects.create(appeal=submitted.appeal, api_key=key, **checked.detail)
    return submitted.appeal


def defer(city: str, params: Any, key: ApiKey) -> PendingRequest:
    """Keep a checked request under a token; ``process_pending`` creates it."""
    payload = {name: params.getlist(name) for name in params if name != "api_key"}
    return PendingRequest.objects.create(
        token=secrets.token_urlsafe(18),
        api_key=key,
        city=city,
        payload=payload,
        created_at=clock.now(),
    )


class _Params(dict):
    """A saved payload read back like a QueryDict."""

    def get(self, name: str, default: Any = None) -> Any:
        values = super().get(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> list[str]:
        return list(super().get(name) or [])


@task()
def create_pending() -> int:
    """Queued when a request is deferred, so its token resolves within seconds; the scheduled
    ``open311.tokens`` job catches any the queue missed."""
    return process_pending()


def process_pending(limit: int = 200) -> int:
    """Create the appeals of requests kept under a token; the payload (it holds contact
    details) is emptied whatever the outcome. Returns how many were processed."""
    done = 0
    while done < limit:
        with transaction.atomic():
            pending = (
                PendingRequest.objects.select_for_update(skip_locked=True)
                .filter(state=PendingRequest.State.PENDING)
                .order_by("created_at", "id")
                .first()
            )
            if pending is None:
                break
            try:
                with transaction.atomic():
                    checked = check_request(pending.city, _Params(pending.payload))
                    appeal = create(checked, pending.api_key) if pending.api_key else None
                    if appeal is None:
                        raise Problem(403, _("the API key that sent this request is gone"))
                pending.state, pending.appeal = PendingRequest.State.DONE, appeal
            except Problem as exc:
                pending.state, pending.error = PendingRequest.State.FAILED, exc.description
            pending.payload = {}
            pending.done_at = clock.now()
            pending.save()
        done += 1
    return done


# -- updates (FixMyStreet's extension) ---------------------------------------------------------


def post_update(appeal: Appeal, key: ApiKey, params: Any) -> Any:
    """An update to a request. From the lead unit's own key it is that unit's work on the case
    (status FIXED/CLOSED resolve it, IN_PROGRESS and kin accept it or record progress,
    NOT_COUNCILS_RESPONSIBILITY/INTERNAL_REFERRAL return it); from any other key it is a
    resident's comment through the app that submitted the request, kept on the timeline."""
    status = _one(params, "status").upper() or statuses.OPEN
    if status not in statuses.EXTENDED:
        raise Problem(
            400,
            _("unknown status %(status)s; use one of %(statuses)s")
            % {"status": status, "statuses": ", ".join(statuses.EXTENDED)},
        )
    # The client's own time of the update must be well formed; the timeline keeps ours.
    parse_when(_one(params, "updated_datetime"), "updated_datetime")
    description = (params.get("description") or "").strip()
    if not description:
        raise Problem(400, _("description is required: what is the update?"))
    if len(description) > MAX_DESCRIPTION:
        raise Problem(
            400, _("description is at most %(limit)d characters") % {"limit": MAX_DESCRIPTION}
        )
    parties = parties_of(key, appeal)
    try:
        if wf.LEAD in parties:
            return _unit_update(appeal, key, status, description)
        if wf.APP in parties:
            return appeal_services.comment(actor=key, appeal=appeal, note=description)
    except CivitasError as exc:
        raise Problem(exc.status if exc.status in (400, 403, 404) else 409, exc.message) from None
    raise Problem(
        403,
        _("this API key may update only the requests it submitted or its unit handles"),
    )


def _unit_update(appeal: Appeal, key: ApiKey, status: str, note: str) -> Appeal:
    if status == statuses.DUPLICATE:
        raise Problem(400, _("only the centre merges duplicates; send NO_FURTHER_ACTION or a note"))
    if status in (statuses.NOT_RESPONSIBLE, statuses.INTERNAL_REFERRAL):
        return appeal_services.return_case(actor=key, appeal=appeal, reason=note)
    if appeal.status == Status.DISPATCHED:
        appeal = appeal_services.accept(actor=key, appeal=appeal)
    if status in (statuses.FIXED, statuses.CLOSED, statuses.NO_FURTHER_ACTION):
        return appeal_services.resolve(actor=key, appeal=appeal, result=note)
    return appeal_services.progress(actor=key, appeal=appeal, note=note)
