"""The alerts and risk register JSON API (/api/risk/…).

Reads go through the selectors (``risk.read``; API keys with the ``risk:read`` scope); actions
through the services (``risk.manage``, people only). Errors are CivitasError, answered as
``{"error": {code, message, details}}`` by civitas.api.
"""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden, InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination, Mapped
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org.models import Unit
from civitas.risk import selectors, services
from civitas.risk.models import Alert, RiskItem

router = Router()


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class AlertOut(Schema):
    id: int
    city: str
    kind: str
    status: str
    category: str
    matter: str | None
    area: str | None
    lat: float | None
    lon: float | None
    radius_m: float | None
    start: date
    end: date
    detected_on: date
    detected_at: datetime
    observed: int
    expected: float
    p_value: float | None
    score: float
    times_seen: int
    snoozed_until: datetime | None
    handled_by: str
    handled_note: str
    risk: str | None


class AppealLinkOut(Schema):
    ticket: str
    matter: str
    place: str
    received_at: datetime
    status: str
    lat: float | None
    lon: float | None


class AlertDetailOut(AlertOut):
    numbers: dict[str, Any]
    appeals: list[AppealLinkOut]


class EventOut(Schema):
    at: datetime
    actor: str
    action: str
    from_level: str
    to_level: str
    note: str
    data: dict[str, Any]


class RiskOut(Schema):
    code: str
    city: str
    title: str
    level: str
    status: str
    owner_unit: str
    area: str
    districts: list[str]
    matter: str | None
    measures: str
    deadline: datetime
    deadline_overdue: bool
    last_review_at: datetime | None
    review_due: datetime
    review_overdue: bool
    escalated_at: datetime | None
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    outcome: str
    outcome_note: str
    version: int


class RiskDetailOut(RiskOut):
    description: str
    events: list[EventOut]
    alerts: list[int]
    appeals: list[AppealLinkOut]


class AlertActionIn(Schema):
    status: str = ""  # the status the client saw: a clash is refused
    note: str = ""
    reason: str = ""
    until: datetime | None = None
    # to make it a risk
    title: str = ""
    level: str = ""
    owner_unit: str = ""
    measures: str = ""
    deadline: datetime | None = None
    area: str = ""
    # to join an open risk
    risk: str = ""


class RiskIn(Schema):
    city: str
    title: str
    level: str
    owner_unit: str
    deadline: datetime
    measures: str = ""
    description: str = ""
    area: str = ""
    matter: str = ""


class RiskActionIn(Schema):
    version: int | None = None
    level: str = ""
    reason: str = ""
    note: str = ""
    measures: str | None = None
    deadline: datetime | None = None
    owner_unit: str = ""
    district: str = ""
    outcome: str = ""


def _actor(request: HttpRequest) -> Any:
    """Who asks; refused at once without the right to read risks (rather than empty lists)."""
    actor = request.auth  # type: ignore[attr-defined]
    if not access.can(actor, "risk.read"):
        raise Forbidden(
            "alerts and the risk register are open to analysts, dispatchers, administrators, "
            "unit leaders and auditors, and to API keys with the risk:read scope",
            details={"action": "risk.read"},
        )
    return actor


def _alert_out(a: Alert) -> dict[str, Any]:
    return {
        "id": a.pk,
        "city": a.city,
        "kind": a.kind,
        "status": a.status,
        "category": a.category,
        "matter": a.matter.code if a.matter else None,
        "area": a.jurisdiction.code if a.jurisdiction else None,
        "lat": a.lat,
        "lon": a.lon,
        "radius_m": a.radius_m,
        "start": a.start,
        "end": a.end,
        "detected_on": a.detected_on,
        "detected_at": a.detected_at,
        "observed": a.observed,
        "expected": a.expected,
        "p_value": a.p_value,
        "score": a.score,
        "times_seen": a.times_seen,
        "snoozed_until": a.snoozed_until,
        "handled_by": a.handled_by,
        "handled_note": a.handled_note,
        "risk": a.risk.code if a.risk_id and a.risk else None,
    }


def _appeals_out(points: list[selectors.AppealPoint]) -> list[dict[str, Any]]:
    return [
        {
            "ticket": p.ticket,
            "matter": p.matter,
            "place": p.place,
            "received_at": p.received_at,
            "status": p.status,
            "lat": p.lat,
            "lon": p.lon,
        }
        for p in points
    ]


