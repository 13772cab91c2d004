"""Residents' suggestions: propose, support, the threshold that obliges a public answer.

A signed-in resident proposes an improvement for a place; the responsible unit is chosen by
the place (the street office of its street, else the district government, else the nearest
centre) and staff may reassign it with a reason. Others support it, once each and never
their own, while it is open or due. The support count is kept on the suggestion row, which is
locked for every support, so concurrent supports never lose a count and the threshold is
crossed exactly once: the suggestion becomes *due*, the answer is due a number of working
days later (CIVITAS_SUGGESTION_ANSWER_WITHIN, default "15wd" on the city's calendar), and
the unit's people are told. The unit answers publicly (open or due → answered). Staff close
an open or answered suggestion with a reason (a duplicate, out of scope); a *due* one must be
answered first — past the threshold the residents are owed an answer, and closing it would
dodge that. ``flag_overdue`` (scheduled) tells the unit's leaders once when an answer is late.

Transitions::

    open --support reaching the threshold--> due
    open | due --answer--> answered
    open | answered --close--> closed
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.kit import audit, calendar, clock, durations, outbox
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.kit.models import AuditEntry
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Role, Unit, UnitKind, User
from civitas.participation import public
from civitas.participation.models import Suggestion, Support

TITLE_MAX = 200
TEXT_MAX = 5000
REASON_MAX = 300
DEFAULT_THRESHOLD = 30
DEFAULT_ANSWER_WITHIN = "15wd"
# Whom to tell at the unit.
NOTICE_ROLES = (Role.UNIT_LEADER, Role.UNIT_HANDLER)
LIVE = (Suggestion.Status.OPEN, Suggestion.Status.DUE)

S = Suggestion.Status


class StaleSuggestion(Conflict):
    code = "stale"


class IllegalMove(Conflict):
    code = "illegal"


def threshold() -> int:
    value = int(getattr(settings, "CIVITAS_SUGGESTION_THRESHOLD", DEFAULT_THRESHOLD))
    return max(value, 1)


def answer_within() -> durations.Duration:
    return durations.parse(
        str(getattr(settings, "CIVITAS_SUGGESTION_ANSWER_WITHIN", DEFAULT_ANSWER_WITHIN))
    )


def snapshot(s: Suggestion) -> dict[str, Any]:
    """What the audit chain keeps (no text: it may hold personal data the author typed)."""
    return {
        "code": s.code,
        "place": s.jurisdiction.code if s.jurisdiction_id else None,
        "unit": s.unit.code if s.unit_id and s.unit else None,
        "status": s.status,
        "support_count": s.support_count,
        "threshold": s.threshold,
        "answer_due": s.answer_due,
        "version": s.version,
    }


def _person(actor: Any, field: str = "actor") -> User:
    """A signed-in, active person (API keys act for units, not for residents)."""
    if isinstance(actor, ApiKey) or not isinstance(actor, User) or not actor.is_active:
        raise Forbidden(
            _("sign in to take part: suggestions and support come from people"),
            code="not_signed_in",
            details={"field": field},
        )
    return actor


def _clean(value: Any, field: str, limit: int, missing: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(missing, details={"field": field})
    if len(text) > limit:
        raise InvalidInput(
            _("%(field)s: at most %(limit)d characters (this has %(n)d)")
            % {"field": field, "limit": limit, "n": len(text)},
            details={"field": field},
        )
    return text


def _check_version(s: Suggestion, version: int | None) -> None:
    if version is not None and int(version) != s.version:
        raise StaleSuggestion(
            _(
                "%(code)s was changed by someone else meanwhile (version %(now)d, you saw "
                "%(seen)d); reload the page and try again"
            )
            % {"code": s.code, "now": s.version, "seen": int(version)},
            details={"field": "version", "current": s.version},
        )


def _locked(s: Suggestion) -> Suggestion:
    return (
        Suggestion.objects.select_for_update(of=("self",), no_key=True)
        .select_related("jurisdiction", "unit", "unit__jurisdiction", "author")
        .get(pk=s.pk)
    )


# -- the responsible unit -------------------------------------------------------------------


def responsible_unit(place: Jurisdiction) -> Unit | None:
    """The street office of the place's street, else the district government, else the
    nearest centre: walking up from the place, the first level with an active government
    office (a street office preferred), else the first with a centre."""
    codes = [c for c in place.path.strip("/").split("/") if c]
    units = list(
        Unit.objects.filter(
            active=True,
            jurisdiction__code__in=codes,
            kind__in=[UnitKind.GOVERNMENT, UnitKind.CENTRE],
        ).select_related("jurisdiction")
    )
    by_code: dict[str, list[Unit]] = {}
    for u in units:
        by_code.setdefault(u.jurisdiction.code, []).append(u)

    def rank(u: Unit) -> tuple[int, str]:
        return (0 if u.department_type == "street_office" else 1, u.code)

    for code in reversed(codes):
        governments = [u for u in by_code.get(code, []) if u.kind == UnitKind.GOVERNMENT]
        if governments:
            return sorted(governments, key=rank)[0]
    for code in reversed(codes):
        centres = sorted(
            (u for u in by_code.get(code, []) if u.kind == UnitKind.CENTRE), key=lambda u: u.code
        )
        if centres:
            return centres[0]
    return None


def may_handle(actor: Any, s: Suggestion) -> bool:
    """Staff who may answer, close or reassign: participation.manage, and the suggestion's
    unit is theirs or its place lies in their area."""
    if not access.can(actor, "participation.manage"):
        return False
    scope = access.scope_of(actor)
    return (
        scope.everything
        or (s.unit_id is not None and s.unit_id in scope.unit_ids)
        or scope.covers_path(s.jurisdiction_path)
    )


def _require_handler(actor: Any, s: Suggestion) -> None:
    if not may_handle(actor, s):
        raise Forbidden(
            _(
                "only the responsible unit's staff, or staff whose area covers the place, may "
                "answer, close or reassign %(code)s"
            )
            % {"code": s.code},
            details={"action": "participation.manage"},
        )


# -- notices --------------------------------------------------------------------------------


def _tell_unit(unit: Unit | None, subject: str, body: str, topic: str, dedupe: str) -> int:
    people = org_services.people_in(unit, NOTICE_ROLES)
    sent = 0
    for channel, recipient in org_services.notice_addresses(people, fallback=unit):
        if outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=topic,
            dedupe_key=f"{dedupe}:{channel}:{recipient}",
        ):
            sent += 1
    return sent


def tell_author(author: User, subject: str, body: str, topic: str, dedupe: str = "") -> None:
    for channel, recipient in org_services.notice_addresses([author]):
        outbox.enqueue(
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            topic=topic,
            dedupe_key=f"{dedupe}:{channel}:{recipient}" if dedupe else "",
        )


# -- moves ----------------------------------------------------------------------------------


def _place_from(place: Jurisdiction | None, lat: float | None, lon: float | None) -> Jurisdiction:
    if (lat is None) != (lon is None):
        raise InvalidInput(
            _("lat, lon: give both coordinates of the point, or neither"),
            details={"field": "lat" if lat is None else "lon"},
        )
    if lat is not None and lon is not None:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InvalidInput(_("lat, lon: not a point on Earth"), details={"field": "lat"})
        from civitas.geo.locate import locate

        found = locate(lat, lon)
        if found is None:
            raise InvalidInput(
                _("lat, lon: the point lies outside every known area"), details={"field": "lat"}
            )
        located = Jurisdiction.objects.get(pk=found.jurisdiction.id)
        if place is not None and not located.path.startswith(place.path):
            # The point narrows the place, never contradicts it.
            if place.path.startswith(located.path):
                return place
            raise InvalidInput(
                _("lat, lon: the point lies outside %(place)s") % {"place": place.name},
                details={"field": "lat"},
            )
        return located
    if place is None:
        raise InvalidInput(
            _("place: choose the place the suggestion is about"), details={"field": "place"}
        )
    return place


def propose(
    actor: Any,
    *,
    title: str,
    text: str,
    place: Jurisdiction | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Suggestion:
    """A signed-in person proposes; the unit is chosen by the place, the threshold stored."""
    author = _person(actor)
    title = _clean(title, "title", TITLE_MAX, _("title: say in a few words what you suggest"))
    text = _clean(text, "text", TEXT_MAX, _("text: describe the suggestion"))
    where = _place_from(place, lat, lon)
    unit = responsible_unit(where)
    with transaction.atomic():
        s = Suggestion.objects.create(
            code=f"tmp-{uuid.uuid4().hex[:24]}",
            city=where.root_code,
            title=title,
            text=text,
            author=author,
            jurisdiction=where,
            jurisdiction_path=where.path,
            unit=unit,
            threshold=threshold(),
            created_at=clock.now(),
        )
        s.code = f"SG-{s.pk:06d}"
        s.save(update_fields=["code"])
        audit.record(
            actor=author,
            action="suggestion.propose",
            object_type="participation.suggestion",
            object_id=s.code,
            after=snapshot(s),
        )
    return s


def support(actor: Any, s: Suggestion) -> Suggestion:
    """Support ``s`` once; the row is locked, so the count and the crossing are exact."""
    person = _person(actor)
    with transaction.atomic():
        s = _locked(s)
        if s.author_id == person.pk:
            raise Forbidden(
                _("you proposed %(code)s: ask your neighbours to support it") % {"code": s.code},
                code="own_suggestion",
                details={"field": "suggestion"},
            )
        if s.hidden_at is not None:
            raise IllegalMove(
                _("%(code)s was hidden by a moderator and cannot be supported") % {"code": s.code},
                details={"field": "suggestion", "status": s.status},
            )
        if s.status not in LIVE:
            raise IllegalMove(
                _(
                    "%(code)s is %(status)s: support is taken only while it is open or "
                    "awaiting an answer"
                )
                % {"code": s.code, "status": s.get_status_display()},
                details={"field": "suggestion", "status": s.status},
            )
        try:
            with transaction.atomic():
                Support.objects.create(suggestion=s, user=person, at=clock.now())
        except IntegrityError as exc:
            raise Conflict(
                _("you already support %(code)s") % {"code": s.code},
                code="already_supported",
                details={"field": "suggestion"},
            ) from exc
        s.support_count += 1
        fields = ["support_count"]
        crossed = s.status == S.OPEN and s.threshold_reached_at is None
        crossed = crossed and s.support_count >= s.threshold
        if crossed:
            before = snapshot(s)
            now = clock.now()
            s.status = S.DUE
            s.threshold_reached_at = now
            s.answer_due = calendar.add(
                now, answer_within(), calendar=s.city, tz=settings.TIME_ZONE
            )
            s.version += 1
            fields += ["status", "threshold_reached_at", "answer_due", "version"]
        s.save(update_fields=fields)
        if crossed:
            audit.record(
                actor="system",
                action="suggestion.threshold",
                object_type="participation.suggestion",
                object_id=s.code,
                before=before,
                after=snapshot(s),
            )
            _tell_unit(
                s.unit,
                _("Suggestion %(code)s needs your public answer") % {"code": s.code},
                _(
                    "%(count)d residents support suggestion %(code)s (%(title)s). Your unit "
                    "must answer it publicly by %(due)s."
                )
                % {
                    "count": s.support_count,
                    "code": s.code,
                    "title": public.scrub(s.title),
                    "due": s.answer_due.strftime("%Y-%m-%d %H:%M") if s.answer_due else "",
                },
                "participation.suggestion_due",
                f"suggestion-due:{s.pk}:{s.unit_id}",
            )
    return s


def supports(actor: Any, s: Suggestion) -> bool:
    if not isinstance(actor, User) or not actor.pk:
        return False
    return Support.objects.filter(suggestion=s, user_id=actor.pk).exists()


def answer(actor: Any, s: Suggestion, *, version: int | None, text: str) -> Suggestion:
    """The unit's public answer: open or due → answered."""
    _require_handler(actor, s)
    body = _clean(text, "answer", TEXT_MAX, _("answer: write the unit's answer to the residents"))
    with transaction.atomic():
        s = _locked(s)
        _check_version(s, version)
        if s.status not in LIVE:
            raise IllegalMove(
                _("%(code)s is %(status)s: only an open or due suggestion is answered")
                % {"code": s.code, "status": s.get_status_display()},
                details={"field": "status", "status": s.status},
            )
        before = snapshot(s)
        now = clock.now()
        s.status = S.ANSWERED
        s.answer = body
        s.answered_by = audit.actor_label(actor)[:120]
        s.answered_at = now
        s.version += 1
        s.save(update_fields=["status", "answer", "answered_by", "answered_at", "version"])
        audit.record(
            actor=actor,
            action="suggestion.answer",
            object_type="participation.suggestion",
            object_id=s.code,
            before=before,
            after=snapshot(s),
        )
        tell_author(
            s.author,
            _("Your suggestion %(code)s was answered") % {"code": s.code},
            _("%(unit)s answered your suggestion %(code)s (%(title)s) publicly.")
            % {
                "unit": s.unit.name if s.unit else "",
                "code": s.code,
                "title": public.scrub(s.title),
            },
            "participation.suggestion_answered",
            f"suggestion-answered:{s.pk}",
        )
    return s


