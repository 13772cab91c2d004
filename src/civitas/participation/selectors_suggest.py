"""Reads of suggestions: the public list (no login) and the staff list of their units.

The public sees every suggestion that is not hidden, its place, counts, status and answer;
authors only as pseudonyms (civitas.participation.public), text scrubbed of personal data.
Staff read through ``access.readable`` (their units and area), due and overdue first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.org import access
from civitas.participation import moderation, public
from civitas.participation.models import Suggestion
from civitas.participation.suggestions import is_overdue

SORTS = {
    "support": ("-support_count", "-created_at", "-pk"),
    "newest": ("-created_at", "-pk"),
}


def _filtered(
    qs: QuerySet[Suggestion], *, search: str = "", status: str = "", area: str = ""
) -> QuerySet[Suggestion]:
    if status in Suggestion.Status.values:
        qs = qs.filter(status=status)
    if area:
        place = Jurisdiction.objects.filter(code=area).first()
        qs = qs.filter(jurisdiction_path__startswith=place.path) if place else qs.none()
    search = (search or "").strip()[:80]
    if search:
        qs = qs.filter(Q(code__iexact=search) | _matching(qs, search))
    return qs


# Text that scrubbing may change holds a digit (phones, identity numbers) or an "@" (e-mail).
# Should public.scrub ever mask text with neither, this pattern must grow with it.
_MAY_HOLD_MASKED = r"[0-9@]"
# At most this many such suggestions are checked against their public text per search.
SCRUBBED_CHECK_LIMIT = 2000


def _matching(qs: QuerySet[Suggestion], search: str) -> Q:
    """The suggestions whose *public* title or text (as :func:`public.scrub` shows it)
    contains ``search``, ignoring case.

    Searching the stored text would let anyone recover masked digits, or an e-mail address,
    one guess at a time (does "81234567" find it?). So a search matches only what the public
    view shows. The raw match is a cheap first filter in the database: what the public sees is
    the stored text with some parts masked, so a text it finds also holds ``search`` as
    typed, except across a mask. A title and text with no digit and no "@" are left unchanged
    by scrubbing: for those the database's answer is exact. The others (those that may hold
    something masked) are checked here against their scrubbed text, the newest first and at
    most SCRUBBED_CHECK_LIMIT of them: a search can miss some of those, never reveal."""
    found = qs.filter(Q(title__icontains=search) | Q(text__icontains=search))
    risky = Q(title__regex=_MAY_HOLD_MASKED) | Q(text__regex=_MAY_HOLD_MASKED)
    exact = found.exclude(risky).values("pk")
    ids: list[int] = []
    needle = search.casefold()
    for pk, title, text in (
        found.filter(risky)
        .order_by("-pk")
        .values_list("pk", "title", "text")[:SCRUBBED_CHECK_LIMIT]
    ):
        if needle in public.scrub(title).casefold() or needle in public.scrub(text).casefold():
            ids.append(pk)
    return Q(pk__in=exact) | Q(pk__in=ids)


def public_suggestions(
    *, search: str = "", status: str = "", area: str = "", sort: str = "support", city: str = ""
) -> QuerySet[Suggestion]:
    """What everyone sees: suggestions not hidden by a moderator."""
    qs = Suggestion.objects.filter(hidden_at__isnull=True).select_related("jurisdiction", "unit")
    if city:
        qs = qs.filter(city=city)
    qs = _filtered(qs, search=search, status=status, area=area)
    return qs.order_by(*SORTS.get(sort, SORTS["support"]))


def public_areas() -> QuerySet[Jurisdiction]:
    """Places to filter by: the cities, districts and streets that have suggestions."""
    paths = set(
        Suggestion.objects.filter(hidden_at__isnull=True).values_list(
            "jurisdiction_path", flat=True
        )[:5000]
    )
    codes = {c for p in paths for c in p.strip("/").split("/")[:3]}
    return Jurisdiction.objects.filter(code__in=codes).select_related("level").order_by("path")


def staff_suggestions(
    actor: Any, *, search: str = "", status: str = "", area: str = ""
) -> QuerySet[Suggestion]:
    """The suggestions of the actor's units and area: due (overdue first), open, the rest."""
    if not access.can(actor, "participation.read"):
        return Suggestion.objects.none()
    qs = access.readable(actor, Suggestion.objects.select_related("jurisdiction", "unit"))
    qs = _filtered(qs, search=search, status=status, area=area)
    now = clock.now()
    order = Case(
        When(status=Suggestion.Status.DUE, answer_due__lt=now, then=Value(0)),
        When(status=Suggestion.Status.DUE, then=Value(1)),
        When(status=Suggestion.Status.OPEN, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return qs.annotate(urgency=order).order_by("urgency", "answer_due", "-support_count", "-pk")


@dataclass
class PublicView:
    """A suggestion as a page or the API shows it to ``viewer``."""

    code: str
    title: str
    text: str
    hidden: bool
    hidden_notice: str
    author: str
    place: str
    place_code: str
    unit: str
    status: str
    status_label: str
    support_count: int
    threshold: int
    progress: int  # percent, capped at 100
    remaining: int
    created_at: datetime
    answer_due: datetime | None
    overdue: bool
    answer: str
    answered_at: datetime | None
    own: bool


def view(s: Suggestion, viewer: Any = None) -> PublicView:
    hidden = moderation.is_hidden(s)
    hidden_for_viewer = hidden and not moderation.sees_hidden(viewer, s)
    own = bool(getattr(viewer, "pk", None)) and getattr(viewer, "pk", None) == s.author_id
    return PublicView(
        code=s.code,
        title=moderation.hidden_notice(s) if hidden_for_viewer else public.scrub(s.title),
        text="" if hidden_for_viewer else public.scrub(s.text),
        hidden=hidden,
        hidden_notice=moderation.hidden_notice(s) if hidden else "",
        author=public.pseudonym(s.author_id),
        place=s.jurisdiction.name,
        place_code=s.jurisdiction.code,
        unit=s.unit.name if s.unit_id and s.unit else "",
        status=s.status,
        status_label=s.get_status_display(),
        support_count=s.support_count,
        threshold=s.threshold,
        progress=min(100, round(100 * s.support_count / s.threshold)) if s.threshold else 100,
        remaining=max(0, s.threshold - s.support_count),
        created_at=s.created_at,
        answer_due=s.answer_due,
        overdue=is_overdue(s),
        answer="" if hidden_for_viewer else public.scrub(s.answer),
        answered_at=s.answered_at,
        own=own,
    )