def _risk_out(r: RiskItem) -> dict[str, Any]:
    return {
        "code": r.code,
        "city": r.city,
        "title": r.title,
        "level": r.level,
        "status": r.status,
        "owner_unit": r.owner_unit.code,
        "area": r.jurisdiction.code,
        "districts": list(r.districts),
        "matter": r.matter.code if r.matter else None,
        "measures": r.measures,
        "deadline": r.deadline,
        "deadline_overdue": services.deadline_overdue(r),
        "last_review_at": r.last_review_at,
        "review_due": services.review_due(r),
        "review_overdue": services.review_overdue(r),
        "escalated_at": r.escalated_at,
        "created_at": r.created_at,
        "created_by": r.created_by,
        "closed_at": r.closed_at,
        "outcome": r.outcome,
        "outcome_note": r.outcome_note,
        "version": r.version,
    }


def _get_alert(actor: Any, pk: int) -> Alert:
    a = selectors.alert(actor, pk)
    if a is None:
        raise NotFound(f"no alert {pk} that you may see")
    return a


def _get_risk(actor: Any, code: str) -> RiskItem:
    r = selectors.risk(actor, code)
    if r is None:
        raise NotFound(f"no risk {code!r} that you may see")
    return r


def _unit(city: str, code: str, field: str = "owner_unit") -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code, city=city).first()
    if unit is None:
        raise InvalidInput(f"no unit {code!r} in {city}", details={"field": field})
    return unit


def _area(code: str, field: str = "area") -> Jurisdiction | None:
    if not code:
        return None
    j = Jurisdiction.objects.filter(code=code).first()
    if j is None:
        raise InvalidInput(f"no area {code!r}", details={"field": field})
    return j


# -- alerts --------------------------------------------------------------------------------


@router.get("/risk/alerts", response=list[AlertOut])
@paginate(LimitOffsetPagination)
def list_alerts(
    request: HttpRequest,
    kind: str = "",
    status: str = "",
    matter: str = "",
    area: str = "",
    since: date | None = None,
    until: date | None = None,
) -> Mapped:
    """The alerts you may see, new first. ``kind`` and ``status`` take comma-separated lists;
    ``matter`` and ``area`` include their subtrees; ``since``/``until`` bound the detection day."""
    f = selectors.AlertFilters(
        kind=kind, status=status, matter=matter, area=area, since=since, until=until
    )
    return Mapped(selectors.alerts(_actor(request), f).select_related("risk"), _alert_out)


@router.get("/risk/alerts/{pk}", response={200: AlertDetailOut, **ERRORS})
def get_alert(request: HttpRequest, pk: int) -> dict[str, Any]:
    """One alert: why it fired (its numbers) and the appeals behind it (no personal data)."""
    actor = _actor(request)
    a = _get_alert(actor, pk)
    return {
        **_alert_out(a),
        "numbers": a.numbers or {},
        "appeals": _appeals_out(selectors.alert_appeals(actor, a)),
    }


@router.post(
    "/risk/alerts/{pk}/{action}", response={200: AlertDetailOut, 201: RiskDetailOut, **ERRORS}
)
def act_on_alert(
    request: HttpRequest, pk: int, action: str, body: AlertActionIn
) -> Reply[dict[str, Any]]:
    """``acknowledge`` (note), ``snooze`` (until, reason), ``dismiss`` (reason), ``promote``
    (title, level, owner_unit, deadline, measures, area: answers the new risk, 201) or
    ``join`` (risk: the code of an open risk; answers the alert, now pointing to it)."""
    actor = _actor(request)
    a = _get_alert(actor, pk)
    seen = body.status or None
    if action == "acknowledge":
        services.acknowledge(actor=actor, alert=a, note=body.note, expected_status=seen)
    elif action == "snooze":
        services.snooze(
            actor=actor, alert=a, until=body.until, reason=body.reason, expected_status=seen
        )
    elif action == "dismiss":
        services.dismiss(actor=actor, alert=a, reason=body.reason, expected_status=seen)
    elif action == "promote":
        risk = services.promote(
            actor=actor,
            alerts=[a],
            data=services.RiskIn(
                title=body.title,
                level=body.level,
                owner_unit=_unit(a.city, body.owner_unit),
                deadline=body.deadline,
                measures=body.measures,
                jurisdiction=_area(body.area),
            ),
            expected_status=seen,
        )
        return Reply(201, _risk_detail(actor, _get_risk(actor, risk.code)))
    elif action == "join":
        target = _get_risk(actor, body.risk)
        services.add_alert(actor=actor, risk=target, alert=a)
    else:
        raise NotFound(
            f"no alert action {action!r}; use acknowledge, snooze, dismiss, promote or join"
        )
    return Reply(200, get_alert(request, pk))


