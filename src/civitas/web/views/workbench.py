"""The staff workbench: my queue with deadlines, the case page with every action the reader
may take now, and the centre's dispatch desk.

Each action form posts the case ``version`` it was drawn from; a move against a newer case is
refused (``StaleCase``) and the page says someone else acted first. Without JavaScript the
forms post and the page reloads; with HTMX the case part of the page is swapped in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civitas.appeals import deadlines, selectors, services
from civitas.appeals import workflow as wf
from civitas.appeals.models import (
    OPEN_STATUSES,
    Appeal,
    Assignment,
    Request,
    Satisfaction,
    Status,
    Summons,
)
from civitas.appeals.parties import may_see_contact, parties_of
from civitas.geo import selectors as geo_selectors
from civitas.kit import clock
from civitas.kit.errors import CivitasError, InvalidInput
from civitas.matters import selectors as matter_selectors
from civitas.web.views.appeals import (
    action_label,
    actor_names,
    error_text,
    photos_of,
    serve_attachment,
)
from civitas.web.views.common import page_of, query_string, require
from civitas.web.views.handoffs import case_handoffs


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | line | unit | units | days | files | jurisdiction | matter | yesno | ...
    label: Any
    required: bool = True


NOTE = Field("note", "text", gettext_lazy("Note"))
OPTIONAL_NOTE = Field("note", "text", gettext_lazy("Note"), required=False)
UNIT = Field("unit", "unit", gettext_lazy("Unit"))

# The form of each action: its fields, and its button's words.
FORMS: dict[str, tuple[list[Field], Any]] = {
    "accept": ([], gettext_lazy("Accept (签收)")),
    "return": (
        [Field("reason", "text", gettext_lazy("Why does your unit return it?"))],
        gettext_lazy("Return"),
    ),
    "dispatch": (
        [UNIT, Field("reason", "text", gettext_lazy("Note"), False)],
        gettext_lazy("Dispatch"),
    ),
    "redispatch": (
        [UNIT, Field("reason", "text", gettext_lazy("Why"), True)],
        gettext_lazy("Dispatch again"),
    ),
    "arbitrate": (
        [UNIT, Field("reason", "text", gettext_lazy("Grounds of the ruling"))],
        gettext_lazy("Arbitrate (binding)"),
    ),
    "add_co_handler": (
        [UNIT, Field("part", "line", gettext_lazy("Their part"))],
        gettext_lazy("Add co-handler"),
    ),
    "co_done": (
        [Field("note", "text", gettext_lazy("What your unit did"))],
        gettext_lazy("Our part is done"),
    ),
    "progress": ([Field("note", "text", gettext_lazy("Progress"))], gettext_lazy("Add progress")),
    "internal_note": (
        [Field("note", "text", gettext_lazy("Internal note"))],
        gettext_lazy("Add internal note"),
    ),
    "request_info": (
        [Field("question", "text", gettext_lazy("What do you need to know?"))],
        gettext_lazy("Ask the resident"),
    ),
    "resident_info": (
        [Field("answer", "text", gettext_lazy("The resident's answer"))],
        gettext_lazy("Record the answer"),
    ),
    "reply": (
        [Field("text", "text", gettext_lazy("Reply to the resident"))],
        gettext_lazy("Send reply"),
    ),
    "request_extension": (
        [
            Field("days", "days", gettext_lazy("Extra working days")),
            Field("reason", "text", gettext_lazy("Why")),
        ],
        gettext_lazy("Request extension"),
    ),
    "request_suspension": (
        [Field("reason", "text", gettext_lazy("Why"))],
        gettext_lazy("Request suspension"),
    ),
    "resume": ([OPTIONAL_NOTE], gettext_lazy("Resume")),
    "whistle": (
        [
            Field("units", "units", gettext_lazy("Departments to summon")),
            Field("note", "text", gettext_lazy("Why")),
        ],
        gettext_lazy("Blow the whistle (吹哨)"),
    ),
    "report_summons": (
        [Field("summons", "summons", gettext_lazy("Summons")), OPTIONAL_NOTE],
        gettext_lazy("Report (报到)"),
    ),
    "resolve": (
        [
            Field("result", "text", gettext_lazy("What was done")),
            Field("evidence", "files", gettext_lazy("Evidence photos"), False),
        ],
        gettext_lazy("Resolve (办结)"),
    ),
    "rate": (
        [
            Field("responded", "yesno", gettext_lazy("Was it responded to?")),
            Field("solved", "yesno", gettext_lazy("Is it solved?")),
            Field("satisfaction", "satisfaction", gettext_lazy("Satisfaction")),
            Field("comment", "text", gettext_lazy("Comment"), False),
        ],
        gettext_lazy("Record the callback (回访)"),
    ),
    "reopen": ([Field("reason", "text", gettext_lazy("Why"))], gettext_lazy("Reopen")),
    "close_review": (
        [Field("reason", "text", gettext_lazy("Why the resolution stands"))],
        gettext_lazy("Close"),
    ),
    "escalate": ([OPTIONAL_NOTE], gettext_lazy("Supervise (督办)")),
    "mark_duplicate": (
        [Field("of", "ticket", gettext_lazy("Duplicate of (ticket)"))],
        gettext_lazy("Merge"),
    ),
    "relocate": (
        [Field("jurisdiction", "jurisdiction", gettext_lazy("Place"))],
        gettext_lazy("Set the place"),
    ),
    "reclassify": (
        [Field("matter", "matter", gettext_lazy("Category"))],
        gettext_lazy("Set the category"),
    ),
}

# Moves that only background work makes, or that have their own place on the page.
NOT_A_FORM = {"hold_for_triage", "suspend", "auto_close", "decide_extension", "decide_suspension"}
RATE_ACTIONS = {"rate_closed", "rate_reopen", "rate_review"}
STAFF_ACTIONS = [a for a in FORMS if a != "rate"]


def _need(post: Any, name: str) -> str:
    return str(post.get(name, "")).strip()


def _unit(appeal: Appeal, code: str) -> Any:
    unit = selectors.target_units(appeal.city).filter(code=code).first()
    if unit is None:
        raise InvalidInput(_("Choose a unit from the list."), details={"field": "unit"})
    return unit


def _days(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(_("Give a number of days."), details={"field": "days"}) from None


def _yes(text: str, name: str) -> bool:
    if text not in ("yes", "no"):
        raise InvalidInput(_("Answer yes or no."), details={"field": name})
    return text == "yes"


def _my_units(request: HttpRequest) -> list[int]:
    return selectors.my_units(request.user)


def _co_unit(request: HttpRequest, appeal: Appeal) -> Any:
    a = (
        Assignment.objects.filter(
            appeal=appeal,
            role=Assignment.Role.CO,
            unit_id__in=_my_units(request),
            state__in=[Assignment.State.DISPATCHED, Assignment.State.ACCEPTED],
        )
        .select_related("unit")
        .first()
    )
    if a is None:
        raise InvalidInput(_("Your unit has no open part in this case."))
    return a.unit


def _summons(request: HttpRequest, appeal: Appeal, pk: str) -> Summons:
    s = (
        Summons.objects.filter(appeal=appeal, unit_id__in=_my_units(request), pk=pk or 0)
        .select_related("unit")
        .first()
    )
    if s is None:
        raise InvalidInput(_("Choose your unit's summons."), details={"field": "summons"})
    return s


def _do(request: HttpRequest, appeal: Appeal, action: str) -> None:
    """Call the service of ``action`` with the posted fields. Runs in the view's transaction."""
    p, u = request.POST, request.user
    v = appeal.version
    if action in ("dispatch", "redispatch"):
        services.dispatch(
            actor=u, appeal=appeal, unit=_unit(appeal, _need(p, "unit")),
            reason=_need(p, "reason"), version=v,
        )  # fmt: skip
    elif action == "arbitrate":
        services.arbitrate(
            actor=u, appeal=appeal, unit=_unit(appeal, _need(p, "unit")),
            reason=_need(p, "reason"), version=v,
        )  # fmt: skip
    elif action == "accept":
        services.accept(actor=u, appeal=appeal, version=v)
    elif action == "return":
        services.return_case(actor=u, appeal=appeal, reason=_need(p, "reason"), version=v)
    elif action == "add_co_handler":
        services.add_co_handler(
            actor=u, appeal=appeal, unit=_unit(appeal, _need(p, "unit")), part=_need(p, "part")
        )
    elif action == "co_done":
        services.co_done(
            actor=u, appeal=appeal, unit=_co_unit(request, appeal), note=_need(p, "note")
        )
    elif action == "progress":
        services.progress(actor=u, appeal=appeal, note=_need(p, "note"))
    elif action == "internal_note":
        services.internal_note(actor=u, appeal=appeal, note=_need(p, "note"))
    elif action == "request_info":
        services.request_info(actor=u, appeal=appeal, question=_need(p, "question"))
    elif action == "resident_info":
        services.resident_info(actor=u, appeal=appeal, answer=_need(p, "answer"))
    elif action == "reply":
        services.reply(actor=u, appeal=appeal, text=_need(p, "text"))
    elif action == "request_extension":
        services.request_extension(
            actor=u, appeal=appeal, days=_days(_need(p, "days")), reason=_need(p, "reason")
        )
    elif action == "request_suspension":
        services.request_suspension(actor=u, appeal=appeal, reason=_need(p, "reason"))
    elif action == "resume":
        services.resume(actor=u, appeal=appeal, note=_need(p, "note"))
    elif action == "whistle":
        codes = [c for c in p.getlist("units") if c]
        units = list(selectors.target_units(appeal.city).filter(code__in=codes))
        services.whistle(actor=u, appeal=appeal, units=units, note=_need(p, "note"))
    elif action == "report_summons":
        s = _summons(request, appeal, _need(p, "summons"))
        services.report_summons(actor=u, appeal=appeal, summons=s, note=_need(p, "note"))
    elif action == "resolve":
        services.resolve(
            actor=u, appeal=appeal, result=_need(p, "result"),
            evidence=request.FILES.getlist("evidence"), version=v,
        )  # fmt: skip
    elif action == "rate":
        services.rate(
            actor=u, appeal=appeal, responded=_yes(_need(p, "responded"), "responded"),
            solved=_yes(_need(p, "solved"), "solved"),
            satisfaction=_need(p, "satisfaction"), comment=_need(p, "comment"),
            by_callback=True,
        )  # fmt: skip
    elif action == "reopen":
        services.reopen(actor=u, appeal=appeal, reason=_need(p, "reason"))
    elif action == "close_review":
        services.close_review(actor=u, appeal=appeal, reason=_need(p, "reason"))
    elif action == "escalate":
        services.escalate(actor=u, appeal=appeal, note=_need(p, "note"))
    elif action == "mark_duplicate":
        of = selectors.appeals(u).filter(ticket=_need(p, "of")).first()
        if of is None:
            raise InvalidInput(_("No case with that ticket in your area."), details={"field": "of"})
        services.mark_duplicate(actor=u, appeal=appeal, of=of)
    elif action == "relocate":
        j = geo_selectors.jurisdictions(within=appeal.city).filter(code=_need(p, "jurisdiction"))
        if not j.exists():
            raise InvalidInput(_("Choose a place of this city."), details={"field": "jurisdiction"})
        services.relocate(actor=u, appeal=appeal, jurisdiction=j.get(), note=_need(p, "note"))
    elif action == "reclassify":
        m = matter_selectors.matters(catalogue=appeal.city).filter(code=_need(p, "matter"))
        if not m.exists():
            raise InvalidInput(_("Choose a category from the list."), details={"field": "matter"})
        services.reclassify(actor=u, appeal=appeal, matter=m.get(), note=_need(p, "note"))
    elif action == "decide":
        req = Request.objects.filter(appeal=appeal, pk=_need(p, "request") or 0).first()
        if req is None:
            raise InvalidInput(_("No such request on this case."))
        services.decide_request(
            actor=u, appeal=appeal, request=req, approve=_need(p, "decision") == "approve",
            note=_need(p, "note"),
        )  # fmt: skip
    else:
        raise Http404("no such action")


