"""Task pages (/participate/tasks/…), "My participation", the community's confirmations and the
figures. Plain forms: POST, then back to the page with a message."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit import clock
from civitas.kit.errors import CivitasError, Conflict, Forbidden, InvalidInput
from civitas.org import access
from civitas.participation import orgs, volunteering
from civitas.participation import selectors_tasks as sel
from civitas.participation.access_rules import managing_units, may_manage
from civitas.participation.forms_tasks import ReportForm, TaskForm, places_under
from civitas.participation.models import Organisation, Task, TaskTake

PAGE_SIZE = 50


def error_text(exc: CivitasError) -> str:
    if isinstance(exc, Conflict):
        head = _("This action is not possible now.")
    elif isinstance(exc, Forbidden):
        head = _("You may not take this action.")
    elif isinstance(exc, InvalidInput):
        head = _("Please check what you entered.")
    else:
        head = _("The action was refused.")
    return f"{head} {exc.message}"


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def task_list(request: HttpRequest) -> HttpResponse:
    staff = access.can(request.user, "participation.read")
    status = request.GET.get("status", "")
    if status not in Task.Status.values:
        status = ""
    items = sel.staff_tasks(request.user, status) if staff else sel.public_tasks()
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "participation/tasks.html",
        {
            "page": page,
            "staff": staff,
            "status": status,
            "qs": f"status={status}" if status else "",
            "statuses": Task.Status.choices,
            "can_publish": bool(managing_units(request.user)),
        },
    )


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    units = managing_units(request.user)
    if not units:
        raise PermissionDenied(
            _("Tasks are published by the staff of the city, a street or a community.")
        )
    initial: dict[str, Any] = {"slots": 1}
    if request.GET.get("appeal"):
        initial["appeal"] = request.GET["appeal"][:32]
    if request.GET.get("source"):
        initial["source_ref"] = request.GET["source"][:60]
    form = TaskForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            t = volunteering.publish(
                actor=request.user,
                data=volunteering.TaskIn(
                    kind=d["kind"],
                    title=d["title"],
                    description=d["description"],
                    publisher=d["publisher"],
                    jurisdiction=d["jurisdiction"],
                    starts_at=d["starts_at"],
                    ends_at=d["ends_at"],
                    slots=d["slots"],
                    place=d["place"],
                    hours_expected=d["hours_expected"],
                    appeal_ticket=d["appeal"],
                    source_ref=d["source_ref"],
                ),
            )
        except CivitasError as exc:
            field = (exc.details or {}).get("field") if isinstance(exc.details, dict) else None
            if field == "appeal" or field in form.fields:
                form.add_error(field, exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("Task %(code)s is published.") % {"code": t.code})
            return redirect("participation-task", code=t.code)
    return render(request, "participation/task_form.html", {"form": form})


def task_detail(request: HttpRequest, code: str) -> HttpResponse:
    t, staff = sel.task_for(request.user, code)
    if t is None:
        raise Http404(_("No such task."))
    takes = (
        list(
            TaskTake.objects.filter(task=t)
            .select_related("user", "organisation")
            .order_by("taken_at", "pk")
        )
        if staff
        else []
    )
    my_take = None
    my_orgs: list[Organisation] = []
    is_participant = False
    if request.user.is_authenticated:
        my_take = TaskTake.objects.filter(task=t, user=request.user).order_by("-pk").first()
        my_orgs = list(
            Organisation.objects.filter(managers=request.user, state=Organisation.State.ACTIVE)
        )
        p = getattr(request.user, "participant", None)
        is_participant = bool(p and p.state == "active")
    return render(
        request,
        "participation/task.html",
        {
            "task": t,
            "staff": staff,
            "manager": staff and may_manage(request.user, t.jurisdiction_path),
            "takes": takes,
            "taken": sel.live_count(t),
            "my_take": my_take,
            "my_orgs": my_orgs,
            "is_participant": is_participant,
            "running": t.status in (Task.Status.OPEN, Task.Status.FULL),
        },
    )


@require_POST
@login_required
def task_act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    p = request.POST
    try:
        if action == "take":
            volunteering.take(
                actor=request.user, task=code, organisation=p.get("organisation") or None
            )
            done = _("You took a place. Thank you!")
        elif action == "withdraw":
            volunteering.withdraw(actor=request.user, task=code)
            done = _("You gave your place back.")
        elif action in ("complete", "no_show"):
            raw = p.get("take", "")
            if not raw.isdigit():
                raise InvalidInput(_("take: which place?"), details={"field": "take"})
            volunteering.complete(
                actor=request.user,
                task=code,
                take_id=int(raw),
                hours=p.get("hours", ""),
                no_show=action == "no_show",
                note=p.get("note", ""),
            )
            done = _("Recorded.")
        elif action == "close":
            volunteering.close(actor=request.user, task=code, version=_version(request))
            done = _("The task is completed.")
        elif action == "cancel":
            volunteering.cancel(
                actor=request.user, task=code, reason=p.get("reason", ""), version=_version(request)
            )
            done = _("The task is cancelled.")
        else:
            raise Http404
    except CivitasError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)
    return redirect("participation-task", code=code)


# -- my participation -----------------------------------------------------------------------


def _report_form(request: HttpRequest, data: Any = None) -> ReportForm:
    from civitas.org.models import Unit, UnitKind

    homes = list(
        Unit.objects.filter(kind=UnitKind.COMMUNITY_COMMITTEE, active=True)
        .select_related("jurisdiction")
        .order_by("jurisdiction__path")[:2000]
    )
    places = sorted(
        {u.jurisdiction.pk: u.jurisdiction for u in homes}.values(), key=lambda j: j.path
    )
    return ReportForm(
        data,
        places=places,
        orgs=list(Organisation.objects.filter(state=Organisation.State.ACTIVE).order_by("code")),
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    m = sel.mine(request.user)
    return render(
        request,
        "participation/volunteer_mine.html",
        {"m": m, "form": _report_form(request), "now": clock.now()},
    )


@require_POST
@login_required
def mine_act(request: HttpRequest, action: str) -> HttpResponse:
    try:
        if action == "report":
            form = _report_form(request, request.POST)
            if not form.is_valid():
                field, errs = next(iter(form.errors.items()))
                raise InvalidInput(
                    f"{field}: {' '.join(str(e) for e in errs)}", details={"field": field}
                )
            d = form.cleaned_data
            orgs.report(
                actor=request.user,
                home=d["home"],
                is_volunteer=d["is_volunteer"],
                is_party_member=d["is_party_member"],
                organisation=d["organisation"],
                skills=d["skills"],
            )
            done = _("Your report was sent to the community; they will confirm it.")
        elif action == "leave":
            orgs.leave(actor=request.user)
            done = _("You no longer take part.")
        else:
            raise Http404
    except CivitasError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, done)
    return redirect("participation-mine")


# -- the community's confirmations ----------------------------------------------------------


@login_required
def participants(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "participation.read"):
        raise PermissionDenied(_("The list of participants is open to staff."))
    pending = list(sel.pending_participants(request.user)[:200])
    confirmed = Paginator(
        sel.staff_participants(request.user).filter(state="active"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "participation/participants.html",
        {
            "pending": [(p, may_manage(request.user, p.home_path)) for p in pending],
            "confirmed": confirmed,
        },
    )


@require_POST
@login_required
def participant_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("confirm", "decline"):
        raise Http404
    try:
        orgs.decide_participant(
            actor=request.user,
            participant=pk,
            confirm=action == "confirm",
            reason=request.POST.get("reason", ""),
        )
    except CivitasError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Confirmed.") if action == "confirm" else _("Declined."))
    return redirect("participation-participants")


# -- figures --------------------------------------------------------------------------------


def parse_day(raw: str, field: str, *, end: bool = False) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("%(field)s: %(value)s is not a date (YYYY-MM-DD)") % {"field": field, "value": raw},
            details={"field": field},
        ) from None
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(d, time.min, tzinfo=zone)
    if end:
        from datetime import timedelta

        return start + timedelta(days=1)
    return start


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "participation.read"):
        raise PermissionDenied(_("The figures are open to staff."))
    error = ""
    try:
        start = parse_day(request.GET.get("from", ""), "from")
        end = parse_day(request.GET.get("to", ""), "to", end=True)
    except InvalidInput as exc:
        error, start, end = exc.message, None, None
    return render(
        request,
        "participation/task_figures.html",
        {
            "f": sel.figures(request.user, start, end),
            "rows": sel.who_where(request.user, start, end, limit=200),
            "kinds": dict(Task.Kind.choices),
            "error": error,
            "from": request.GET.get("from", ""),
            "to": request.GET.get("to", ""),
        },
    )


def places_for_orgs(request: HttpRequest) -> list[Any]:
    units = managing_units(request.user)
    if units:
        return places_under([u.jurisdiction.path for u in units])
    from civitas.geo.models import Jurisdiction

    return list(
        Jurisdiction.objects.filter(level__code__in=("district", "street", "community")).order_by(
            "path"
        )[:2000]
    )
