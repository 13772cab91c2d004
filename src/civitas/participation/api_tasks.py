"""/api/participation/…: organisations, participants and tasks.

The lists of active organisations and open tasks are public (no sign-in, public fields only);
an organisation's detail with its contacts is for the staff of its area. Taking, withdrawing,
publishing and confirming are for signed-in people (the services decide who). Errors are
CivitasError, answered as ``{"error": {code, message, details}}`` by civitas.api.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden, InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination, Mapped
from civitas.org import access
from civitas.org.models import Unit
from civitas.participation import orgs, public, volunteering
from civitas.participation import selectors_tasks as sel
from civitas.participation.models import Organisation, OrgKind, Task, TaskTake

router = Router()


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class OrgOut(Schema):
    code: str
    kind: str
    name_en: str
    name_zh: str
    area: str
    offers: list[str]


class OrgDetailOut(OrgOut):
    state: str
    state_reason: str
    credit_code: str | None
    contact_name: str | None
    contact_phone: str | None
    partner_unit: str | None
    registered_at: datetime


class TaskOut(Schema):
    code: str
    city: str
    kind: str
    title: str
    description: str
    publisher: str
    area: str
    place: str
    starts_at: datetime
    ends_at: datetime
    slots: int
    taken: int
    hours_expected: Decimal | None
    status: str


class TakeOut(Schema):
    id: int
    task: str
    user: int
    organisation: str | None
    state: str
    hours: Decimal | None
    taken_at: datetime
    confirmed_at: datetime | None


class TaskStaffOut(TaskOut):
    appeal: str | None
    source_ref: str
    version: int
    takes: list[TakeOut]


class TaskIn(Schema):
    kind: str
    title: str
    description: str
    publisher: str
    area: str
    starts_at: datetime
    ends_at: datetime
    slots: int = 1
    place: str = ""
    hours_expected: Decimal | None = None
    appeal: str = ""
    source_ref: str = ""


class TakeIn(Schema):
    organisation: str = ""


class CompleteIn(Schema):
    take: int
    hours: Decimal | None = None
    no_show: bool = False
    note: str = ""


class ParticipantOut(Schema):
    state: str
    home: str
    is_volunteer: bool
    is_party_member: bool
    organisation: str | None
    note: str
    hours: Decimal
    completed: int
    takes: list[TakeOut]


class GroupOut(Schema):
    key: str
    name_en: str
    name_zh: str
    people: int
    takes: int
    hours: Decimal


class FiguresOut(Schema):
    start: datetime | None
    end: datetime | None
    hours: Decimal
    people: int
    takes: int
    tasks: int
    by_community: list[GroupOut]
    by_organisation: list[GroupOut]
    by_kind: list[GroupOut]


def _org_out(o: Organisation) -> dict[str, Any]:
    return {
        "code": o.code,
        "kind": o.kind,
        "name_en": o.name_en,
        "name_zh": o.name_zh,
        "area": o.jurisdiction.code,
        "offers": list(o.offers),
    }


def _task_out(t: Task, taken: int | None = None) -> dict[str, Any]:
    # Tasks often arise from appeals, so a resident's phone is easily pasted into one: its
    # texts are scrubbed as every public text is.
    return {
        "code": t.code,
        "city": t.city,
        "kind": t.kind,
        "title": public.scrub(t.title),
        "description": public.scrub(t.description),
        "publisher": t.publisher.code,
        "area": t.jurisdiction.code,
        "place": public.scrub(t.place),
        "starts_at": t.starts_at,
        "ends_at": t.ends_at,
        "slots": t.slots,
        "taken": taken if taken is not None else sel.live_count(t),
        "hours_expected": t.hours_expected,
        "status": t.status,
    }


def _take_out(k: TaskTake) -> dict[str, Any]:
    return {
        "id": k.pk,
        "task": k.task.code,
        "user": k.user_id,
        "organisation": k.organisation.code if k.organisation else None,
        "state": k.state,
        "hours": k.hours,
        "taken_at": k.taken_at,
        "confirmed_at": k.confirmed_at,
    }


def _task_detail(actor: Any, t: Task) -> dict[str, Any]:
    staff = access.readable(actor, Task.objects.filter(pk=t.pk)).exists()
    out = _task_out(t)
    if not staff:
        return out
    takes = TaskTake.objects.filter(task=t).select_related("task", "organisation")
    return {
        **out,
        "appeal": t.appeal.ticket if t.appeal else None,
        "source_ref": t.source_ref,
        "version": t.version,
        "takes": [_take_out(k) for k in takes],
    }


# -- organisations --------------------------------------------------------------------------


@router.get("/organisations", response=list[OrgOut], auth=None)
@paginate(LimitOffsetPagination)
def list_organisations(request: HttpRequest, city: str = "", kind: str = "") -> Any:
    """Active organisations: name, kind, area and what they offer (never contacts)."""
    if kind and kind not in OrgKind.values:
        raise InvalidInput(
            f"kind: choose among {', '.join(OrgKind.values)}", details={"field": "kind"}
        )
    return Mapped(sel.public_organisations(city or None, kind), _org_out)


@router.get("/organisations/{code}", response={200: OrgDetailOut, **ERRORS})
def get_organisation(request: HttpRequest, code: str) -> dict[str, Any]:
    """An organisation with its state and, for the staff of its area, its contacts."""
    actor = request.auth  # type: ignore[attr-defined]
    o = access.readable(actor, Organisation.objects.filter(code=code)).first()
    if o is None:
        raise NotFound(f"no organisation {code} that you may read")
    see = orgs.may_see_contacts(actor, o)
    return {
        **_org_out(o),
        "state": o.state,
        "state_reason": public.scrub(o.state_reason),
        "credit_code": o.credit_code if see else None,
        "contact_name": o.contact_name if see else None,
        "contact_phone": o.contact_phone if see else None,
        "partner_unit": o.partner_unit.code if o.partner_unit else None,
        "registered_at": o.registered_at,
    }


# -- tasks ----------------------------------------------------------------------------------


@router.get("/tasks", response=list[TaskOut], auth=None)
@paginate(LimitOffsetPagination)
def list_tasks(request: HttpRequest, city: str = "") -> Any:
    """Tasks open to take (public fields)."""
    return Mapped(sel.public_tasks(city or None), lambda t: _task_out(t, t.taken))


@router.get("/tasks/{code}", response={200: TaskStaffOut | TaskOut, **ERRORS}, auth=None)
def get_task(request: HttpRequest, code: str) -> dict[str, Any]:
    """A task: public fields for everyone; its takes and source for the staff of its area."""
    actor = request.user if request.user.is_authenticated else None
    t, _staff = sel.task_for(actor, code)
    if t is None:
        raise NotFound(f"no task {code}")
    return _task_detail(actor, t)


def _person(request: HttpRequest) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    return orgs.person(actor)


@router.post("/tasks", response={201: TaskStaffOut, **ERRORS})
def publish_task(request: HttpRequest, body: TaskIn) -> Reply[dict[str, Any]]:
    actor = _person(request)
    publisher = Unit.objects.filter(code=body.publisher).select_related("jurisdiction").first()
    if publisher is None:
        raise InvalidInput(f"publisher: no unit {body.publisher}", details={"field": "publisher"})
    area = Jurisdiction.objects.filter(code=body.area).first()
    if area is None:
        raise InvalidInput(f"area: no place {body.area}", details={"field": "area"})
    t = volunteering.publish(
        actor=actor,
        data=volunteering.TaskIn(
            kind=body.kind,
            title=body.title,
            description=body.description,
            publisher=publisher,
            jurisdiction=area,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            slots=body.slots,
            place=body.place,
            hours_expected=body.hours_expected,
            appeal_ticket=body.appeal,
            source_ref=body.source_ref,
        ),
    )
    return Reply(201, _task_detail(actor, t))


@router.post("/tasks/{code}/take", response={201: TakeOut, **ERRORS})
def take_task(request: HttpRequest, code: str, body: TakeIn) -> Reply[dict[str, Any]]:
    k = volunteering.take(actor=_person(request), task=code, organisation=body.organisation or None)
    return Reply(201, _take_out(k))


@router.post("/tasks/{code}/withdraw", response={200: TakeOut, **ERRORS})
def withdraw_task(request: HttpRequest, code: str) -> dict[str, Any]:
    return _take_out(volunteering.withdraw(actor=_person(request), task=code))


@router.post("/tasks/{code}/complete", response={200: TakeOut, **ERRORS})
def complete_take(request: HttpRequest, code: str, body: CompleteIn) -> dict[str, Any]:
    """Confirm a take: done with ``hours``, or ``no_show``."""
    k = volunteering.complete(
        actor=_person(request),
        task=code,
        take_id=body.take,
        hours=body.hours,
        no_show=body.no_show,
        note=body.note,
    )
    return _take_out(k)


# -- participants and figures ---------------------------------------------------------------


@router.get("/participants/me", response={200: ParticipantOut, **ERRORS})
def my_record(request: HttpRequest) -> dict[str, Any]:
    """The caller's own record (双报到), tasks taken and hours."""
    m = sel.mine(_person(request))
    if m.participant is None:
        raise NotFound("you have not reported to a community")
    p = m.participant
    return {
        "state": p.state,
        "home": p.home.code,
        "is_volunteer": p.is_volunteer,
        "is_party_member": p.is_party_member,
        "organisation": p.organisation.code if p.organisation else None,
        "note": p.note,
        "hours": m.hours,
        "completed": m.done,
        "takes": [_take_out(k) for k in m.takes],
    }


