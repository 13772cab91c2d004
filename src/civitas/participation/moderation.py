"""Moderation of public text: suggestions and consultation comments.

Anyone signed in reports an item with a reason, once per item. Staff holding
``participation.moderate`` whose area covers the item's place see the open reports grouped
per item, and decide: *hide* the item with a reason (public pages then show "hidden by a
moderator: <reason>" instead of the text; its open reports become "hidden"), *dismiss* the
open reports (the text stays), or *unhide* a hidden item with a reason. Every decision is in
the audit chain and the author is told through the outbox. The author still sees their own
hidden text. Hiding and unhiding comments goes through here as well (the fields
``hidden_at``, ``hidden_by``, ``hidden_reason`` of :class:`~civitas.participation.models.
Moderated`); the consultation pages render them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org import access
from civitas.org.models import User
from civitas.participation import public
from civitas.participation.models import Comment, Report, Suggestion
from civitas.participation.suggestions import REASON_MAX, tell_author

T = Report.Target
Item = Comment | Suggestion
MODELS: dict[str, type[Comment] | type[Suggestion]] = {T.COMMENT: Comment, T.SUGGESTION: Suggestion}


class AlreadyReported(Conflict):
    code = "already_reported"


class IllegalMove(Conflict):
    code = "illegal"


def _target_name(target: str) -> str:
    target = str(target or "").strip().lower()
    if target not in MODELS:
        raise InvalidInput(
            _("target: report a comment or a suggestion (not %(target)r)") % {"target": target},
            details={"field": "target", "allowed": sorted(MODELS)},
        )
    return target


def _query(target: str) -> Any:
    if target == T.COMMENT:
        return Comment.objects.select_related("consultation", "author")
    return Suggestion.objects.select_related("jurisdiction", "author")


def item(target: str, target_id: Any, *, lock: bool = False) -> Item:
    """The comment or suggestion reported (NotFound naming ``target_id``)."""
    target = _target_name(target)
    try:
        pk = int(target_id)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            _("target_id: give the number of the %(target)s") % {"target": target},
            details={"field": "target_id"},
        ) from exc
    qs = _query(target)
    if lock:
        qs = qs.select_for_update(of=("self",), no_key=True)
    found: Item | None = qs.filter(pk=pk).first()
    if found is None:
        raise NotFound(
            _("no %(target)s %(id)s") % {"target": target, "id": pk},
            details={"field": "target_id"},
        )
    return found


def target_of(obj: Item) -> str:
    return T.COMMENT if isinstance(obj, Comment) else T.SUGGESTION


def path_of(obj: Item) -> str:
    if isinstance(obj, Comment):
        return obj.consultation.jurisdiction_path
    return obj.jurisdiction_path


def city_of(obj: Item) -> str:
    return obj.consultation.city if isinstance(obj, Comment) else obj.city


def label_of(obj: Item) -> str:
    if isinstance(obj, Comment):
        return _("comment #%(id)s on %(code)s") % {"id": obj.pk, "code": obj.consultation.code}
    return obj.code


def may_moderate(actor: Any, obj: Item) -> bool:
    return access.can(actor, "participation.moderate", path=path_of(obj))


def _require_moderator(actor: Any, obj: Item) -> None:
    if not may_moderate(actor, obj):
        raise Forbidden(
            _("only moderators whose area covers %(item)s may decide on it")
            % {"item": label_of(obj)},
            details={"action": "participation.moderate"},
        )


def _reason(reason: Any, missing: str) -> str:
    text = str(reason or "").strip()
    if not text:
        raise InvalidInput(missing, details={"field": "reason"})
    if len(text) > REASON_MAX:
        raise InvalidInput(
            _("reason: at most %(limit)d characters") % {"limit": REASON_MAX},
            details={"field": "reason"},
        )
    return text


# -- what a viewer sees ---------------------------------------------------------------------


def is_hidden(obj: Any) -> bool:
    return getattr(obj, "hidden_at", None) is not None


def hidden_notice(obj: Any) -> str:
    """What the public reads in place of hidden text; the reason often quotes what was hidden,
    so it is scrubbed like the text itself."""
    return _("hidden by a moderator: %(reason)s") % {"reason": public.scrub(obj.hidden_reason)}


def sees_hidden(viewer: Any, obj: Item) -> bool:
    """The author sees their own hidden text; so do the moderators of its area."""
    if isinstance(viewer, User) and viewer.pk and viewer.pk == obj.author_id:
        return True
    return may_moderate(viewer, obj)


def shown(obj: Item, viewer: Any, text: str) -> str:
    """``text`` of ``obj`` as ``viewer`` may see it: scrubbed of personal data, or the
    moderator's notice when hidden (the author and moderators see their text)."""
    if is_hidden(obj) and not sees_hidden(viewer, obj):
        return hidden_notice(obj)
    return public.scrub(text)


