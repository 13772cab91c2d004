"""The appeals JSON API: submit, list, read a case, act on it, and the resident's tracking.

Handlers parse, open the transaction, call one service or selector, and render. Errors are
CivitasError (mapped to ``{"error": {code, message, details}}`` in civitas.api).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.appeals import intake, selectors, services
from civitas.appeals import workflow as wf
from civitas.appeals.models import (
    Appeal,
    Assignment,
    Channel,
    Request,
    Satisfaction,
    Status,
    Summons,
)
from civitas.appeals.parties import TrackingToken, may_see_contact, parties_of
from civitas.appeals.schemas import (
    ActionIn,
    AppealOut,
    AppealSubmitIn,
    CaseOut,
    ErrorOut,
    InfoIn,
    RateIn,
    SubmittedOut,
    TrackOut,
)
from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden, InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org.models import ApiKey, Role, Unit

router = Router()
ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}
TRACK_NOTES = frozenset({"reply", "resolve", "request_info", "resident_info", "progress"})


def _actor(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# -- submission ---------------------------------------------------------------------------------


def _channel_for(actor: Any, asked: str) -> tuple[str, Any]:
    """The channel of a submission and the resident account it belongs to, by who submits."""
    if isinstance(actor, ApiKey):
        if not access.can(actor, "appeals.submit"):
            raise Forbidden(
                "this API key may not submit appeals (it needs the appeals:submit scope)",
                details={"scope": "appeals:submit"},
            )
        return Channel.API, None
    scope = access.scope_of(actor)
    if "appeals.enter" in scope.actions:
        default = Channel.GRID if Role.GRID_WORKER in scope.roles else Channel.HOTLINE
        channel = asked or default
        if channel not in (Channel.HOTLINE, Channel.GRID, Channel.WEB):
            raise InvalidInput(
                f"staff enter appeals through the hotline or grid channel, not {channel!r}",
                details={"field": "channel"},
            )
        return channel, None
    return Channel.WEB, actor


def _submitted(appeal: Appeal, token: str | None) -> dict[str, Any]:
    return {
        "ticket": appeal.ticket,
        "status": appeal.status,
        "received_at": appeal.received_at,
        "matter": appeal.matter.code if appeal.matter else None,
        "jurisdiction": appeal.jurisdiction.code if appeal.jurisdiction else None,
        "lead_unit": appeal.lead_unit.code if appeal.lead_unit else None,
        "token": token,
        "track_url": f"/api/track/{token}" if token else None,
    }


@router.post("/appeals", response={200: SubmittedOut, 201: SubmittedOut, **ERRORS})
def submit_appeal(
    request: HttpRequest, body: AppealSubmitIn, response: HttpResponse
) -> Reply[dict[str, Any]]:
    """Submit an appeal. Send an ``Idempotency-Key`` header to make retries safe: a retry
    returns the first appeal (200, ``Idempotent-Replayed: true``, no token)."""
    actor = _actor(request)
    channel, resident = _channel_for(actor, body.channel)
    data = intake.AppealIn(
        city=body.city,
        text=body.text,
        channel=channel,
        kind=body.kind,
        title=body.title,
        matter_code=body.matter,
        urgency=body.urgency,
        lat=body.lat,
        lon=body.lon,
        address=body.address,
        contact=intake.ContactIn(
            name=body.contact.name,
            phone=body.contact.phone,
            email=body.contact.email,
            on_behalf_of=body.contact.on_behalf_of,
            wants_notifications=body.contact.wants_notifications,
        ),
    )
    key = request.headers.get("Idempotency-Key", "").strip()
    done = intake.submit_once(actor=actor, data=data, resident=resident, idempotency_key=key)
    appeal = Appeal.objects.select_related("matter", "jurisdiction", "lead_unit").get(
        pk=done.appeal.pk
    )
    if not done.created:
        response["Idempotent-Replayed"] = "true"
        return Reply(200, _submitted(appeal, None))
    return Reply(201, _submitted(appeal, done.token))


# -- reading ----------------------------------------------------------------------------------


@router.get("/appeals", response=list[AppealOut])
@paginate(LimitOffsetPagination)
def list_appeals(
    request: HttpRequest,
    status: str = "",
    matter: str = "",
    jurisdiction: str = "",
    lead_unit: str = "",
    received_after: datetime | None = None,
    received_before: datetime | None = None,
) -> QuerySet[Appeal]:
    """The appeals you may see, newest first. ``status`` takes a comma-separated list;
    ``matter`` and ``jurisdiction`` include their subtrees."""
    qs = selectors.appeals(_actor(request))
    if status:
        wanted = [s.strip() for s in status.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(Status.values))
        if unknown:
            raise InvalidInput(f"unknown status {unknown}", details={"field": "status"})
        qs = qs.filter(status__in=wanted)
    if matter:
        m = Matter.objects.filter(code=matter).first()
        if m is None:
            raise InvalidInput(f"no matter {matter!r}", details={"field": "matter"})
        qs = qs.filter(matter__path__startswith=m.path)
    if jurisdiction:
        j = Jurisdiction.objects.filter(code=jurisdiction).first()
        if j is None:
            raise InvalidInput(
                f"no jurisdiction {jurisdiction!r}", details={"field": "jurisdiction"}
            )
        qs = qs.filter(jurisdiction_path__startswith=j.path)
    if lead_unit:
        qs = qs.filter(lead_unit__code=lead_unit)
    if received_after is not None:
        qs = qs.filter(received_at__gte=received_after)
    if received_before is not None:
        qs = qs.filter(received_at__lt=received_before)
    return qs.order_by("-received_at", "-pk")


def _get_case(actor: Any, ticket: str) -> Appeal:
    appeal = selectors.case(actor, ticket)
    if appeal is None:
        raise NotFound(f"no appeal {ticket!r} that you may see")
    return appeal


def _case_out(actor: Any, appeal: Appeal) -> Appeal:
    """The case as ``actor`` may see it (CaseOut reads ``appeal.api_view``)."""
    staff = access.can(actor, "appeals.read")
    events = appeal.events.select_related("unit").order_by("at", "pk")
    if not staff:
        events = events.filter(public=True)
    appeal.api_view = {  # type: ignore[attr-defined]
        "contact": getattr(appeal, "contact", None) if may_see_contact(actor, appeal) else None,
        "events": list(events),
        "assignments": list(appeal.assignments.select_related("unit")) if staff else [],
        "summonses": list(appeal.summonses.select_related("unit", "by_unit")) if staff else [],
        "requests": list(appeal.requests.all()) if staff else [],
        "allowed_actions": wf.allowed_actions(appeal, parties_of(actor, appeal)),
    }
    return appeal


@router.get("/appeals/{ticket}", response={200: CaseOut, **ERRORS})
def get_appeal(request: HttpRequest, ticket: str) -> Appeal:
    """One case with its timeline. Contact details only for those who must call back;
    internal events only for staff."""
    actor = _actor(request)
    return _case_out(actor, _get_case(actor, ticket))


# -- actions ----------------------------------------------------------------------------------


def _unit(appeal: Appeal, code: str, fld: str = "unit") -> Unit:
    if not code:
        raise InvalidInput("choose a unit", details={"field": fld})
    unit = Unit.objects.filter(code=code, city=appeal.city).first()
    if unit is None:
        raise InvalidInput(f"no unit {code!r} in {appeal.city}", details={"field": fld})
    return unit


def _units_of(actor: Any) -> list[int]:
    """The units a person handles work for, or the unit an API key acts for."""
    if isinstance(actor, ApiKey):
        return [actor.unit_id] if actor.unit_id else []
    return selectors.my_units(actor)


def _my_part(actor: Any, appeal: Appeal, code: str) -> Unit:
    """The co-handling unit the actor acts for (their own unit, never someone else's)."""
    mine = _units_of(actor)
    parts = Assignment.objects.filter(
        appeal=appeal, role=Assignment.Role.CO, unit_id__in=mine
    ).select_related("unit")
    if code:
        parts = parts.filter(unit__code=code)
    part = parts.order_by("-dispatched_at").first()
    if part is None:
        raise Forbidden(f"your unit has no part in {appeal.ticket}")
    return part.unit


def _summons(actor: Any, appeal: Appeal, pk: int | None) -> Summons:
    qs = Summons.objects.filter(appeal=appeal).select_related("unit")
    if pk is not None:
        found = qs.filter(pk=pk).first()
        if found is None:
            raise InvalidInput(f"no summons {pk} on this case", details={"field": "summons"})
        if found.unit_id not in _units_of(actor):
            raise Forbidden("you may report only for your own department")
        return found
    found = qs.filter(unit_id__in=_units_of(actor), reported_at__isnull=True).first()
    if found is None:
        raise Forbidden(f"your department has no summons to report on {appeal.ticket}")
    return found


def _request(appeal: Appeal, pk: int | None, kind: str) -> Request:
    qs = Request.objects.filter(appeal=appeal, kind=kind)
    found = qs.filter(pk=pk).first() if pk is not None else qs.filter(state="pending").first()
    if found is None:
        raise InvalidInput(f"no pending {kind} request on this case", details={"field": "request"})
    return found


def _required_bool(value: bool | None, fld: str) -> bool:
    if value is None:
        raise InvalidInput(f"answer {fld}", details={"field": fld})
    return value


Handler = Callable[[Any, Appeal, ActionIn], Appeal]

ACTIONS: dict[str, Handler] = {
    "dispatch": lambda a, c, b: services.dispatch(
        actor=a, appeal=c, unit=_unit(c, b.unit), reason=b.reason
    ),
    "redispatch": lambda a, c, b: services.dispatch(
        actor=a, appeal=c, unit=_unit(c, b.unit), reason=b.reason
    ),
    "accept": lambda a, c, b: services.accept(actor=a, appeal=c),
    "return": lambda a, c, b: services.return_case(actor=a, appeal=c, reason=b.reason),
    "arbitrate": lambda a, c, b: services.arbitrate(
        actor=a, appeal=c, unit=_unit(c, b.unit), reason=b.reason
    ),
    "add_co_handler": lambda a, c, b: services.add_co_handler(
        actor=a, appeal=c, unit=_unit(c, b.unit), part=b.part
    ),
    "co_done": lambda a, c, b: services.co_done(
        actor=a, appeal=c, unit=_my_part(a, c, b.unit), note=b.note
    ),
    "progress": lambda a, c, b: services.progress(actor=a, appeal=c, note=b.note),
    "internal_note": lambda a, c, b: services.internal_note(actor=a, appeal=c, note=b.note),
    "request_info": lambda a, c, b: services.request_info(
        actor=a, appeal=c, question=b.question or b.note
    ),
    "resident_info": lambda a, c, b: services.resident_info(
        actor=a, appeal=c, answer=b.answer or b.note
    ),
    "reply": lambda a, c, b: services.reply(actor=a, appeal=c, text=b.text or b.note),
    "request_extension": lambda a, c, b: services.request_extension(
        actor=a, appeal=c, days=b.days or 0, reason=b.reason
    ),
    "request_suspension": lambda a, c, b: services.request_suspension(
        actor=a, appeal=c, reason=b.reason
    ),
    "decide_extension": lambda a, c, b: services.decide_request(
        actor=a,
        appeal=c,
        request=_request(c, b.request, Request.Kind.EXTENSION),
        approve=_required_bool(b.approve, "approve"),
        note=b.note,
    ),
    "decide_suspension": lambda a, c, b: services.decide_request(
        actor=a,
        appeal=c,
        request=_request(c, b.request, Request.Kind.SUSPENSION),
        approve=_required_bool(b.approve, "approve"),
        note=b.note,
    ),
    "resume": lambda a, c, b: services.resume(actor=a, appeal=c, note=b.note),
    "whistle": lambda a, c, b: services.whistle(
        actor=a,
        appeal=c,
        units=[_unit(c, code, "units") for code in b.units],
        note=b.note,
        minutes=b.minutes,
    ),
    "report_summons": lambda a, c, b: services.report_summons(
        actor=a, appeal=c, summons=_summons(a, c, b.summons), note=b.note
    ),
    "resolve": lambda a, c, b: services.resolve(actor=a, appeal=c, result=b.result or b.note),
    "rate": lambda a, c, b: services.rate(
        actor=a,
        appeal=c,
        responded=_required_bool(b.responded, "responded"),
        solved=_required_bool(b.solved, "solved"),
        satisfaction=b.satisfaction,
        comment=b.comment,
        by_callback=b.by_callback,
    ),
    "reopen": lambda a, c, b: services.reopen(actor=a, appeal=c, reason=b.reason),
    "close_review": lambda a, c, b: services.close_review(actor=a, appeal=c, reason=b.reason),
    "escalate": lambda a, c, b: services.escalate(actor=a, appeal=c, note=b.note),
    "mark_duplicate": lambda a, c, b: services.mark_duplicate(
        actor=a, appeal=c, of=_other_case(a, c, b.of)
    ),
    "relocate": lambda a, c, b: services.relocate(
        actor=a, appeal=c, jurisdiction=_jurisdiction(b.jurisdiction), note=b.note
    ),
    "reclassify": lambda a, c, b: services.reclassify(
        actor=a, appeal=c, matter=_matter(c, b.matter), note=b.note
    ),
}


def _other_case(actor: Any, appeal: Appeal, ticket: str) -> Appeal:
    if not ticket:
        raise InvalidInput("name the case this one duplicates", details={"field": "of"})
    other = selectors.case(actor, ticket)
    if other is None:
        raise InvalidInput(f"no case {ticket!r} that you may see", details={"field": "of"})
    return other


def _jurisdiction(code: str) -> Jurisdiction:
    j = Jurisdiction.objects.filter(code=code).first() if code else None
    if j is None:
        raise InvalidInput(f"no jurisdiction {code!r}", details={"field": "jurisdiction"})
    return j


def _matter(appeal: Appeal, code: str) -> Matter:
    m = Matter.objects.filter(code=code, catalogue=appeal.city).first() if code else None
    if m is None:
        raise InvalidInput(f"no matter {code!r} in this catalogue", details={"field": "matter"})
    return m


def _locked(appeal: Appeal, version: int | None) -> Appeal:
    """The case, locked; refused when the caller saw an older version of it."""
    locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if version is not None and locked.version != version:
        raise wf.StaleCase(
            f"{locked.ticket} changed while you were looking at it (now: "
            f"{locked.get_status_display()}); reload the case and try again",
            details={"version": locked.version},
        )
    return locked


@router.post("/appeals/{ticket}/actions/{action}", response={200: CaseOut, **ERRORS})
def act(request: HttpRequest, ticket: str, action: str, body: ActionIn) -> Appeal:
    """Take an action on a case. ``version`` (optional) refuses the move with 409 when the
    case changed since you read it. Illegal moves and stale versions: 409; not your move:
    403; missing or malformed fields: 422."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(
            f"unknown action {action!r}; use one of {', '.join(sorted(ACTIONS))}",
            details={"actions": sorted(ACTIONS)},
        )
    actor = _actor(request)
    appeal = _get_case(actor, ticket)
    with transaction.atomic():
        handler(actor, _locked(appeal, body.version), body)
    return _case_out(actor, _get_case(actor, ticket))


# -- the resident's tracking (token in the path; no account, no CSRF) ------------------------


def _tracked(token: str) -> tuple[Appeal, TrackingToken]:
    appeal = selectors.by_token(token)
    if appeal is None:
        raise NotFound("no appeal with this tracking code")
    return appeal, TrackingToken(appeal.pk)


def _track_out(appeal: Appeal) -> dict[str, Any]:
    events = appeal.events.filter(public=True).order_by("at", "pk")
    return {
        "ticket": appeal.ticket,
        "kind": appeal.kind,
        "title": appeal.title,
        "text": appeal.text,
        "status": appeal.status,
        "status_label": str(appeal.get_status_display()),
        "received_at": appeal.received_at,
        "resolve_due": appeal.resolve_due,
        "lead_unit_name": appeal.lead_unit.name if appeal.lead_unit else None,
        "can_rate": appeal.status == Status.RESOLVED,
        "can_answer": appeal.status == Status.WAITING_RESIDENT,
        "events": [
            {
                "at": e.at,
                "action": e.action,
                "status": e.to_status,
                "note": e.note if e.action in TRACK_NOTES else "",
            }
            for e in events
        ],
    }


@router.get("/track/{token}", response={200: TrackOut, **ERRORS}, auth=None, tags=["tracking"])
def track(request: HttpRequest, token: str) -> dict[str, Any]:
    """The resident's view of their appeal: status and public steps, without internal notes
    or staff names."""
    appeal, _ = _tracked(token)
    return _track_out(appeal)


@router.post(
    "/track/{token}/rate", response={200: TrackOut, **ERRORS}, auth=None, tags=["tracking"]
)
def track_rate(request: HttpRequest, token: str, body: RateIn) -> dict[str, Any]:
    """The resident's verdict on a resolved appeal."""
    appeal, actor = _tracked(token)
    if body.satisfaction not in Satisfaction.values:
        raise InvalidInput(
            f"satisfaction must be one of {', '.join(Satisfaction.values)}",
            details={"field": "satisfaction"},
        )
    with transaction.atomic():
        services.rate(
            actor=actor,
            appeal=appeal,
            responded=body.responded,
            solved=body.solved,
            satisfaction=body.satisfaction,
            comment=body.comment,
        )
    appeal.refresh_from_db()
    return _track_out(appeal)


@router.post(
    "/track/{token}/info", response={200: TrackOut, **ERRORS}, auth=None, tags=["tracking"]
)
def track_info(request: HttpRequest, token: str, body: InfoIn) -> dict[str, Any]:
    """The resident's answer when the unit asked for more information."""
    appeal, actor = _tracked(token)
    with transaction.atomic():
        services.resident_info(actor=actor, appeal=appeal, answer=body.answer)
    appeal.refresh_from_db()
    return _track_out(appeal)
