"""Every move of a case after intake. Each function checks its input, then goes through
``workflow.transition`` (which locks the case, checks the move and the actor, and writes the
timeline and the audit chain). Callers own the transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from civitas.appeals import deadlines
from civitas.appeals import workflow as wf
from civitas.appeals.intake import MAX_TEXT
from civitas.appeals.models import (
    Appeal,
    Assignment,
    Rating,
    Request,
    Satisfaction,
    Status,
    Summons,
)
from civitas.appeals.parties import HANDLER_ROLES, parties_of
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.matters.models import Matter
from civitas.org.models import ApiKey, Membership, Unit

A = Assignment


def _need(text: str, message: str, fld: str = "reason") -> str:
    """``text`` stripped; ``message`` (already translated) when it is empty."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(message, details={"field": fld})
    return text


def _not_active(unit: Unit, city: str) -> InvalidInput:
    return InvalidInput(
        _("%(unit)s is not an active unit of %(city)s") % {"unit": unit.code, "city": city},
        details={"field": "unit"},
    )


def acts_for(actor: Any, unit: Unit) -> bool:
    """Whether ``actor`` works for ``unit``: a handler or leader of it, or its API key."""
    if isinstance(actor, ApiKey):
        return actor.unit_id is not None and actor.unit_id == unit.pk
    if not getattr(actor, "is_authenticated", False):
        return False
    return Membership.objects.filter(
        user=actor, unit=unit, active=True, role__in=HANDLER_ROLES
    ).exists()


def _move(actor: Any, appeal: Appeal, action: str, **kw: Any) -> Appeal:
    return wf.transition(
        appeal=appeal,
        action=action,
        actor=actor,
        parties=kw.pop("parties", None) or parties_of(actor, appeal),
        **kw,
    )


def return_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "CIVITAS_RETURN_WINDOW_HOURS", 24)))


def whistle_minutes() -> int:
    return int(getattr(settings, "CIVITAS_WHISTLE_MINUTES", 30))


def lead_assignment(appeal: Appeal) -> Assignment | None:
    return (
        A.objects.filter(appeal=appeal, role=A.Role.LEAD)
        .exclude(state__in=[A.State.WITHDRAWN])
        .order_by("-dispatched_at")
        .first()
    )


def _assign_lead(appeal: Appeal, unit: Unit, *, binding: bool, now: Any) -> None:
    A.objects.filter(appeal=appeal, role=A.Role.LEAD).exclude(
        state__in=[A.State.WITHDRAWN, A.State.DONE]
    ).update(state=A.State.WITHDRAWN)
    A.objects.create(
        appeal=appeal,
        unit=unit,
        role=A.Role.LEAD,
        dispatched_at=now,
        return_until=None if binding else now + return_window(),
        binding=binding,
    )
    appeal.lead_unit = unit
    appeal.first_unit = appeal.first_unit or unit
    appeal.accepted_at = None


# -- dispatch, return, arbitration ------------------------------------------------------------


def dispatch(
    *,
    actor: Any,
    appeal: Appeal,
    unit: Unit,
    reason: str = "",
    version: int | None = None,
    system: bool = False,
) -> Appeal:
    if unit.city != appeal.city or not unit.active:
        raise _not_active(unit, appeal.city)
    if appeal.jurisdiction_id is None and not system:
        raise InvalidInput(
            _("place the case in a jurisdiction before dispatching it"),
            details={"field": "jurisdiction"},
        )

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        first = case.dispatched_at is None
        _assign_lead(case, unit, binding=False, now=now)
        case.dispatched_at = case.dispatched_at or now
        if first or case.resolve_due is None:
            deadlines.set_deadlines(case, now)
        return {"unit": unit.code}

    action = "redispatch" if appeal.status in (Status.DISPATCHED, Status.ACCEPTED) else "dispatch"
    parties = frozenset({wf.SYSTEM}) if system else None
    return _move(
        actor,
        appeal,
        action,
        apply=apply,
        note=reason,
        expected_version=version,
        parties=parties,
        unit=unit,
    )