# -- reports --------------------------------------------------------------------------------


def report(actor: Any, *, target: str, target_id: Any, reason: str) -> Report:
    """Report an item to its area's moderators, once per person and item."""
    if not isinstance(actor, User) or not actor.is_active:
        raise Forbidden(
            _("sign in to report a comment or a suggestion"),
            code="not_signed_in",
            details={"field": "reporter"},
        )
    target = _target_name(target)
    why = _reason(reason, _("reason: say what is wrong with this text"))
    with transaction.atomic():
        obj = item(target, target_id)
        if obj.author_id == actor.pk:
            raise Forbidden(
                _("you wrote this %(target)s; you cannot report your own text")
                % {"target": target},
                code="own_text",
                details={"field": "target_id"},
            )
        if is_hidden(obj):
            raise IllegalMove(
                _("%(item)s is already hidden by a moderator") % {"item": label_of(obj)},
                code="already_hidden",
                details={"field": "target_id"},
            )
        try:
            with transaction.atomic():
                r = Report.objects.create(
                    city=city_of(obj),
                    target=target,
                    target_id=obj.pk,
                    target_path=path_of(obj),
                    reporter=actor,
                    reason=why,
                    at=clock.now(),
                )
        except IntegrityError as exc:
            raise AlreadyReported(
                _("you already reported %(item)s") % {"item": label_of(obj)},
                details={"field": "target_id"},
            ) from exc
        audit.record(
            actor=actor,
            action="moderation.report",
            object_type=f"participation.{target}",
            object_id=obj.pk,
            after={"report": r.pk, "target": target, "target_id": obj.pk},
            reason=why,
        )
    return r


def reported_by(actor: Any, obj: Item) -> bool:
    if not isinstance(actor, User) or not actor.pk:
        return False
    return Report.objects.filter(target=target_of(obj), target_id=obj.pk, reporter=actor).exists()


@dataclass
class QueueItem:
    target: str
    target_id: int
    obj: Item | None
    reports: list[Report] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.reports)

    @property
    def first_at(self) -> datetime:
        return min(r.at for r in self.reports)

    @property
    def label(self) -> str:
        return label_of(self.obj) if self.obj is not None else f"{self.target} {self.target_id}"


def open_reports(actor: Any) -> Any:
    """The open reports the actor moderates (their area), oldest first."""
    if not access.can(actor, "participation.moderate"):
        return Report.objects.none()
    return access.readable(
        actor, Report.objects.filter(state=Report.State.OPEN).select_related("reporter")
    ).order_by("at", "pk")


def queue(actor: Any, *, target: str = "") -> list[QueueItem]:
    """Open reports grouped per item, the most reported first, then the oldest."""
    reports = open_reports(actor)
    if target in MODELS:
        reports = reports.filter(target=target)
    groups: dict[tuple[str, int], QueueItem] = {}
    for r in reports[:2000]:
        key = (r.target, r.target_id)
        if key not in groups:
            groups[key] = QueueItem(r.target, r.target_id, None)
        groups[key].reports.append(r)
    for name in MODELS:
        ids = [k[1] for k in groups if k[0] == name]
        for obj in _query(name).filter(pk__in=ids):
            groups[(name, obj.pk)].obj = obj
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_at, g.target_id))


def hidden_items(actor: Any, limit: int = 50) -> list[Item]:
    """Recently hidden items in the actor's area (to unhide)."""
    if not access.can(actor, "participation.moderate"):
        return []
    out: list[Item] = []
    for name in MODELS:
        qs = access.readable(actor, _query(name).filter(hidden_at__isnull=False))
        out += [o for o in qs.order_by("-hidden_at")[:limit] if may_moderate(actor, o)]
    return sorted(out, key=lambda o: o.hidden_at or clock.now(), reverse=True)[:limit]


# -- decisions ------------------------------------------------------------------------------


