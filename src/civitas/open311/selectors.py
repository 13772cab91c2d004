"""Reads behind the public GeoReport answers: cities, services, requests and their updates.

Everything here is public by the standard, so nothing here reads Contact; what is shown of a
resident's words is decided in ``documents``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal, Event
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.matters.models import Matter
from civitas.open311.models import ServiceListing, ServiceType
from civitas.open311.statuses import CLOSED_STATUSES

MAX_RESULTS = 1000
WINDOW = timedelta(days=90)


class Problem(Exception):
    """A client's mistake, answered as the standard's error document."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def city_for(jurisdiction_id: str) -> str:
    """The city a request is about: ``jurisdiction_id`` is a city's root code; it may be left
    out where the installation serves one city."""
    roots = Jurisdiction.objects.filter(parent__isnull=True)
    if jurisdiction_id:
        if not roots.filter(code=jurisdiction_id).exists():
            raise Problem(
                404, _("no jurisdiction %(id)s on this server") % {"id": repr(jurisdiction_id)}
            )
        return jurisdiction_id
    codes = list(roots.order_by("code").values_list("code", flat=True)[:2])
    if len(codes) == 1:
        return codes[0]
    if not codes:
        raise Problem(404, _("this server has no city yet"))
    raise Problem(
        400,
        _("this server serves several cities: give jurisdiction_id (one of %(ids)s)")
        % {"ids": ", ".join(roots.order_by("code").values_list("code", flat=True))},
    )


def services(city: str) -> list[tuple[Matter, ServiceListing | None]]:
    """The matters offered as services: active leaves, unless a listing hides one or lists a
    branch; in catalogue order."""
    matters = list(
        Matter.objects.filter(catalogue=city, active=True)
        .select_related("parent", "open311")
        .order_by("path")
    )
    with_children = {m.parent_id for m in matters if m.parent_id}
    out: list[tuple[Matter, ServiceListing | None]] = []
    for m in matters:
        listing = getattr(m, "open311", None)
        if listing is not None:
            if listing.listed:
                out.append((m, listing))
        elif m.pk not in with_children:
            out.append((m, None))
    return out


def service_type(listing: ServiceListing | None) -> str:
    """Every service is a batch one while the city defers creation; else as listed."""
    if settings.CIVITAS_OPEN311_DEFER:
        return ServiceType.BATCH
    return listing.type if listing is not None else ServiceType.REALTIME


def service(city: str, code: str) -> tuple[Matter, ServiceListing | None]:
    for matter, listing in services(city):
        if matter.code == code:
            return matter, listing
    raise Problem(
        404, _("no service with service_code %(code)s in %(city)s") % {"code": code, "city": city}
    )


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(start: datetime | None, end: datetime | None) -> Window:
    """The standard's date range: at most 90 days; the most recent 90 days by default."""
    if start and end:
        if end < start:
            raise Problem(400, _("end_date is before start_date"))
        if end - start > WINDOW:
            raise Problem(400, _("start_date and end_date may be at most 90 days apart"))
        return Window(start, end)
    if start:
        return Window(start, start + WINDOW)
    if end:
        return Window(end - WINDOW, end)
    now = clock.now()
    return Window(now - WINDOW, now)


@dataclass
class RequestQuery:
    ids: list[str]
    codes: list[str]
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = MAX_RESULTS


# What a public record shows: loading only these keeps a 1,000-record answer quick.
PUBLIC_FIELDS = (
    "ticket",
    "city",
    "status",
    "text",
    "address",
    "lat",
    "lon",
    "received_at",
    "updated_at",
    "resolve_due",
    "matter__code",
    "matter__name_en",
    "matter__name_zh",
    "lead_unit__name_en",
    "lead_unit__name_zh",
    "jurisdiction__code",
    "jurisdiction__name_en",
    "jurisdiction__name_zh",
    "open311__zipcode",
    "open311__media_url",
)


def _public(qs: QuerySet[Appeal]) -> QuerySet[Appeal]:
    return qs.select_related("matter", "lead_unit", "jurisdiction", "open311").only(*PUBLIC_FIELDS)


def requests(city: str, q: RequestQuery) -> list[Appeal]:
    qs = _public(Appeal.objects.filter(city=city))
    if q.ids:
        # service_request_id overrides every other parameter.
        return list(qs.filter(ticket__in=q.ids[:MAX_RESULTS]).order_by("-received_at", "-id"))
    if q.codes:
        qs = qs.filter(matter__code__in=q.codes)
    if q.statuses and set(q.statuses) != {"open", "closed"}:
        closed = Q(status__in=CLOSED_STATUSES)
        qs = qs.filter(closed if q.statuses == ["closed"] else ~closed)
    if q.updated_after:
        qs = qs.filter(updated_at__gt=q.updated_after)
    if q.updated_before:
        qs = qs.filter(updated_at__lt=q.updated_before)
    if q.start or q.end or not (q.updated_after or q.updated_before):
        w = window(q.start, q.end)
        qs = qs.filter(received_at__gte=w.start, received_at__lte=w.end)
    size = max(1, min(q.page_size, MAX_RESULTS))
    offset = (max(q.page, 1) - 1) * size
    return list(qs.order_by("-received_at", "-id")[offset : offset + size])


def last_public_notes(appeals: list[Appeal]) -> dict[int, str]:
    """Each case's latest public note (a reply, the result), for ``status_notes``."""
    notes: dict[int, str] = {}
    rows = (
        Event.objects.filter(appeal__in=appeals, public=True)
        .exclude(note="")
        .exclude(action="received")
        .order_by("appeal_id", "at", "id")
        .values_list("appeal_id", "note")
    )
    for appeal_id, note in rows:
        notes[appeal_id] = note
    return notes


def updates(
    city: str, start: datetime | None, end: datetime | None, ids: list[str], page: int, size: int
) -> list[Event]:
    """Public timeline events after the case was received (the updates extension)."""
    qs = (
        Event.objects.filter(appeal__city=city, public=True)
        .exclude(action="received")
        .select_related("appeal")
    )
    if ids:
        qs = qs.filter(appeal__ticket__in=ids[:MAX_RESULTS])
    else:
        w = window(start, end)
        qs = qs.filter(at__gte=w.start, at__lte=w.end)
    size = max(1, min(size, MAX_RESULTS))
    offset = (max(page, 1) - 1) * size
    return list(qs.order_by("at", "id")[offset : offset + size])


def find_request(city: str, ticket: str) -> Appeal:
    appeal = _public(Appeal.objects.filter(city=city, ticket=ticket)).first()
    if appeal is None:
        raise Problem(
            404,
            _("no service request with service_request_id %(id)s in %(city)s")
            % {"id": ticket, "city": city},
        )
    return appeal
