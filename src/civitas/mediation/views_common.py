"""What the mediation pages share: who may read, which actions a reader may take, error
messages that name the field, readable names on the timeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms as dj_forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civitas.kit.bilingual import in_active_language
from civitas.kit.errors import CivitasError, Conflict, Forbidden, InvalidInput, NotFound
from civitas.mediation import forms as f
from civitas.mediation import rules, services
from civitas.mediation.models import Dispute
from civitas.org import access

# The order the action forms appear on the dispute's page.
ACTION_ORDER = (
    "accept",
    "assign",
    "schedule",
    "session_result",
    "agreement",
    "follow_up",
    "fail",
    "escalate",
    "risk",
    "refer_out",
    "withdraw",
    "close",
)

ACTION_FORMS: dict[str, type[dj_forms.Form]] = {
    "accept": f.NoteForm,
    "assign": f.AssignForm,
    "schedule": f.ScheduleForm,
    "session_result": f.SessionResultForm,
    "agreement": f.AgreementForm,
    "follow_up": f.FollowUpForm,
    "fail": f.ReasonForm,
    "escalate": f.ReasonForm,
    "risk": f.RiskForm,
    "refer_out": f.ReferOutForm,
    "withdraw": f.ReasonForm,
    "close": f.CloseForm,
}

ACTION_TITLES = {
    "accept": gettext_lazy("Accept the dispute"),
    "assign": gettext_lazy("Assign the lead mediator"),
    "schedule": gettext_lazy("Schedule a session"),
    "session_result": gettext_lazy("Record a session's result"),
    "agreement": gettext_lazy("Record the agreement"),
    "follow_up": gettext_lazy("Record a follow-up visit"),
    "fail": gettext_lazy("Mediation failed: pass it up"),
    "escalate": gettext_lazy("Escalate"),
    "risk": gettext_lazy("Change the risk level"),
    "refer_out": gettext_lazy("Refer to another channel"),
    "withdraw": gettext_lazy("Withdrawn by the parties"),
    "close": gettext_lazy("Close"),
}

# Words for the fields services name in their errors (details={"field": …}).
FIELD_WORDS = {
    "version": gettext_lazy("Version"),
    "title": gettext_lazy("Short title"),
    "type": gettext_lazy("Type of dispute"),
    "summary": gettext_lazy("What the dispute is about"),
    "amount": gettext_lazy("Amount"),
    "people_involved": gettext_lazy("People involved"),
    "risk_level": gettext_lazy("Risk level"),
    "level": gettext_lazy("Risk level"),
    "jurisdiction": gettext_lazy("Place"),
    "place": gettext_lazy("Place"),
    "address": gettext_lazy("Address"),
    "parties": gettext_lazy("Parties"),
    "mediator": gettext_lazy("Lead mediator"),
    "lead_mediator": gettext_lazy("Lead mediator"),
    "mediators": gettext_lazy("Mediators"),
    "scheduled_at": gettext_lazy("Time"),
    "session": gettext_lazy("Session"),
    "result": gettext_lazy("Result"),
    "minutes": gettext_lazy("Minutes"),
    "attendees": gettext_lazy("Attendees"),
    "facts": gettext_lazy("Facts and the dispute"),
    "terms": gettext_lazy("Terms agreed"),
    "perform_by": gettext_lazy("To be performed by"),
    "signed_on": gettext_lazy("Signed on"),
    "method": gettext_lazy("How"),
    "kept": gettext_lazy("Is the agreement kept?"),
    "note": gettext_lazy("Note"),
    "reason": gettext_lazy("Reason"),
    "channel": gettext_lazy("Channel"),
    "outcome": gettext_lazy("Outcome"),
    "status": gettext_lazy("Status"),
    "tier": gettext_lazy("Level"),
    "unit": gettext_lazy("Unit"),
    "appeal": gettext_lazy("Appeal"),
}


def refuse_unless_reader(request: HttpRequest) -> None:
    if not access.can(request.user, "disputes.read"):
        raise PermissionDenied(_("Disputes are open to mediators and the offices handling them."))


def error_text(exc: CivitasError) -> str:
    """A message for a refusal, naming the field the service complained about."""
    if isinstance(exc, Conflict):
        head = _("Someone else changed this dispute first — reload the page and try again.")
    elif isinstance(exc, Forbidden):
        head = _("You may not take this action.")
    elif isinstance(exc, NotFound):
        head = _("Not found.")
    elif isinstance(exc, InvalidInput):
        head = _("Please check what you entered.")
    else:
        head = _("The action was refused.")
    details = exc.details if isinstance(exc.details, dict) else {}
    fields = details.get("fields")
    if isinstance(fields, dict) and fields:
        named = "; ".join(
            f"{FIELD_WORDS.get(str(k), str(k).replace('_', ' '))}: {v}" for k, v in fields.items()
        )
        return f"{head} {named}"
    field = details.get("field")
    if field:
        word = FIELD_WORDS.get(str(field), str(field).replace("_", " "))
        return f"{head} {word}: {exc.message}"
    return f"{head} {exc.message}"


def form_errors_text(form: dj_forms.BaseForm | Any) -> str:
    parts: list[str] = []
    for name, errors in form.errors.items():
        text = " ".join(str(e) for e in errors)
        if name == "__all__" or name not in form.fields:
            parts.append(text)
        elif name == "version":
            parts.append(_("The form is incomplete: reload the page."))
        else:
            parts.append(f"{form.fields[name].label}: {text}")
    return " ".join(parts)


# The page's action → the service's move (services.MOVES).
MOVE_OF = {
    "accept": "accept",
    "assign": "assign_lead_mediator",
    "schedule": "schedule_session",
    "session_result": "record_session",
    "agreement": "record_agreement",
    "follow_up": "record_follow_up",
    "fail": "fail",
    "escalate": "escalate",
    "risk": "set_risk_level",
    "refer_out": "refer",
    "withdraw": "withdraw",
    "close": "close",
}


def may_see_parties(actor: Any, d: Dispute) -> bool:
    return services.may_see_parties(actor, d)


def allowed_actions(actor: Any, d: Dispute) -> set[str]:
    """The actions the reader may take now: the services' answer, in the page's words."""
    moves = set(services.allowed_moves(actor, d))
    return {action for action, move in MOVE_OF.items() if move in moves}


def reasons_text(reasons: Iterable[Any]) -> list[str]:
    """The rules' reasons in the reader's language."""
    out: list[str] = []
    for r in reasons or []:
        if isinstance(r, dict) and r.get("code"):
            out.append(rules.reason_text(r))
        elif isinstance(r, dict):
            out.append(in_active_language(str(r.get("en", "")), str(r.get("zh", ""))))
        else:
            out.append(str(r))
    return [t for t in out if t]


def actor_names(labels: Iterable[str]) -> dict[str, str]:
    """Readable names for audit labels (``user:<id>:<username>``) on a timeline."""
    from civitas.org.models import User

    ids: dict[int, str] = {}
    names: dict[str, str] = {}
    for label in set(labels):
        kind, _colon, rest = label.partition(":")
        head = rest.split(":")[0]
        if kind == "user" and head.isdigit():
            ids[int(head)] = label
        elif kind == "system" or label == "system":
            names[label] = _("automatic")
        else:
            names[label] = label
    for user in User.objects.filter(pk__in=list(ids)):
        names[ids[user.pk]] = str(user)
    for pk, label in ids.items():
        names.setdefault(label, label.split(":")[-1] or str(pk))
    return names