def close(actor: Any, s: Suggestion, *, version: int | None, reason: str) -> Suggestion:
    """Close with a reason: open or answered → closed. A due suggestion is answered first."""
    _require_handler(actor, s)
    why = _clean(
        reason, "reason", REASON_MAX, _("reason: say why it is closed (a duplicate, out of scope)")
    )
    with transaction.atomic():
        s = _locked(s)
        _check_version(s, version)
        if s.status == S.DUE:
            raise IllegalMove(
                _(
                    "%(code)s has passed its threshold: the residents are owed an answer; "
                    "answer it (saying why, if it is a duplicate or out of scope) before closing"
                )
                % {"code": s.code},
                code="answer_owed",
                details={"field": "status", "status": s.status},
            )
        if s.status not in (S.OPEN, S.ANSWERED):
            raise IllegalMove(
                _("%(code)s is already closed") % {"code": s.code},
                details={"field": "status", "status": s.status},
            )
        before = snapshot(s)
        s.status = S.CLOSED
        s.version += 1
        s.save(update_fields=["status", "version"])
        audit.record(
            actor=actor,
            action="suggestion.close",
            object_type="participation.suggestion",
            object_id=s.code,
            before=before,
            after=snapshot(s),
            reason=why,
        )
        tell_author(
            s.author,
            _("Your suggestion %(code)s was closed") % {"code": s.code},
            _("Your suggestion %(code)s (%(title)s) was closed: %(reason)s")
            % {"code": s.code, "title": public.scrub(s.title), "reason": public.scrub(why)},
            "participation.suggestion_closed",
        )
    return s