def accept(
    *,
    actor: Any,
    appeal: Appeal,
    version: int | None = None,
    parties: frozenset[str] | None = None,
) -> Appeal:
    """签收. ``parties`` (default: derived from the actor) lets background work act for the
    lead unit, e.g. an outside system's answer (open311.handoff)."""

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        case.accepted_at = now
        A.objects.filter(
            appeal=case, role=A.Role.LEAD, unit=case.lead_unit, state=A.State.DISPATCHED
        ).update(state=A.State.ACCEPTED, accepted_at=now)
        late = case.respond_due is not None and now > case.respond_due
        return {"late_response": late}

    return _move(
        actor,
        appeal,
        "accept",
        apply=apply,
        expected_version=version,
        unit=appeal.lead_unit,
        parties=parties,
    )


def return_case(*, actor: Any, appeal: Appeal, reason: str, version: int | None = None) -> Appeal:
    reason = _need(reason, _("write why the unit returns the case"))

    def apply(case: Appeal) -> dict[str, Any]:
        # Checked on the locked case, so that an arbitration (or a reassignment) committed
        # meanwhile is seen: a binding ruling and a return can never both pass.
        assignment = lead_assignment(case)
        if assignment is None:
            raise Conflict(_("the case has no lead unit to return it"))
        if assignment.unit_id != appeal.lead_unit_id:
            raise wf.StaleCase(
                _("%(ticket)s was reassigned to %(unit)s meanwhile; reload the case and try again")
                % {"ticket": case.ticket, "unit": assignment.unit.code},
                details={"version": case.version},
            )
        if assignment.binding:
            raise Conflict(
                _(
                    "%(ticket)s was arbitrated to %(unit)s: the ruling binds and the case "
                    "can no longer be returned"
                )
                % {"ticket": case.ticket, "unit": assignment.unit.code},
                code="arbitrated",
            )
        if assignment.return_until and clock.now() > assignment.return_until:
            raise Conflict(
                _(
                    "the window to return %(ticket)s closed at %(time)s UTC; ask the centre "
                    "to reassign it instead"
                )
                % {"ticket": case.ticket, "time": f"{assignment.return_until:%Y-%m-%d %H:%M}"},
                code="return_window_closed",
            )
        A.objects.filter(pk=assignment.pk).update(state=A.State.RETURNED, note=reason)
        case.return_count += 1
        return {"unit": assignment.unit.code}

    return _move(
        actor,
        appeal,
        "return",
        apply=apply,
        note=reason,
        expected_version=version,
        unit=appeal.lead_unit,
    )


def arbitrate(
    *, actor: Any, appeal: Appeal, unit: Unit, reason: str, version: int | None = None
) -> Appeal:
    """The centre's ruling on a returned case: binds the unit, which may not return it."""
    reason = _need(reason, _("write the grounds of the ruling"))
    if unit.city != appeal.city or not unit.active:
        raise _not_active(unit, appeal.city)

    def apply(case: Appeal) -> dict[str, Any]:
        _assign_lead(case, unit, binding=True, now=clock.now())
        case.arbitrated = True
        return {"unit": unit.code, "binding": True}

    return _move(
        actor, appeal, "arbitrate", apply=apply, note=reason, expected_version=version, unit=unit
    )


