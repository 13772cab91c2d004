"""Pages of dispute mediation (/mediation/…): the list and the dispute's page.

Reads go through the one door (``access.readable``); every change is a service call made by
``views_act`` (actions) or ``views_register`` (registration, referral from an appeal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civitas.appeals import workflow as appeal_workflow
from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.kit.redact import scrub
from civitas.mediation import forms as f
from civitas.mediation import services
from civitas.mediation import views_common as common
from civitas.mediation.models import (
    OPEN_STATUSES,
    TIER_RANK,
    Channel,
    Dispute,
    DisputeType,
    Outcome,
    Party,
    RiskLevel,
    Session,
    Status,
    Tier,
)
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import Role, User

PAGE_SIZE = 30

EVENT_WORDS = {
    "register": gettext_lazy("Registered"),
    "accept": gettext_lazy("Accepted"),
    "assign_lead_mediator": gettext_lazy("Lead mediator assigned"),
    "schedule_session": gettext_lazy("Session scheduled"),
    "record_session": gettext_lazy("Session recorded"),
    "record_agreement": gettext_lazy("Agreement recorded"),
    "record_follow_up": gettext_lazy("Follow-up visit"),
    "escalate": gettext_lazy("Moved up a level"),
    "set_risk_level": gettext_lazy("Risk level changed"),
    "risk_register": gettext_lazy("Entered in the risk register"),
    "refer": gettext_lazy("Referred to another channel"),
    "withdraw": gettext_lazy("Withdrawn"),
    "close": gettext_lazy("Closed"),
}


def _tier_label(value: str) -> str:
    return str(Tier(value).label) if value in Tier.values else value


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


# -- the list ------------------------------------------------------------------------------


def _filtered(request: HttpRequest) -> tuple[f.FilterForm, QuerySet[Dispute], str]:
    form = f.FilterForm(request.GET or None)
    error = ""
    data: dict[str, Any] = {}
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
        else:
            error = " ".join(
                f"{form.fields[name].label}: {' '.join(str(e) for e in errs)}"
                for name, errs in form.errors.items()
                if name in form.fields
            )
            data = {k: v for k, v in form.data.items() if k in form.fields and k not in form.errors}
    qs = access.readable(request.user, Dispute.objects.all())
    scope = access.scope_of(request.user)
    view = data.get("view") or ("mine" if scope.unit_ids else "area")
    if view == "mine" and scope.unit_ids:
        qs = qs.filter(unit_id__in=scope.unit_ids)
    status = data.get("status") or ""
    if status == "":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status != "all":
        qs = qs.filter(status=status)
    for name, column in (("tier", "tier"), ("type", "type"), ("channel", "channel")):
        if data.get(name):
            qs = qs.filter(**{column: data[name]})
    if data.get("overdue") in (True, "1", "on"):
        qs = qs.filter(status__in=OPEN_STATUSES, due_at__lt=clock.now())
    q = str(data.get("q") or "").strip()
    if q:
        # Not the summary: whoever may not see the parties could search it for a phone or
        # identity number and learn which dispute names it.
        qs = qs.filter(Q(code__icontains=q) | Q(title__icontains=q))
    form.view_now = view  # type: ignore[attr-defined]
    return form, qs, error


@login_required
def disputes(request: HttpRequest) -> HttpResponse:
    common.refuse_unless_reader(request)
    form, qs, error = _filtered(request)
    qs = qs.select_related("unit", "jurisdiction").order_by(
        F("due_at").asc(nulls_last=True), "-received_at", "-pk"
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = clock.now()
    rows = [
        {
            "d": d,
            "title": scrub(d.title),  # a list: masked for everyone (the page shows it whole)
            "overdue": d.status in OPEN_STATUSES and d.due_at is not None and d.due_at < now,
        }
        for d in page
    ]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "mediation/disputes.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "qs": params.urlencode(),
            "error": error,
            "view": form.view_now,  # type: ignore[attr-defined]
            "has_units": bool(access.scope_of(request.user).unit_ids),
            "may_register": access.can(request.user, "disputes.register"),
            "figures_url": _url_or_empty("mediation-figures"),
        },
        status=422 if error else 200,
    )


def _url_or_empty(name: str, *args: Any) -> str:
    """A page of the figures side, once it exists."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