def _case(request: HttpRequest, ticket: str) -> Appeal:
    require(request, "appeals.read", _("The workbench is for staff of the city's units."))
    appeal = selectors.case(request.user, ticket)
    if appeal is None:
        raise Http404("no such case in your area")
    return appeal


@login_required
@require_POST
def case_act(request: HttpRequest, ticket: str, action: str) -> HttpResponse:
    appeal = _case(request, ticket)
    if action not in FORMS and action != "decide":
        raise Http404("no such action")
    try:
        with transaction.atomic():
            locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
            seen = request.POST.get("version", "")
            if not seen.isdigit() or int(seen) != locked.version:
                raise wf.StaleCase(
                    f"{locked.ticket} changed while you were looking at it (now: "
                    f"{locked.get_status_display()})",
                    details={"version": locked.version},
                )
            _do(request, locked, action)
    except CivitasError as exc:
        messages.error(request, error_text(exc))
    else:
        label = FORMS[action][1] if action in FORMS else _("Decision")
        messages.success(request, _("Done: %(action)s.") % {"action": label})
    return redirect("case", ticket=ticket)


def _assignments(appeal: Appeal) -> list[Assignment]:
    return list(appeal.assignments.select_related("unit").order_by("-role", "dispatched_at"))


def _summonses(appeal: Appeal, now: Any) -> list[dict[str, Any]]:
    out = []
    for s in appeal.summonses.select_related("unit", "by_unit"):
        late = s.late or (s.reported_at is None and now > s.due_at)
        out.append({"s": s, "late": late})
    return out


