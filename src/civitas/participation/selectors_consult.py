"""Public consultations: reads.

The public (no sign-in) sees every consultation that has been opened — open, closed or
answered — never a draft. Staff see, besides, the drafts of their area or units
(``access.readable``). Comments appear under their authors' pseudonyms, with phones, identity
numbers and e-mail addresses typed into them masked; a hidden comment shows only that a
moderator hid it and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import NotFound
from civitas.org import access
from civitas.org.models import Unit
from civitas.participation import consultations
from civitas.participation.models import Comment, Consultation, Document, Position
from civitas.participation.public import pseudonym, scrub
from civitas.risk.models import StabilityAssessment

PUBLIC = (
    Consultation.Status.OPEN,
    Consultation.Status.CLOSED,
    Consultation.Status.ANSWERED,
)


def _base() -> QuerySet[Consultation]:
    return Consultation.objects.select_related("unit", "jurisdiction", "assessment")


def public_consultations(*, status: str = "", city: str = "") -> QuerySet[Consultation]:
    qs = _base().filter(status__in=PUBLIC)
    if status in PUBLIC:
        qs = qs.filter(status=status)
    if city:
        qs = qs.filter(city=city)
    return qs.annotate(n_comments=Count("comments")).order_by("-opens_at", "-pk")


def staff_consultations(actor: Any) -> QuerySet[Consultation]:
    """Every consultation the actor may read as staff (drafts included)."""
    return access.readable(actor, _base()).order_by("-created_at", "-pk")


def drafts(actor: Any) -> QuerySet[Consultation]:
    return staff_consultations(actor).filter(status=Consultation.Status.DRAFT)


def get(actor: Any, code: str) -> Consultation:
    """A consultation as ``actor`` may see it: any opened one, or a draft they may read."""
    found = _base().filter(code=code, status__in=PUBLIC).first()
    if found is None and actor is not None:
        found = staff_consultations(actor).filter(code=code).first()
    if found is None:
        raise NotFound(_("There is no consultation %(code)s.") % {"code": code})
    return found


def is_public(c: Consultation) -> bool:
    return c.status in PUBLIC


@dataclass(frozen=True)
class CommentView:
    """A comment as the public sees it."""

    id: int
    author: str
    position: str
    position_label: str
    text: str
    hidden: bool
    hidden_reason: str
    created_at: datetime
    supporters: int
    own: bool
    supported: bool


def comments(c: Consultation, viewer: Any = None) -> list[CommentView]:
    viewer_id = getattr(viewer, "pk", None) if getattr(viewer, "is_authenticated", False) else None
    rows = (
        Comment.objects.filter(consultation=c)
        .annotate(n=Count("supporters"))
        .order_by("created_at", "pk")
    )
    mine: set[int] = set()
    if viewer_id is not None:
        mine = set(
            Comment.supporters.through.objects.filter(
                comment__consultation=c, user_id=viewer_id
            ).values_list("comment_id", flat=True)
        )
    labels = dict(Position.choices)
    out = []
    for com in rows:
        hidden = com.hidden_at is not None
        out.append(
            CommentView(
                id=com.pk,
                author=pseudonym(com.author_id),
                position=com.position,
                position_label=str(labels.get(com.position, com.position)),
                text="" if hidden else scrub(com.text),
                hidden=hidden,
                hidden_reason=scrub(com.hidden_reason) if hidden else "",
                created_at=com.created_at,
                supporters=com.n,
                own=viewer_id is not None and com.author_id == viewer_id,
                supported=com.pk in mine,
            )
        )
    return out


def counts(c: Consultation) -> consultations.Result:
    return consultations.result(c)


def documents(c: Consultation) -> QuerySet[Document]:
    return c.documents.order_by("added_at", "pk")


def document(actor: Any, code: str, pk: int) -> Document:
    """A document the actor may download: of an opened consultation, or of a draft they may
    read as staff."""
    c = get(actor, code)
    d = c.documents.filter(pk=pk).first()
    if d is None:
        raise NotFound(_("There is no such document."))
    return d


def area_map(c: Consultation) -> dict[str, Any]:
    """GeoJSON for the page's map: the place (role "self") and the drawn area (role "child")."""
    features: list[dict[str, Any]] = []
    if c.jurisdiction.boundary:
        features.append(c.jurisdiction.as_feature(role="self"))
    if c.area:
        features.append(
            {
                "type": "Feature",
                "geometry": c.area,
                "properties": {
                    "name": f"{c.code}-area",
                    "label": _("Area consulted on"),
                    "role": "child",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# -- choices for the staff form ---------------------------------------------------------------


def units_for(actor: Any) -> QuerySet[Unit]:
    """Units the actor may consult for: their own, and those in the areas they cover."""
    scope = access.scope_of(actor)
    if "participation.manage" not in scope.actions:
        return Unit.objects.none()
    qs = Unit.objects.filter(active=True).select_related("jurisdiction")
    if scope.everything:
        return qs.order_by("code")
    q = Q(pk__in=scope.unit_ids)
    for p in scope.paths:
        q |= Q(jurisdiction__path__startswith=p)
    return qs.filter(q).order_by("code")


def places_for(actor: Any) -> QuerySet[Jurisdiction]:
    """Places inside the areas of those units."""
    units = units_for(actor)
    paths = sorted({u.jurisdiction.path for u in units[:200]}, key=len)
    kept: list[str] = []
    for p in paths:
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    if not kept:
        return Jurisdiction.objects.none()
    q = Q()
    for p in kept:
        q |= Q(path__startswith=p)
    return Jurisdiction.objects.filter(q).select_related("level").order_by("path")


def assessments_for(actor: Any) -> QuerySet[StabilityAssessment]:
    """Draft assessments the actor may read (those a consultation can still feed)."""
    return access.readable(
        actor, StabilityAssessment.objects.filter(state=StabilityAssessment.State.DRAFT)
    ).order_by("-created_at", "-pk")
