"""The actions on a dispute's page: each form posts here, the form is checked, the service
makes the move (or refuses it, and the refusal becomes a message naming the field), then
back to the dispute's page (POST, redirect, GET)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError, InvalidInput
from civitas.mediation import services
from civitas.mediation import views_common as common
from civitas.mediation.models import Dispute, FollowUp, Session
from civitas.mediation.views import _dispute_or_404, action_forms, render_dispute

DONE = {
    "accept": gettext_lazy("The dispute is accepted."),
    "assign": gettext_lazy("The lead mediator is assigned."),
    "schedule": gettext_lazy("The session is scheduled."),
    "session_result": gettext_lazy("The session's result is recorded."),
    "agreement": gettext_lazy("The agreement is recorded; a follow-up visit is due."),
    "follow_up": gettext_lazy("The follow-up visit is recorded."),
    "fail": gettext_lazy("Mediation failed here; the dispute moved on."),
    "escalate": gettext_lazy("The dispute is escalated."),
    "risk": gettext_lazy("The risk level is changed."),
    "refer_out": gettext_lazy("The dispute is referred."),
    "withdraw": gettext_lazy("The dispute is withdrawn."),
    "close": gettext_lazy("The dispute is closed."),
}


def _done(action: str) -> str:
    return str(DONE[action])


def _stale_check(d: Dispute, version: int) -> None:
    """Moves whose service takes a session or a visit rather than the dispute's version: the
    page still refuses a form rendered from an older state of the dispute."""
    if d.version != version:
        raise services.StaleDispute(
            _(
                "dispute %(code)s changed while you were looking at it (you saw version "
                "%(seen)s, it is now %(now)s); reload it and try again"
            )
            % {"code": d.code, "seen": version, "now": d.version},
            details={"field": "version"},
        )


def _move(request: HttpRequest, d: Dispute, action: str, data: dict[str, Any]) -> Any:
    actor = request.user
    version = data["version"]
    if action == "accept":
        return services.accept(actor=actor, dispute=d, version=version, note=data.get("note", ""))
    if action == "assign":
        return services.assign_lead_mediator(
            actor=actor, dispute=d, mediator=data["mediator"], version=version
        )
    if action == "schedule":
        return services.schedule_session(
            actor=actor,
            dispute=d,
            scheduled_at=data["scheduled_at"],
            place=data["place"],
            mediators=list(data["mediators"]),
            version=version,
        )
    if action == "session_result":
        _stale_check(d, version)
        session: Session = data["session"]
        if session.dispute_id != d.pk:
            raise InvalidInput(_("no such session"), details={"field": "session"})
        return services.record_session(
            actor=actor,
            session=session,
            result=data["result"],
            minutes=data.get("minutes", ""),
            attendees=data.get("attendees", ""),
        )
    if action == "agreement":
        return services.record_agreement(
            actor=actor,
            dispute=d,
            facts=data["facts"],
            terms=data["terms"],
            signed_on=data["signed_on"],
            amount=data.get("amount"),
            perform_by=data.get("perform_by"),
            version=version,
        )
    if action == "follow_up":
        _stale_check(d, version)
        visit = FollowUp.objects.filter(dispute=d, done_at__isnull=True).order_by("due_on").first()
        if visit is None:
            raise InvalidInput(_("no follow-up visit is due"), details={"field": "kept"})
        return services.record_follow_up(
            actor=actor,
            follow_up=visit,
            kept=data["kept"],
            method=data["method"],
            note=data.get("note", ""),
            then=data.get("then") or "mediate",
        )
    if action == "fail":
        return services.fail(actor=actor, dispute=d, reason=data["note"], version=version)
    if action == "escalate":
        return services.escalate(actor=actor, dispute=d, reason=data["note"], version=version)
    if action == "risk":
        return services.set_risk_level(
            actor=actor, dispute=d, level=data["level"], reason=data["note"], version=version
        )
    if action == "refer_out":
        return services.refer(
            actor=actor, dispute=d, channel=data["channel"], note=data["note"], version=version
        )
    if action == "withdraw":
        return services.withdraw(actor=actor, dispute=d, reason=data["note"], version=version)
    if action == "close":
        return services.close(
            actor=actor, dispute=d, outcome=data["outcome"], note=data["note"], version=version
        )
    raise Http404("no such action")


@login_required
@require_POST
def act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    d = _dispute_or_404(request, code)
    if action not in common.ACTION_FORMS:
        raise Http404("no such action")
    allowed = common.allowed_actions(request.user, d)
    if action not in allowed:
        # Build the form anyway so a refusal names the move, not a missing form.
        allowed = allowed | {action}
        refused = True
    else:
        refused = False
    form = action_forms(d, allowed, request.POST, action).get(action)
    if form is None:
        messages.error(request, _("This action is not possible in the current state."))
        return redirect("mediation-dispute", code=d.code)
    if not form.is_valid():
        text = common.form_errors_text(form)
        if "version" in form.errors:
            messages.error(request, text)
            return redirect("mediation-dispute", code=d.code)
        messages.error(request, _("Please check what you entered.") + " " + text)
        if refused:
            return redirect("mediation-dispute", code=d.code)
        return render_dispute(request, d, post=request.POST, failed=action, status=422)
    try:
        _move(request, d, action, form.cleaned_data)
    except CivitasError as exc:
        messages.error(request, common.error_text(exc))
        if isinstance(exc, InvalidInput) and not refused:
            return render_dispute(request, d, post=request.POST, failed=action, status=422)
    else:
        messages.success(request, _done(action))
    return redirect("mediation-dispute", code=d.code)