def _decide_reports(obj: Item, state: str, actor: Any) -> int:
    return Report.objects.filter(
        target=target_of(obj), target_id=obj.pk, state=Report.State.OPEN
    ).update(state=state, decided_by=audit.actor_label(actor)[:120], decided_at=clock.now())


def _tell(obj: Item, subject: str, body: str, topic: str) -> None:
    tell_author(obj.author, subject, body, topic)


def hide(actor: Any, *, target: str, target_id: Any, reason: str) -> Item:
    """Hide an item with a reason shown to the public; its open reports become 'hidden'."""
    why = _reason(reason, _("reason: say why the text is hidden (it is shown in its place)"))
    with transaction.atomic():
        obj = item(target, target_id, lock=True)
        _require_moderator(actor, obj)
        if is_hidden(obj):
            raise IllegalMove(
                _("%(item)s is already hidden") % {"item": label_of(obj)},
                details={"field": "target_id"},
            )
        obj.hidden_at = clock.now()
        obj.hidden_by = audit.actor_label(actor)[:120]
        obj.hidden_reason = why
        fields = ["hidden_at", "hidden_by", "hidden_reason"]
        if isinstance(obj, Suggestion):
            obj.version += 1
            fields.append("version")
        obj.save(update_fields=fields)
        decided = _decide_reports(obj, Report.State.HIDDEN, actor)
        audit.record(
            actor=actor,
            action="moderation.hide",
            object_type=f"participation.{target_of(obj)}",
            object_id=obj.pk,
            after={"hidden": True, "reports_decided": decided},
            reason=why,
        )
        _tell(
            obj,
            _("Your text was hidden by a moderator"),
            _("A moderator hid your %(item)s from public pages: %(reason)s")
            % {"item": label_of(obj), "reason": public.scrub(why)},
            "participation.moderation",
        )
    return obj


def unhide(actor: Any, *, target: str, target_id: Any, reason: str) -> Item:
    """Show a hidden item again, with a reason."""
    why = _reason(reason, _("reason: say why the text is shown again"))
    with transaction.atomic():
        obj = item(target, target_id, lock=True)
        _require_moderator(actor, obj)
        if not is_hidden(obj):
            raise IllegalMove(
                _("%(item)s is not hidden") % {"item": label_of(obj)},
                details={"field": "target_id"},
            )
        before = {"hidden_at": obj.hidden_at, "hidden_reason": obj.hidden_reason}
        obj.hidden_at = None
        obj.hidden_by = ""
        obj.hidden_reason = ""
        fields = ["hidden_at", "hidden_by", "hidden_reason"]
        if isinstance(obj, Suggestion):
            obj.version += 1
            fields.append("version")
        obj.save(update_fields=fields)
        audit.record(
            actor=actor,
            action="moderation.unhide",
            object_type=f"participation.{target_of(obj)}",
            object_id=obj.pk,
            before=before,
            after={"hidden": False},
            reason=why,
        )
        _tell(
            obj,
            _("Your text is shown again"),
            _("A moderator showed your %(item)s again: %(reason)s")
            % {"item": label_of(obj), "reason": public.scrub(why)},
            "participation.moderation",
        )
    return obj


def dismiss(actor: Any, *, target: str, target_id: Any, reason: str = "") -> int:
    """Dismiss the open reports of an item (the text stays); how many were dismissed."""
    why = str(reason or "").strip()[:REASON_MAX]
    with transaction.atomic():
        obj = item(target, target_id, lock=True)
        _require_moderator(actor, obj)
        decided = _decide_reports(obj, Report.State.DISMISSED, actor)
        if not decided:
            raise IllegalMove(
                _("%(item)s has no open reports to dismiss") % {"item": label_of(obj)},
                details={"field": "target_id"},
            )
        audit.record(
            actor=actor,
            action="moderation.dismiss",
            object_type=f"participation.{target_of(obj)}",
            object_id=obj.pk,
            after={"reports_dismissed": decided},
            reason=why,
        )
        _tell(
            obj,
            _("Reports on your text were dismissed"),
            _("A moderator reviewed reports on your %(item)s and left it as it is.")
            % {"item": label_of(obj)},
            "participation.moderation",
        )
    return decided


def reports_of(obj: Item) -> Iterable[Report]:
    return Report.objects.filter(target=target_of(obj), target_id=obj.pk).order_by("at", "pk")