def _forms(appeal: Appeal, allowed: list[str]) -> list[dict[str, Any]]:
    lead = services.lead_assignment(appeal)
    bound = lead is not None and lead.binding
    names: list[str] = []
    for a in allowed:
        if a in NOT_A_FORM or (a == "return" and bound):
            continue
        name = "rate" if a in RATE_ACTIONS else a
        if name in FORMS and name not in names:
            names.append(name)
    return [{"action": n, "fields": FORMS[n][0], "button": FORMS[n][1]} for n in names]


MATTER_METHODS = {
    "model": gettext_lazy("model"),
    "keywords": gettext_lazy("keyword rules"),
    "resident": gettext_lazy("chosen by the resident"),
    "staff": gettext_lazy("set by staff"),
}
ROUTE_METHODS = {
    "history": gettext_lazy("learned from history"),
    "list": gettext_lazy("responsibility list"),
}


def _machine(appeal: Appeal, events: list[Any]) -> dict[str, Any]:
    """How triage understood the case: classifier, alternatives, route, duplicate."""
    received = next((e for e in events if e.action == "received"), None)
    alternatives = ((received.data or {}).get("alternatives") or []) if received else []
    codes = [code for code, _p in alternatives]
    found = {
        m.code: m for m in matter_selectors.matters(catalogue=appeal.city).filter(code__in=codes)
    }
    return {
        "matter_method": MATTER_METHODS.get(appeal.matter_method, appeal.matter_method),
        "by_machine": appeal.matter_method in ("model", "keywords"),
        "route_method": ROUTE_METHODS.get(appeal.route_method, appeal.route_method),
        "alternatives": [(found[c], p) for c, p in alternatives if c in found],
    }