def reassign(
    actor: Any, s: Suggestion, *, version: int | None, unit: Unit | None, reason: str
) -> Suggestion:
    """Give an open or due suggestion to another unit, with a reason."""
    if not access.can(actor, "participation.manage"):
        raise Forbidden(
            _("only staff who manage participation may reassign suggestions"),
            details={"action": "participation.manage"},
        )
    _require_handler(actor, s)
    why = _clean(reason, "reason", REASON_MAX, _("reason: say why another unit should answer"))
    if unit is None or not unit.active:
        raise InvalidInput(_("unit: choose an active unit"), details={"field": "unit"})
    with transaction.atomic():
        s = _locked(s)
        _check_version(s, version)
        if unit.city != s.city:
            raise InvalidInput(
                _("unit: %(unit)s belongs to another city") % {"unit": unit.code},
                details={"field": "unit"},
            )
        if unit.pk == s.unit_id:
            raise InvalidInput(
                _("unit: %(unit)s already answers for %(code)s")
                % {"unit": unit.code, "code": s.code},
                details={"field": "unit"},
            )
        if s.status not in LIVE:
            raise IllegalMove(
                _("%(code)s is %(status)s: only an open or due suggestion changes hands")
                % {"code": s.code, "status": s.get_status_display()},
                details={"field": "status", "status": s.status},
            )
        before = snapshot(s)
        s.unit = unit
        s.version += 1
        s.save(update_fields=["unit", "version"])
        audit.record(
            actor=actor,
            action="suggestion.reassign",
            object_type="participation.suggestion",
            object_id=s.code,
            before=before,
            after=snapshot(s),
            reason=why,
        )
        if s.status == S.DUE:
            _tell_unit(
                unit,
                _("Suggestion %(code)s needs your public answer") % {"code": s.code},
                _("Suggestion %(code)s (%(title)s) was passed to your unit: %(reason)s")
                % {"code": s.code, "title": public.scrub(s.title), "reason": public.scrub(why)},
                "participation.suggestion_due",
                f"suggestion-due:{s.pk}:{unit.pk}",
            )
    return s