def add_co_handler(*, actor: Any, appeal: Appeal, unit: Unit, part: str) -> Appeal:
    part = _need(part, _("write the co-handler's part"), "part")
    if unit.pk == appeal.lead_unit_id:
        raise InvalidInput(
            _("the lead unit cannot also be a co-handler"), details={"field": "unit"}
        )

    def apply(case: Appeal) -> dict[str, Any]:
        if (
            A.objects.filter(appeal=case, unit=unit, role=A.Role.CO)
            .exclude(state=A.State.WITHDRAWN)
            .exists()
        ):
            raise Conflict(
                _("%(unit)s already co-handles %(ticket)s")
                % {"unit": unit.code, "ticket": case.ticket}
            )
        A.objects.create(
            appeal=case, unit=unit, role=A.Role.CO, part=part, dispatched_at=clock.now()
        )
        return {"unit": unit.code, "part": part}

    return _move(actor, appeal, "add_co_handler", apply=apply, note=part)


def co_done(*, actor: Any, appeal: Appeal, unit: Unit, note: str) -> Appeal:
    """A co-handling unit reports its part done; only someone who works for ``unit`` may."""
    note = _need(note, _("write what your unit did"), "note")

    def apply(case: Appeal) -> dict[str, Any]:
        if not acts_for(actor, unit):
            raise Forbidden(
                _("you may report only for your own unit, not for %(unit)s") % {"unit": unit.code},
                details={"field": "unit"},
            )
        n = A.objects.filter(
            appeal=case, unit=unit, role=A.Role.CO, state__in=[A.State.DISPATCHED, A.State.ACCEPTED]
        ).update(state=A.State.DONE, done_at=clock.now(), note=note)
        if not n:
            raise Conflict(
                _("%(unit)s has no open part in %(ticket)s")
                % {"unit": unit.code, "ticket": case.ticket}
            )
        return {"unit": unit.code}

    return _move(actor, appeal, "co_done", apply=apply, note=note, unit=unit)


# -- handling ----------------------------------------------------------------------------------


def progress(
    *, actor: Any, appeal: Appeal, note: str, parties: frozenset[str] | None = None
) -> Appeal:
    note = _need(note, _("write the progress"), "note")
    return _move(actor, appeal, "progress", note=note, parties=parties)


def internal_note(*, actor: Any, appeal: Appeal, note: str) -> Appeal:
    return _move(actor, appeal, "internal_note", note=_need(note, _("write the note"), "note"))


def request_info(*, actor: Any, appeal: Appeal, question: str) -> Appeal:
    return _move(
        actor,
        appeal,
        "request_info",
        note=_need(question, _("write what you need to know"), "question"),
    )


def resident_info(*, actor: Any, appeal: Appeal, answer: str) -> Appeal:
    return _move(
        actor, appeal, "resident_info", note=_need(answer, _("write your answer"), "answer")
    )


def comment(*, actor: Any, appeal: Appeal, note: str) -> Appeal:
    """The resident's (or their app's) word on an open case, kept on the timeline."""
    note = _need(note, _("write the comment"), "note")
    if len(note) > MAX_TEXT:
        raise InvalidInput(
            _("at most %(limit)d characters") % {"limit": MAX_TEXT}, details={"field": "note"}
        )
    return _move(actor, appeal, "comment", note=note)


def reply(*, actor: Any, appeal: Appeal, text: str) -> Appeal:
    return _move(actor, appeal, "reply", note=_need(text, _("write the reply"), "text"))


def _lead(case: Appeal) -> Unit:
    if case.lead_unit is None:
        raise Conflict(_("%(ticket)s has no lead unit") % {"ticket": case.ticket})
    return case.lead_unit


def _open_request(appeal: Appeal, kind: str) -> Request | None:
    return Request.objects.filter(appeal=appeal, kind=kind, state=Request.State.PENDING).first()


def request_extension(*, actor: Any, appeal: Appeal, days: int, reason: str) -> Appeal:
    reason = _need(reason, _("write why more time is needed"))
    if not 1 <= int(days) <= 30:
        raise InvalidInput(_("ask for 1 to 30 working days"), details={"field": "days"})

    def apply(case: Appeal) -> dict[str, Any]:
        if _open_request(case, Request.Kind.EXTENSION):
            raise Conflict(_("an extension request is already waiting for a decision"))
        Request.objects.create(
            appeal=case,
            kind=Request.Kind.EXTENSION,
            days=int(days),
            reason=reason,
            unit=_lead(case),
            requested_by=audit.actor_label(actor),
            requested_at=clock.now(),
        )
        return {"days": int(days)}

    return _move(actor, appeal, "request_extension", apply=apply, note=reason)