# -- the dispute's page --------------------------------------------------------------------


@dataclass
class PartyView:
    side: str
    kind: str
    label: str
    name: str = ""
    phone: str = ""
    address: str = ""
    representative: str = ""
    credit_code: str = ""
    place: str = ""


def _parties(d: Dispute, see: bool) -> list[PartyView]:
    out: list[PartyView] = []
    counts: dict[str, int] = {}
    for p in d.parties.select_related("jurisdiction").order_by("side", "pk"):
        counts[p.side] = counts.get(p.side, 0) + 1
        label = services.party_label(p, counts[p.side])
        view = PartyView(
            side=str(Party.Side(p.side).label),
            kind=str(Party.Kind(p.kind).label),
            label=label,
            place=str(p.jurisdiction.name) if p.jurisdiction else "",
        )
        if see:
            view.name = p.name
            view.phone = p.phone
            view.address = p.address
            view.representative = p.representative
            view.credit_code = p.credit_code
        out.append(view)
    return out


def _events(d: Dispute) -> list[dict[str, Any]]:
    events = list(d.events.select_related("unit").order_by("at", "pk"))
    who = common.actor_names(e.actor for e in events)
    return [
        {
            "e": e,
            "label": EVENT_WORDS.get(e.action, e.action.replace("_", " ")),
            "who": who.get(e.actor, e.actor),
            "from_tier": _tier_label(e.from_tier) if e.from_tier else "",
            "to_tier": _tier_label(e.to_tier) if e.to_tier else "",
            "to_status": _status_label(e.to_status) if e.to_status else "",
            "detail": _event_detail(e.action, e.data or {}),
        }
        for e in events
    ]


def _choice(kind: Any, value: Any) -> str:
    return str(kind(value).label) if value in kind.values else str(value or "")


def _event_detail(action: str, data: dict[str, Any]) -> str:
    """What the event's data says, in words."""
    if action == "schedule_session":
        return _("session %(n)s, %(place)s") % {
            "n": data.get("session"),
            "place": data.get("place"),
        }
    if action == "record_session":
        return _("session %(n)s: %(result)s") % {
            "n": data.get("session"),
            "result": _choice(Session.Result, data.get("result")),
        }
    if action == "record_agreement":
        return str(data.get("agreement", ""))
    if action == "record_follow_up":
        return _("agreement kept") if data.get("kept") else _("agreement not kept")
    if action == "set_risk_level":
        return f"{_choice(RiskLevel, data.get('from'))} → {_choice(RiskLevel, data.get('to'))}"
    if action == "refer":
        return _choice(Channel, data.get("channel"))
    if action == "close":
        return _choice(Outcome, data.get("outcome"))
    if action == "assign_lead_mediator":
        return str(data.get("mediator", ""))
    if action == "risk_register":
        return str(data.get("risk", ""))
    if action in ("register", "escalate"):
        parts = common.reasons_text(data.get("reasons") or [])
        if data.get("appeal"):
            parts.insert(0, _("from appeal %(t)s") % {"t": data["appeal"]})
        return "; ".join(parts)
    return ""


def _appeal_history(request: HttpRequest, d: Dispute) -> dict[str, Any] | None:
    """The appeal the dispute came from: its timeline (moves and units; the notes and the
    resident's words only to those who may read the appeal itself)."""
    if d.appeal_id is None:
        return None
    appeal = Appeal.objects.filter(pk=d.appeal_id).select_related("jurisdiction").first()
    if appeal is None:
        return None
    readable = access.readable(request.user, Appeal.objects.filter(pk=appeal.pk)).exists()
    events = list(appeal.events.select_related("unit").order_by("at", "id"))
    return {
        "appeal": appeal,
        "readable": readable,
        "events": [{"e": e, "label": appeal_workflow.action_label(e.action)} for e in events],
    }


def mediators_for(d: Dispute) -> list[User]:
    """The people who may mediate at the unit handling the dispute now."""
    return org_services.people_in(d.unit, [Role.MEDIATOR, Role.UNIT_LEADER])