def is_overdue(s: Suggestion, now: datetime | None = None) -> bool:
    return bool(s.status == S.DUE and s.answer_due and s.answer_due < (now or clock.now()))


def flag_overdue(now: datetime | None = None) -> dict[str, int]:
    """Tell the unit's leaders, once, about each answer that is late (scheduled)."""
    now = now or clock.now()
    flagged = 0
    late = Suggestion.objects.filter(status=S.DUE, answer_due__lt=now).select_related("unit")
    for s in late.order_by("answer_due", "pk"):
        with transaction.atomic():
            s = _locked(s)
            if not is_overdue(s, now):
                continue
            done = AuditEntry.objects.filter(
                action="suggestion.overdue",
                object_type="participation.suggestion",
                object_id=s.code,
            ).exists()
            if done:
                continue
            audit.record(
                actor="system",
                action="suggestion.overdue",
                object_type="participation.suggestion",
                object_id=s.code,
                after=snapshot(s),
            )
            leaders = org_services.people_in(s.unit, [Role.UNIT_LEADER])
            for channel, recipient in org_services.notice_addresses(leaders, fallback=s.unit):
                outbox.enqueue(
                    channel=channel,
                    recipient=recipient,
                    subject=_("The answer to suggestion %(code)s is late") % {"code": s.code},
                    body=_(
                        "%(count)d residents support suggestion %(code)s (%(title)s); its "
                        "public answer was due %(due)s."
                    )
                    % {
                        "count": s.support_count,
                        "code": s.code,
                        "title": public.scrub(s.title),
                        "due": s.answer_due.strftime("%Y-%m-%d %H:%M") if s.answer_due else "",
                    },
                    topic="participation.suggestion_overdue",
                    dedupe_key=f"suggestion-overdue:{s.pk}:{channel}:{recipient}",
                )
            flagged += 1
    return {"flagged": flagged}


def get(code: str) -> Suggestion:
    s = (
        Suggestion.objects.select_related("jurisdiction", "unit", "author")
        .filter(Q(code=code))
        .first()
    )
    if s is None:
        raise NotFound(_("no suggestion %(code)s") % {"code": code}, details={"field": "code"})
    return s