def request_suspension(*, actor: Any, appeal: Appeal, reason: str) -> Appeal:
    reason = _need(reason, _("write why handling must pause"))

    def apply(case: Appeal) -> dict[str, Any]:
        if _open_request(case, Request.Kind.SUSPENSION):
            raise Conflict(_("a suspension request is already waiting for a decision"))
        Request.objects.create(
            appeal=case,
            kind=Request.Kind.SUSPENSION,
            reason=reason,
            unit=_lead(case),
            requested_by=audit.actor_label(actor),
            requested_at=clock.now(),
        )
        return {}

    return _move(actor, appeal, "request_suspension", apply=apply, note=reason)


def decide_request(
    *, actor: Any, appeal: Appeal, request: Request, approve: bool, note: str = ""
) -> Appeal:
    if request.appeal_id != appeal.pk or request.state != Request.State.PENDING:
        raise Conflict(_("this request is not waiting for a decision"))
    if not approve:
        note = _need(note, _("write why the request is refused"), "note")
    action = "decide_extension" if request.kind == Request.Kind.EXTENSION else "decide_suspension"

    def apply(case: Appeal) -> dict[str, Any]:
        request.state = Request.State.APPROVED if approve else Request.State.REFUSED
        request.decided_by, request.decided_at = audit.actor_label(actor), clock.now()
        request.decision_note = note
        request.save()
        if approve and request.kind == Request.Kind.EXTENSION:
            deadlines.extend(case, request.days or 0)
        return {
            "kind": request.kind,
            "approved": approve,
            "resolve_due": case.resolve_due.isoformat() if case.resolve_due else None,
        }

    case = _move(actor, appeal, action, apply=apply, note=note)
    if approve and request.kind == Request.Kind.SUSPENSION:
        case = _move("system", case, "suspend", parties=frozenset({wf.SYSTEM}), note=request.reason)
    return case


def resume(*, actor: Any, appeal: Appeal, note: str = "") -> Appeal:
    def apply(case: Appeal) -> dict[str, Any]:
        paused = clock.now() - _suspended_since(case)
        if case.resolve_due:
            case.resolve_due += paused  # the clock stops while suspended
        return {"paused_hours": round(paused.total_seconds() / 3600, 2)}

    return _move(actor, appeal, "resume", apply=apply, note=note)


def _suspended_since(appeal: Appeal) -> Any:
    event = appeal.events.filter(action="suspend").order_by("-at").first()
    return event.at if event else clock.now()


def whistle(
    *, actor: Any, appeal: Appeal, units: list[Unit], note: str, minutes: int | None = None
) -> Appeal:
    """A street summons departments to the case; each must report within ``minutes``."""
    note = _need(note, _("write why the departments are summoned"), "note")
    if not units:
        raise InvalidInput(
            _("choose at least one department to summon"), details={"field": "units"}
        )
    minutes = minutes or whistle_minutes()

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        for u in units:
            if u.city != case.city:
                raise InvalidInput(
                    _("%(unit)s is not a unit of %(city)s") % {"unit": u.code, "city": case.city},
                    details={"field": "units"},
                )
            Summons.objects.create(
                appeal=case,
                by_unit=_lead(case),
                unit=u,
                summoned_at=now,
                due_at=now + timedelta(minutes=minutes),
            )
        return {"units": [u.code for u in units], "minutes": minutes}

    return _move(actor, appeal, "whistle", apply=apply, note=note, unit=appeal.lead_unit)


