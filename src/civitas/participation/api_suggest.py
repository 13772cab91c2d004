"""/api/participation/…: suggestions and moderation.

The list and detail of suggestions are public (no sign-in): authors as pseudonyms, text
scrubbed of personal data, a hidden suggestion's text replaced by the moderator's reason.
Proposing, supporting and reporting are for signed-in people (session with CSRF, or a
person's bearer token; API keys act for units and are refused). Answering, closing and
reassigning are for the responsible unit's staff; the moderation queue and decisions for
moderators of the area. Errors are CivitasError, answered as ``{"error": {code, message,
details}}`` by civitas.api.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as Reply

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.org import access
from civitas.org.models import Unit
from civitas.participation import moderation, public, selectors_suggest, suggestions
from civitas.participation.models import Report, Suggestion

router = Router()
MAX_LIMIT = 100


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class SuggestionOut(Schema):
    code: str
    title: str
    text: str
    hidden: bool
    hidden_notice: str
    author: str
    place: str
    place_name: str
    unit: str
    status: str
    support_count: int
    threshold: int
    created_at: datetime
    answer_due: datetime | None
    overdue: bool
    answer: str
    answered_at: datetime | None
    version: int


class SuggestionPage(Schema):
    count: int
    items: list[SuggestionOut]


class SuggestionIn(Schema):
    title: str
    text: str
    place: str = ""
    lat: float | None = None
    lon: float | None = None


class AnswerIn(Schema):
    version: int | None = None
    answer: str


class CloseIn(Schema):
    version: int | None = None
    reason: str


class ReassignIn(Schema):
    version: int | None = None
    unit: str
    reason: str


class ReportIn(Schema):
    target: str
    target_id: int
    reason: str


class ReportOut(Schema):
    id: int
    target: str
    target_id: int
    state: str
    at: datetime


class ReasonIn(Schema):
    reason: str = ""


class QueueReportOut(Schema):
    reason: str
    at: datetime


class QueueItemOut(Schema):
    target: str
    target_id: int
    label: str
    author: str
    title: str
    text: str
    hidden: bool
    reports: list[QueueReportOut]


class DecisionOut(Schema):
    target: str
    target_id: int
    hidden: bool
    hidden_reason: str
    reports_dismissed: int


def _out(s: Suggestion, viewer: Any) -> dict[str, Any]:
    v = selectors_suggest.view(s, viewer)
    return {
        "code": v.code,
        "title": v.title,
        "text": v.text,
        "hidden": v.hidden,
        "hidden_notice": v.hidden_notice,
        "author": v.author,
        "place": v.place_code,
        "place_name": v.place,
        "unit": s.unit.code if s.unit_id and s.unit else "",
        "status": v.status,
        "support_count": v.support_count,
        "threshold": v.threshold,
        "created_at": v.created_at,
        "answer_due": v.answer_due,
        "overdue": v.overdue,
        "answer": v.answer,
        "answered_at": v.answered_at,
        "version": s.version,
    }


def _viewer(request: HttpRequest) -> Any:
    return getattr(request, "auth", None) or getattr(request, "user", None)


def _bounded(value: int, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidInput(
            f"{field}: between {low} and {high}", details={"field": field, "value": value}
        )
    return value


@router.get(
    "/suggestions", response={200: SuggestionPage, **ERRORS}, auth=None, tags=["suggestions"]
)
def list_suggestions(
    request: HttpRequest,
    q: str = "",
    status: str = "",
    area: str = "",
    sort: str = "support",
    limit: int = 20,
    offset: int = 0,
) -> dict[str, Any]:
    if status and status not in Suggestion.Status.values:
        raise InvalidInput(
            f"status: one of {', '.join(Suggestion.Status.values)}",
            details={"field": "status"},
        )
    if sort not in selectors_suggest.SORTS:
        raise InvalidInput(
            f"sort: one of {', '.join(selectors_suggest.SORTS)}", details={"field": "sort"}
        )
    limit = _bounded(limit, "limit", 1, MAX_LIMIT)
    offset = _bounded(offset, "offset", 0, 10**9)
    qs = selectors_suggest.public_suggestions(search=q, status=status, area=area, sort=sort)
    viewer = _viewer(request)
    return {
        "count": qs.count(),
        "items": [_out(s, viewer) for s in qs[offset : offset + limit]],
    }


@router.get(
    "/suggestions/{code}",
    response={200: SuggestionOut, **ERRORS},
    auth=None,
    tags=["suggestions"],
)
def get_suggestion(request: HttpRequest, code: str) -> dict[str, Any]:
    return _out(suggestions.get(code), _viewer(request))


@router.post("/suggestions", response={201: SuggestionOut, **ERRORS}, tags=["suggestions"])
def propose(request: HttpRequest, data: SuggestionIn) -> Any:
    place = None
    if data.place:
        place = Jurisdiction.objects.filter(code=data.place).first()
        if place is None:
            raise InvalidInput(
                f"place: no place with the code {data.place!r}", details={"field": "place"}
            )
    s = suggestions.propose(
        request.auth,  # type: ignore[attr-defined]
        title=data.title,
        text=data.text,
        place=place,
        lat=data.lat,
        lon=data.lon,
    )
    return Reply(201, _out(s, request.auth))  # type: ignore[attr-defined]


@router.post(
    "/suggestions/{code}/support", response={200: SuggestionOut, **ERRORS}, tags=["suggestions"]
)
def support(request: HttpRequest, code: str) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    return _out(suggestions.support(actor, suggestions.get(code)), actor)


@router.post(
    "/suggestions/{code}/answer", response={200: SuggestionOut, **ERRORS}, tags=["suggestions"]
)
def answer(request: HttpRequest, code: str, data: AnswerIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    s = suggestions.answer(actor, suggestions.get(code), version=data.version, text=data.answer)
    return _out(s, actor)


@router.post(
    "/suggestions/{code}/close", response={200: SuggestionOut, **ERRORS}, tags=["suggestions"]
)
def close(request: HttpRequest, code: str, data: CloseIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    s = suggestions.close(actor, suggestions.get(code), version=data.version, reason=data.reason)
    return _out(s, actor)


@router.post(
    "/suggestions/{code}/reassign",
    response={200: SuggestionOut, **ERRORS},
    tags=["suggestions"],
)
def reassign(request: HttpRequest, code: str, data: ReassignIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    s = suggestions.get(code)
    unit = Unit.objects.filter(code=data.unit).first()
    if unit is None:
        raise InvalidInput(f"unit: no unit with the code {data.unit!r}", details={"field": "unit"})
    s = suggestions.reassign(actor, s, version=data.version, unit=unit, reason=data.reason)
    return _out(s, actor)


@router.post("/reports", response={201: ReportOut, **ERRORS}, tags=["moderation"])
def report(request: HttpRequest, data: ReportIn) -> Any:
    r = moderation.report(
        request.auth,  # type: ignore[attr-defined]
        target=data.target,
        target_id=data.target_id,
        reason=data.reason,
    )
    return Reply(
        201,
        {"id": r.pk, "target": r.target, "target_id": r.target_id, "state": r.state, "at": r.at},
    )


def _moderator(request: HttpRequest) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not access.can(actor, "participation.moderate"):
        raise Forbidden(
            "moderation is for unit leaders, dispatchers and administrators of the area",
            details={"action": "participation.moderate"},
        )
    return actor


@router.get("/moderation", response={200: list[QueueItemOut], **ERRORS}, tags=["moderation"])
def moderation_queue(request: HttpRequest, target: str = "") -> list[dict[str, Any]]:
    actor = _moderator(request)
    if target and target not in Report.Target.values:
        raise InvalidInput("target: comment or suggestion", details={"field": "target"})
    out = []
    for g in moderation.queue(actor, target=target):
        obj = g.obj
        out.append(
            {
                "target": g.target,
                "target_id": g.target_id,
                "label": g.label,
                "author": public.pseudonym(obj.author_id) if obj is not None else "",
                "title": public.scrub(obj.title) if isinstance(obj, Suggestion) else "",
                "text": public.scrub(obj.text) if obj is not None else "",
                "hidden": moderation.is_hidden(obj),
                "reports": [{"reason": public.scrub(r.reason), "at": r.at} for r in g.reports],
            }
        )
    return out


@router.post(
    "/moderation/{target}/{target_id}/{action}",
    response={200: DecisionOut, **ERRORS},
    tags=["moderation"],
)
def decide(
    request: HttpRequest, target: str, target_id: int, action: str, data: ReasonIn
) -> dict[str, Any]:
    actor = _moderator(request)
    dismissed = 0
    if action == "hide":
        obj = moderation.hide(actor, target=target, target_id=target_id, reason=data.reason)
    elif action == "unhide":
        obj = moderation.unhide(actor, target=target, target_id=target_id, reason=data.reason)
    elif action == "dismiss":
        dismissed = moderation.dismiss(
            actor, target=target, target_id=target_id, reason=data.reason
        )
        obj = moderation.item(target, target_id)
    else:
        raise InvalidInput(
            "action: hide, unhide or dismiss", details={"field": "action", "value": action}
        )
    return {
        "target": moderation.target_of(obj),
        "target_id": obj.pk,
        "hidden": moderation.is_hidden(obj),
        "hidden_reason": obj.hidden_reason,
        "reports_dismissed": dismissed,
    }