# -- risks ---------------------------------------------------------------------------------


def _risk_detail(actor: Any, r: RiskItem) -> dict[str, Any]:
    d = selectors.risk_detail(actor, r)
    return {
        **_risk_out(r),
        "description": r.description,
        "events": [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "from_level": e.from_level,
                "to_level": e.to_level,
                "note": e.note,
                "data": e.data,
            }
            for e in d.events
        ],
        "alerts": [a.pk for a in d.alerts],
        "appeals": _appeals_out(d.appeals),
    }


@router.get("/risk/risks", response=list[RiskOut])
@paginate(LimitOffsetPagination)
def list_risks(
    request: HttpRequest,
    level: str = "",
    status: str = "",
    owner: str = "",
    overdue: bool = False,
    review_overdue: bool = False,
) -> Mapped:
    """The register: open before closed, the most serious first, then the nearest deadline.
    ``level`` and ``status`` take comma-separated lists (all statuses when empty)."""
    f = selectors.RiskFilters(
        level=level, status=status, owner=owner, overdue=overdue, review_overdue=review_overdue
    )
    return Mapped(selectors.risks(_actor(request), f), _risk_out)


@router.get("/risk/risks/{code}", response={200: RiskDetailOut, **ERRORS})
def get_risk(request: HttpRequest, code: str) -> dict[str, Any]:
    """One risk with its timeline, its alerts and the appeals behind them."""
    actor = _actor(request)
    return _risk_detail(actor, _get_risk(actor, code))


@router.post("/risk/risks", response={201: RiskDetailOut, **ERRORS})
def create_risk(request: HttpRequest, body: RiskIn) -> Reply[dict[str, Any]]:
    """Open a risk without an alert."""
    actor = _actor(request)
    matter = Matter.objects.filter(code=body.matter).first() if body.matter else None
    if body.matter and matter is None:
        raise InvalidInput(f"no matter {body.matter!r}", details={"field": "matter"})
    risk = services.create_risk(
        actor=actor,
        city=body.city,
        data=services.RiskIn(
            title=body.title,
            level=body.level,
            owner_unit=_unit(body.city, body.owner_unit),
            deadline=body.deadline,
            measures=body.measures,
            description=body.description,
            jurisdiction=_area(body.area),
            matter=matter,
        ),
    )
    return Reply(201, _risk_detail(actor, _get_risk(actor, risk.code)))


@router.post("/risk/risks/{code}/{action}", response={200: RiskDetailOut, **ERRORS})
def act_on_risk(request: HttpRequest, code: str, action: str, body: RiskActionIn) -> dict[str, Any]:
    """``level`` (level, reason), ``update`` (measures, deadline, owner_unit, note),
    ``review`` (note), ``spread`` (district, note, optional level), ``close`` (outcome,
    note), ``reopen`` (reason). Send the ``version`` you saw: a clash is refused (409)."""
    actor = _actor(request)
    r = _get_risk(actor, code)
    v = body.version
    if action == "level":
        services.change_level(
            actor=actor, risk=r, level=body.level, reason=body.reason, expected_version=v
        )
    elif action == "update":
        services.update(
            actor=actor,
            risk=r,
            measures=body.measures,
            deadline=body.deadline,
            owner_unit=_unit(r.city, body.owner_unit),
            note=body.note,
            expected_version=v,
        )
    elif action == "review":
        services.review(actor=actor, risk=r, note=body.note, expected_version=v)
    elif action == "spread":
        district = _area(body.district, "district")
        if district is None:
            raise InvalidInput("choose a district", details={"field": "district"})
        services.spread(
            actor=actor,
            risk=r,
            district=district,
            note=body.note,
            level=body.level or None,
            expected_version=v,
        )
    elif action == "close":
        services.close(
            actor=actor, risk=r, outcome=body.outcome, note=body.note, expected_version=v
        )
    elif action == "reopen":
        services.reopen(actor=actor, risk=r, reason=body.reason, expected_version=v)
    else:
        raise NotFound(
            f"no risk action {action!r}; use level, update, review, spread, close or reopen"
        )
    return _risk_detail(actor, _get_risk(actor, code))