def report_summons(*, actor: Any, appeal: Appeal, summons: Summons, note: str = "") -> Appeal:
    """A summoned department reports on site; only someone who works for it may."""
    if summons.appeal_id != appeal.pk:
        raise InvalidInput(_("this summons belongs to another case"), details={"field": "summons"})

    def apply(case: Appeal) -> dict[str, Any]:
        if not acts_for(actor, summons.unit):
            raise Forbidden(
                _("you may report only for your own department, not for %(unit)s")
                % {"unit": summons.unit.code},
                details={"field": "summons"},
            )
        current = Summons.objects.get(pk=summons.pk)  # under the case's lock
        if current.reported_at is not None:
            raise Conflict(
                _("%(unit)s already reported at %(time)s")
                % {"unit": summons.unit.code, "time": f"{current.reported_at:%H:%M}"}
            )
        now = clock.now()
        Summons.objects.filter(pk=summons.pk).update(
            reported_at=now, reported_by=audit.actor_label(actor), note=note
        )
        return {"unit": summons.unit.code, "late": now > summons.due_at}

    return _move(actor, appeal, "report_summons", apply=apply, note=note, unit=summons.unit)


def resolve(
    *,
    actor: Any,
    appeal: Appeal,
    result: str,
    evidence: list[Any] | None = None,
    version: int | None = None,
    parties: frozenset[str] | None = None,
) -> Appeal:
    """办结: the lead unit's answer to the resident, with evidence photos if any."""
    result = _need(result, _("write what was done"), "result")
    from civitas.appeals import attachments

    cleaned = [attachments.check_image(e) for e in (evidence or [])]

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        case.resolved_at = now
        A.objects.filter(
            appeal=case, role=A.Role.LEAD, unit=case.lead_unit, state=A.State.ACCEPTED
        ).update(state=A.State.DONE, done_at=now)
        for img in cleaned:
            attachments.store(
                appeal=case, image=img, purpose="evidence", by=audit.actor_label(actor)
            )
        open_parts = A.objects.filter(
            appeal=case, role=A.Role.CO, state__in=[A.State.DISPATCHED, A.State.ACCEPTED]
        ).count()
        return {
            "on_time": case.resolve_due is None or now <= case.resolve_due,
            "open_co_parts": open_parts,
            "evidence": len(cleaned),
        }

    return _move(
        actor,
        appeal,
        "resolve",
        apply=apply,
        note=result,
        expected_version=version,
        unit=appeal.lead_unit,
        parties=parties,
    )


# -- the resident's verdict --------------------------------------------------------------------


def rate(
    *,
    actor: Any,
    appeal: Appeal,
    responded: bool,
    solved: bool,
    satisfaction: str,
    comment: str = "",
    by_callback: bool = False,
) -> Appeal:
    """回访: dissatisfied sends the case back for re-handling (or to the centre's review,
    ``CIVITAS_DISSATISFIED=review``); otherwise it closes."""
    if satisfaction not in Satisfaction.values:
        raise InvalidInput(
            _("satisfaction must be one of %(values)s")
            % {"values": ", ".join(Satisfaction.values)},
            details={"field": "satisfaction"},
        )
    if satisfaction == Satisfaction.DISSATISFIED:
        action = (
            "rate_review"
            if getattr(settings, "CIVITAS_DISSATISFIED", "reopen") == "review"
            else "rate_reopen"
        )
    else:
        action = "rate_closed"

    def apply(case: Appeal) -> dict[str, Any]:
        now = clock.now()
        Rating.objects.create(
            appeal=case,
            round=case.reopen_count + 1,
            responded=responded,
            solved=solved,
            satisfaction=satisfaction,
            comment=comment.strip()[:2000],
            by_callback=by_callback,
            recorded_by=audit.actor_label(actor),
            at=now,
            unit=_lead(case),
        )
        if action == "rate_closed":
            case.closed_at = now
        elif action == "rate_reopen":
            _reopen(case, now)
        return {"satisfaction": satisfaction, "solved": solved, "responded": responded}

    return _move(actor, appeal, action, apply=apply, note=comment)


