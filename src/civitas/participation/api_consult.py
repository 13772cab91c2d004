"""/api/participation/consultations…: public consultations.

Reading is open to everyone (no key, no sign-in): opened consultations, their documents'
metadata, counts and comments under pseudonyms; phones, identity numbers and e-mail addresses
are masked in every text (the office's too: title, plan, answer and changes).
Drafts are read by the office's staff only. Comments and support come from signed-in people
(a session; an API key acts for a unit, not a resident, and is refused). Staff create, open,
close, extend, answer and feed the stability assessment with their session. Errors are
``{"error": {code, message, details}}`` (civitas.api).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as Reply

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import InvalidInput, NotFound
from civitas.org.models import Unit
from civitas.participation import consultations as svc
from civitas.participation import selectors_consult as sel
from civitas.participation.models import Comment, Consultation
from civitas.participation.public import scrub
from civitas.risk.models import StabilityAssessment

router = Router(tags=["consultations"])


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class CountsOut(Schema):
    participants: int
    in_favour: int
    against: int
    neutral: int
    comments: int


class DocumentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


class ConsultationOut(Schema):
    code: str
    city: str
    title: str
    status: str
    unit: str
    unit_name: str
    area: str
    area_name: str
    opens_at: datetime | None
    closes_at: datetime
    url: str


class ConsultationDetailOut(ConsultationOut):
    body: str
    geometry: dict[str, Any] | None
    answer: str
    changes: str
    answered_at: datetime | None
    counts: CountsOut
    documents: list[DocumentOut]
    assessment: str | None = None
    fed_at: datetime | None = None
    version: int
    # After an answer: why the result was not fed to the linked assessment ("" when it was).
    feed_note: str = ""


class CommentOut(Schema):
    id: int
    author: str
    position: str
    text: str
    hidden: bool
    hidden_reason: str
    created_at: datetime
    supporters: int


class CreateIn(Schema):
    title: str
    body: str
    unit: str
    area: str
    closes_at: datetime
    geometry: dict[str, Any] | None = None
    assessment: str | None = None


class CommentIn(Schema):
    position: str
    text: str


class ActionIn(Schema):
    version: int | None = None
    closes_at: datetime | None = None
    reason: str = ""
    answer: str = ""
    changes: str = ""


def _viewer(request: HttpRequest) -> Any:
    """Who reads a public endpoint: the signed-in person, else nobody (the public)."""
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


def _out(c: Consultation) -> dict[str, Any]:
    return {
        "code": c.code,
        "city": c.city,
        "title": scrub(c.title),
        "status": c.status,
        "unit": c.unit.code,
        "unit_name": c.unit.name,
        "area": c.jurisdiction.code,
        "area_name": c.jurisdiction.name,
        "opens_at": c.opens_at,
        "closes_at": c.closes_at,
        "url": _url("participation-consultation", c.code),
    }


def _detail(actor: Any, c: Consultation) -> dict[str, Any]:
    r = sel.counts(c)
    staff = actor is not None and svc.may_manage_consultation(actor, c)
    return {
        **_out(c),
        "body": scrub(c.body),
        "geometry": c.area,
        "answer": scrub(c.answer),
        "changes": scrub(c.changes),
        "answered_at": c.answered_at,
        "counts": {
            "participants": r.participants,
            "in_favour": r.in_favour,
            "against": r.against,
            "neutral": r.neutral,
            "comments": r.comments,
        },
        "documents": [
            {
                "id": d.pk,
                "name": d.name,
                "content_type": d.content_type,
                "size": d.size,
                "sha256": d.sha256,
                "url": _url("participation-consultation-document", c.code, d.pk),
            }
            for d in sel.documents(c)
        ],
        "assessment": c.assessment.code if staff and c.assessment else None,
        "fed_at": c.fed_at if staff else None,
        "version": c.version,
    }


def _get(request: HttpRequest, code: str) -> Consultation:
    return sel.get(_viewer(request) or getattr(request, "auth", None), code)


@router.get("/consultations", response=list[ConsultationOut], auth=None)
def list_consultations(request: HttpRequest, status: str = "", city: str = "") -> list[Any]:
    if status and status not in sel.PUBLIC:
        raise InvalidInput(
            "status must be one of open, closed, answered", details={"field": "status"}
        )
    return [_out(c) for c in sel.public_consultations(status=status, city=city)[:200]]


@router.get("/consultations/{code}", response={200: ConsultationDetailOut, **ERRORS}, auth=None)
def get_consultation(request: HttpRequest, code: str) -> dict[str, Any]:
    c = _get(request, code)
    return _detail(_viewer(request), c)


@router.get("/consultations/{code}/comments", response={200: list[CommentOut], **ERRORS}, auth=None)
def list_comments(request: HttpRequest, code: str) -> list[Any]:
    c = _get(request, code)
    return [
        {
            "id": k.id,
            "author": k.author,
            "position": k.position,
            "text": k.text,
            "hidden": k.hidden,
            "hidden_reason": k.hidden_reason,
            "created_at": k.created_at,
            "supporters": k.supporters,
        }
        for k in sel.comments(c, _viewer(request))
    ]


@router.post("/consultations/{code}/comments", response={201: CommentOut, **ERRORS})
def add_comment(request: HttpRequest, code: str, body: CommentIn) -> Reply[dict[str, Any]]:
    actor = request.auth  # type: ignore[attr-defined]
    c = sel.get(actor, code)
    k = svc.comment(actor, c, position=body.position, text=body.text)
    view = next(v for v in sel.comments(c, actor) if v.id == k.pk)
    return Reply(
        201,
        {
            "id": view.id,
            "author": view.author,
            "position": view.position,
            "text": view.text,
            "hidden": view.hidden,
            "hidden_reason": view.hidden_reason,
            "created_at": view.created_at,
            "supporters": view.supporters,
        },
    )


@router.post("/consultations/{code}/comments/{pk}/support", response={200: dict, **ERRORS})
def support_comment(request: HttpRequest, code: str, pk: int) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    c = sel.get(actor, code)
    target = Comment.objects.filter(consultation=c, pk=pk).select_related("consultation").first()
    if target is None:
        raise NotFound("there is no such comment")
    done = svc.support(actor, target)
    return {"id": done.pk, "supporters": done.supporters.count()}


def _lookup(model: Any, field: str, value: str | None) -> Any:
    if not value:
        return None
    qs = model.objects.filter(code=value)
    found = qs.first()
    if found is None:
        raise InvalidInput(f"{field}: there is no {value!r}", details={"field": field})
    return found


@router.post("/consultations", response={201: ConsultationDetailOut, **ERRORS})
def create_consultation(request: HttpRequest, body: CreateIn) -> Reply[dict[str, Any]]:
    actor = request.auth  # type: ignore[attr-defined]
    c = svc.create(
        actor,
        unit=_lookup(Unit, "unit", body.unit),
        jurisdiction=_lookup(Jurisdiction, "area", body.area),
        title=body.title,
        body=body.body,
        closes_at=body.closes_at,
        area=body.geometry,
        assessment=_lookup(StabilityAssessment, "assessment", body.assessment),
    )
    return Reply(201, _detail(actor, c))


ACTIONS = ("open", "close", "extend", "answer", "feed")


@router.post("/consultations/{code}/{action}", response={200: ConsultationDetailOut, **ERRORS})
def act(request: HttpRequest, code: str, action: str, body: ActionIn) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    c = sel.get(actor, code)
    if action == "open":
        c = svc.open_(actor, c, version=body.version)
    elif action == "close":
        c = svc.close(actor, c, version=body.version, reason=body.reason)
    elif action == "extend":
        c = svc.extend(actor, c, version=body.version, closes_at=body.closes_at, reason=body.reason)
    elif action == "answer":
        done = svc.answer_and_feed(
            actor, c, version=body.version, answer_text=body.answer, changes=body.changes
        )
        return {**_detail(actor, sel.get(actor, code)), "feed_note": done.note}
    elif action == "feed":
        c = svc.feed(actor, c)
    else:
        raise NotFound(f"no action {action!r}; one of {', '.join(ACTIONS)}")
    return _detail(actor, sel.get(actor, c.code))