def _day(value: date | None) -> datetime | None:
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from django.conf import settings

    if value is None:
        return None
    return datetime.combine(value, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE)) + timedelta(0)


@router.get("/figures", response={200: FiguresOut, **ERRORS})
def figures(request: HttpRequest, start: date | None = None, end: date | None = None) -> Any:
    """Hours and people of completed takes, by community, organisation and kind, for tasks
    starting in [start, end] (days, both included) in the caller's area."""
    from datetime import timedelta

    actor = request.auth  # type: ignore[attr-defined]
    if not access.can(actor, "participation.read"):
        raise Forbidden(
            "the figures are open to staff and API keys with participation:read",
            details={"action": "participation.read"},
        )
    if start and end and end < start:
        raise InvalidInput("end: before start", details={"field": "end"})
    for name, day in (("start", start), ("end", end)):
        # Before 1970 the zone's old local mean time has offsets in seconds (not RFC 3339),
        # and the last day of year 9999 has no next day: neither is a period of figures.
        if day is not None and not date(1970, 1, 1) <= day <= date(9998, 12, 31):
            raise InvalidInput(
                f"{name}: a day between 1970-01-01 and 9998-12-31", details={"field": name}
            )
    s = _day(start)
    e = _day(end)
    f = sel.figures(actor, s, e + timedelta(days=1) if e else None)

    def rows(items: list[dict[str, Any]], key: str, en: str, zh: str) -> list[dict[str, Any]]:
        return [
            {
                "key": r[key],
                "name_en": r[en] if en else r[key],
                "name_zh": r[zh] if zh else r[key],
                "people": r["people"],
                "takes": r["takes"],
                "hours": r["hours"],
            }
            for r in items
        ]

    return {
        "start": f.start,
        "end": f.end,
        "hours": f.hours,
        "people": f.people,
        "takes": f.takes,
        "tasks": f.tasks,
        "by_community": rows(
            f.by_community,
            "task__jurisdiction__code",
            "task__jurisdiction__name_en",
            "task__jurisdiction__name_zh",
        ),
        "by_organisation": rows(
            f.by_organisation,
            "organisation__code",
            "organisation__name_en",
            "organisation__name_zh",
        ),
        "by_kind": rows(f.by_kind, "task__kind", "", ""),
    }