@login_required
def case(request: HttpRequest, ticket: str) -> HttpResponse:
    appeal = _case(request, ticket)
    parties = parties_of(request.user, appeal)
    allowed = wf.allowed_actions(appeal, parties)
    now = clock.now()
    requests = list(appeal.requests.select_related("unit").order_by("-requested_at"))
    may_decide: dict[str, bool] = {
        Request.Kind.EXTENSION: "decide_extension" in allowed,
        Request.Kind.SUSPENSION: "decide_suspension" in allowed,
    }
    forms = _forms(appeal, allowed)
    needs = {f.kind for form in forms for f in form["fields"]}
    my = set(_my_units(request))
    events = list(appeal.events.select_related("unit").order_by("at", "id"))
    who = actor_names(e.actor for e in events)
    context: dict[str, Any] = {
        "appeal": appeal,
        "machine": _machine(appeal, events),
        "parties": sorted(parties),
        "light": deadlines.light(appeal, now),
        "contact": getattr(appeal, "contact", None)
        if may_see_contact(request.user, appeal)
        else None,
        "assignments": _assignments(appeal),
        "summonses": _summonses(appeal, now),
        "requests": [
            {"r": r, "may_decide": r.state == Request.State.PENDING and may_decide[r.kind]}
            for r in requests
        ],
        "timeline": [
            {"e": e, "label": action_label(e.action), "who": who.get(e.actor, e.actor)}
            for e in events
        ],
        "forms": forms,
        "ratings": list(appeal.ratings.order_by("round")),
        "satisfactions": Satisfaction.choices,
        "own_summonses": [
            s
            for s in appeal.summonses.select_related("unit")
            if s.unit_id in my and not s.reported_at
        ],
        **photos_of(appeal),
        **case_handoffs(appeal, parties),
    }
    if needs & {"unit", "units"}:
        context["units"] = list(selectors.target_units(appeal.city).order_by("kind", "code"))
    if "jurisdiction" in needs:
        context["places"] = list(geo_selectors.jurisdictions(within=appeal.city))
    if "matter" in needs:
        context["matters"] = list(matter_selectors.matters(catalogue=appeal.city, leaves_only=True))
    return render(request, "web/appeals/case.html", context)