def _reopen(case: Appeal, now: Any) -> None:
    case.reopen_count += 1
    case.resolved_at = None
    case.closed_at = None
    unit = case.lead_unit
    if unit is not None:
        _assign_lead(case, unit, binding=case.arbitrated, now=now)
    case.dispatched_at = now
    deadlines.set_deadlines(case, now)


def reopen(*, actor: Any, appeal: Appeal, reason: str) -> Appeal:
    reason = _need(reason, _("write why the case is reopened"))

    def apply(case: Appeal) -> dict[str, Any]:
        _reopen(case, clock.now())
        return {}

    return _move(actor, appeal, "reopen", apply=apply, note=reason)


def close_review(*, actor: Any, appeal: Appeal, reason: str) -> Appeal:
    reason = _need(reason, _("write why the resolution stands"))

    def apply(case: Appeal) -> dict[str, Any]:
        case.closed_at = clock.now()
        return {}

    return _move(actor, appeal, "close_review", apply=apply, note=reason)


# -- supervision and triage fixes --------------------------------------------------------------


def escalate(*, actor: Any, appeal: Appeal, note: str = "") -> Appeal:
    """督办: mark an overdue case as supervised by the level above (once per case)."""

    def apply(case: Appeal) -> dict[str, Any]:
        if case.escalated_at is not None:
            raise Conflict(_("%(ticket)s is already under supervision") % {"ticket": case.ticket})
        case.escalated_at = clock.now()
        return {"resolve_due": case.resolve_due.isoformat() if case.resolve_due else None}

    return _move(actor, appeal, "escalate", apply=apply, note=note)


def mark_duplicate(*, actor: Any, appeal: Appeal, of: Appeal) -> Appeal:
    if of.pk == appeal.pk or of.city != appeal.city:
        raise InvalidInput(_("choose another case of the same city"), details={"field": "of"})
    if not of.is_open:
        raise Conflict(
            _("%(ticket)s is closed; handle this appeal on its own") % {"ticket": of.ticket}
        )

    def apply(case: Appeal) -> dict[str, Any]:
        case.duplicate_of = of.duplicate_of or of
        case.closed_at = clock.now()
        return {"of": of.ticket}

    return _move(actor, appeal, "mark_duplicate", apply=apply, note=f"duplicate of {of.ticket}")


def relocate(*, actor: Any, appeal: Appeal, jurisdiction: Jurisdiction, note: str = "") -> Appeal:
    if not jurisdiction.path.startswith(f"/{appeal.city}/"):
        raise InvalidInput(
            _("%(place)s is not in %(city)s") % {"place": jurisdiction.code, "city": appeal.city},
            details={"field": "jurisdiction"},
        )

    def apply(case: Appeal) -> dict[str, Any]:
        from civitas.appeals.models import LocateMethod

        case.jurisdiction, case.jurisdiction_path = jurisdiction, jurisdiction.path
        case.locate_method, case.locate_confidence = LocateMethod.MANUAL, 1.0
        return {"jurisdiction": jurisdiction.code}

    return _move(actor, appeal, "relocate", apply=apply, note=note)


def reclassify(*, actor: Any, appeal: Appeal, matter: Matter, note: str = "") -> Appeal:
    if matter.catalogue != appeal.city:
        raise InvalidInput(
            _("%(matter)s is not in the catalogue of %(city)s")
            % {"matter": matter.code, "city": appeal.city},
            details={"field": "matter"},
        )

    def apply(case: Appeal) -> dict[str, Any]:
        previous = case.matter.code if case.matter else None
        case.matter, case.matter_method, case.matter_confidence = matter, "staff", 1.0
        return {"matter": matter.code, "previous": previous}

    return _move(actor, appeal, "reclassify", apply=apply, note=note)