def action_forms(
    d: Dispute, allowed: set[str], post: Any = None, failed: str = ""
) -> dict[str, Any]:
    """The forms of the actions the reader may take now, each with the dispute's version."""
    initial = {"version": d.version}
    mediators = mediators_for(d) if allowed & {"assign", "schedule"} else []
    planned = list(d.sessions.filter(result="").order_by("number"))
    out: dict[str, Any] = {}
    for action in common.ACTION_ORDER:
        if action not in allowed:
            continue
        if action == "session_result" and not planned:
            continue
        data = post if action == failed else None
        kind = common.ACTION_FORMS[action]
        kwargs: dict[str, Any] = {}
        if action in ("assign", "schedule"):
            kwargs["mediators"] = mediators
        if action == "session_result":
            kwargs["sessions"] = planned
        form = kind(data, initial=initial, prefix=action, **kwargs)
        if action == "schedule" and data is None:
            form.initial["mediators"] = [u.pk for u in mediators if u.pk == d.lead_mediator_id]
        if action == "risk" and data is None:
            form.initial["level"] = d.risk_level
        out[action] = form
    return out


def _dispute_or_404(request: HttpRequest, code: str) -> Dispute:
    common.refuse_unless_reader(request)
    d = (
        access.readable(request.user, Dispute.objects.filter(code=code))
        .select_related("unit", "jurisdiction", "lead_mediator", "risk")
        .first()
    )
    if d is None:
        raise Http404("no such dispute")
    return d


@login_required
def dispute(request: HttpRequest, code: str) -> HttpResponse:
    d = _dispute_or_404(request, code)
    return render_dispute(request, d)


def render_dispute(
    request: HttpRequest, d: Dispute, *, post: Any = None, failed: str = "", status: int = 200
) -> HttpResponse:
    now = clock.now()
    allowed = common.allowed_actions(request.user, d)
    stages = list(d.stages.select_related("unit").order_by("started_at", "pk"))
    sessions = list(
        Session.objects.filter(dispute=d).prefetch_related("mediators").order_by("number")
    )
    agreements = list(d.agreements.order_by("made_at", "pk"))
    see = common.may_see_parties(request.user, d)
    forms = action_forms(d, allowed, post, failed)
    open_stage = next((s for s in stages if s.ended_at is None), None)
    context: dict[str, Any] = {
        "d": d,
        # Those who may not see the parties read the texts with phones, identity numbers and
        # e-mails masked; notes, minutes and agreements (which name the parties) not at all.
        "title": d.title if see else scrub(d.title),
        "summary": d.summary if see else scrub(d.summary),
        "is_open": d.status in OPEN_STATUSES,
        "overdue": d.status in OPEN_STATUSES and d.due_at is not None and d.due_at < now,
        "reasons": common.reasons_text(open_stage.reasons if open_stage else []),
        "stages": [
            {
                "s": s,
                "reasons": common.reasons_text(s.reasons),
                "overdue": s.ended_at is None and s.due_at < now,
            }
            for s in stages
        ],
        "events": _events(d),
        "sessions": sessions,
        "agreements": [
            {
                "a": a,
                "pdf": _url_or_empty("mediation-agreement-pdf", d.code, a.pk),
            }
            for a in agreements
        ],
        "follow_ups": list(d.follow_ups.order_by("due_on", "pk")),
        "parties": _parties(d, see),
        "see_parties": see,
        "appeal": _appeal_history(request, d),
        "forms": forms,
        "risk_url": _risk_url(request, d),
        "tier_path": [
            {"value": t.value, "label": t.label, "rank": TIER_RANK[t], "now": t.value == d.tier}
            for t in Tier
        ],
        "types": DisputeType,
        "channels": Channel,
        "risk_levels": RiskLevel,
    }
    return render(request, "mediation/dispute.html", context, status=status)


def _risk_url(request: HttpRequest, d: Dispute) -> str:
    if d.risk_id is None or d.risk is None or not access.can(request.user, "risk.read"):
        return ""
    return _url_or_empty("risk-risk", d.risk.code)