@login_required
def case_file(request: HttpRequest, ticket: str, pk: int) -> HttpResponseBase:
    return serve_attachment(_case(request, ticket), pk)


LIGHT_LABELS = {
    deadlines.GREEN: gettext_lazy("On time"),
    deadlines.YELLOW: gettext_lazy("Due soon"),
    deadlines.RED: gettext_lazy("Overdue"),
}


def _rows(items: Any, now: Any) -> list[dict[str, Any]]:
    return [{"a": a, "light": deadlines.light(a, now)} for a in items]


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    require(request, "appeals.read", _("The workbench is for staff of the city's units."))
    # People without a unit of their own (centre staff) start on everything they may see.
    default_tab = "mine" if selectors.my_units(request.user) else "area"
    tab = request.GET.get("tab", default_tab)
    qs = selectors.my_queue(request.user) if tab == "mine" else selectors.appeals(request.user)
    status = request.GET.get("status", "")
    if status in Status.values:
        qs = qs.filter(status=status)
    elif tab != "mine" and status != "all":
        qs = qs.filter(status__in=OPEN_STATUSES)
    if request.GET.get("overdue"):
        qs = qs.filter(status__in=OPEN_STATUSES, resolve_due__lt=clock.now())
    q = request.GET.get("q", "").strip()[:80]
    if q:
        qs = qs.filter(Q(ticket__icontains=q) | Q(text__icontains=q) | Q(address__icontains=q))
    if tab != "mine":
        qs = qs.order_by("resolve_due", "received_at")
    page = page_of(request, qs)
    return render(
        request,
        "web/appeals/queue.html",
        {
            "tab": tab,
            "page": page,
            "rows": _rows(page.object_list, clock.now()),
            "statuses": Status.choices,
            "status": status,
            "q": q,
            "overdue": bool(request.GET.get("overdue")),
            "qs": query_string(request),
        },
    )


DESK_LABELS = {
    "unlocated": gettext_lazy("To be located"),
    "unclassified": gettext_lazy("To be classified"),
    "triage": gettext_lazy("Awaiting triage"),
    "returned": gettext_lazy("Returned"),
    "overdue": gettext_lazy("Overdue"),
    "duplicates": gettext_lazy("Possible duplicates"),
    "review": gettext_lazy("Under review"),
}


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    require(request, "appeals.dispatch", _("The dispatch desk is for the centre's dispatchers."))
    current = request.GET.get("queue", "triage")
    if current not in selectors.DESK_QUEUES:
        current = "triage"
    tabs = [
        {"q": q, "label": DESK_LABELS[q], "n": selectors.desk(request.user, q).count()}
        for q in selectors.DESK_QUEUES
    ]
    page = page_of(request, selectors.desk(request.user, current))
    return render(
        request,
        "web/appeals/desk.html",
        {
            "tabs": tabs,
            "current": current,
            "current_label": DESK_LABELS[current],
            "page": page,
            "rows": _rows(page.object_list, clock.now()),
            "qs": query_string(request),
        },
    )
