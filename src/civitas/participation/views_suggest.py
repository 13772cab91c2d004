"""Pages of suggestions (/participate/suggestions/): the public list and page (no login),
proposing and supporting (signed in), and the unit's answer, closing and reassigning (staff).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError
from civitas.org import access
from civitas.participation import moderation, selectors_suggest, suggestions
from civitas.participation.forms_suggest import (
    AnswerForm,
    CloseForm,
    ReasonForm,
    ReassignForm,
    ReportForm,
    SuggestionForm,
)
from civitas.participation.models import Suggestion

PAGE_SIZE = 20


def _form_error(form: Any, exc: CivitasError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)


def _get(code: str) -> Suggestion:
    try:
        return suggestions.get(code)
    except CivitasError as exc:
        raise Http404(exc.message) from exc


def suggestion_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:80]
    status = request.GET.get("status", "")
    status = status if status in Suggestion.Status.values else ""
    area = request.GET.get("area", "").strip()[:40]
    sort = request.GET.get("sort", "support")
    sort = sort if sort in selectors_suggest.SORTS else "support"
    items = selectors_suggest.public_suggestions(search=q, status=status, area=area, sort=sort)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "participation/suggest_list.html",
        {
            "page": page,
            "rows": [selectors_suggest.view(s, request.user) for s in page.object_list],
            "q": q,
            "status": status,
            "area": area,
            "sort": sort,
            "statuses": Suggestion.Status.choices,
            "areas": selectors_suggest.public_areas(),
            "qs": params.urlencode(),
            "is_staff": access.can(request.user, "participation.read"),
            "may_moderate": access.can(request.user, "participation.moderate"),
        },
    )


@login_required
def suggestion_new(request: HttpRequest) -> HttpResponse:
    form = SuggestionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            s = suggestions.propose(
                request.user,
                title=data["title"],
                text=data["text"],
                place=data.get("place"),
                lat=data.get("lat"),
                lon=data.get("lon"),
            )
        except CivitasError as exc:
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _("Your suggestion %(code)s is published. Ask your neighbours to support it.")
                % {"code": s.code},
            )
            return redirect("participation-suggestion", code=s.code)
    return render(
        request,
        "participation/suggest_form.html",
        {"form": form, "threshold": suggestions.threshold()},
    )


def _detail_context(request: HttpRequest, s: Suggestion, **forms: Any) -> dict[str, Any]:
    user = request.user
    signed_in = bool(getattr(user, "is_authenticated", False))
    shown = selectors_suggest.view(s, user)
    handler = suggestions.may_handle(user, s)
    moderator = moderation.may_moderate(user, s)
    live = s.status in suggestions.LIVE and not moderation.is_hidden(s)
    supported = suggestions.supports(user, s)
    return {
        "s": s,
        "v": shown,
        "signed_in": signed_in,
        "supported": supported,
        "may_support": signed_in and live and not shown.own and not supported,
        "reported": moderation.reported_by(user, s),
        "may_report": signed_in
        and not shown.own
        and not moderation.is_hidden(s)
        and not moderation.reported_by(user, s),
        "may_handle": handler,
        "may_moderate": moderator,
        "open_reports": [r for r in moderation.reports_of(s) if r.state == r.State.OPEN]
        if moderator
        else [],
        "answer_form": forms.get("answer_form") or AnswerForm(initial={"version": s.version}),
        "close_form": forms.get("close_form") or CloseForm(initial={"version": s.version}),
        "reassign_form": forms.get("reassign_form")
        or ReassignForm(initial={"version": s.version, "unit": s.unit_id}, city=s.city),
        "report_form": forms.get("report_form") or ReportForm(),
        "hide_form": ReasonForm(),
        "can_answer": handler and s.status in suggestions.LIVE,
        "can_close": handler and s.status in (Suggestion.Status.OPEN, Suggestion.Status.ANSWERED),
        "can_reassign": handler and s.status in suggestions.LIVE,
    }


def suggestion_detail(request: HttpRequest, code: str) -> HttpResponse:
    s = _get(code)
    return render(request, "participation/suggest_detail.html", _detail_context(request, s))


def _back(s: Suggestion, anchor: str = "") -> HttpResponse:
    url = reverse("participation-suggestion", args=[s.code])
    return redirect(url + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def suggestion_support(request: HttpRequest, code: str) -> HttpResponse:
    s = _get(code)
    try:
        s = suggestions.support(request.user, s)
    except CivitasError as exc:
        messages.error(request, exc.message)
    else:
        if s.status == Suggestion.Status.DUE and s.support_count == s.threshold:
            messages.success(
                request,
                _("Thank you: with your support the unit must now answer publicly."),
            )
        else:
            messages.success(request, _("Thank you for your support."))
    return _back(s, "support")


def _staff(request: HttpRequest, s: Suggestion) -> None:
    if not suggestions.may_handle(request.user, s):
        raise PermissionDenied(
            _("Only the responsible unit's staff may answer, close or reassign a suggestion.")
        )


def _staff_move(
    request: HttpRequest,
    code: str,
    form_name: str,
    make_form: Callable[[Suggestion], Any],
    move: Callable[[Suggestion, dict[str, Any]], Suggestion],
    done: Callable[[Suggestion], tuple[str, str]],
) -> HttpResponse:
    """One of the responsible unit's moves from the detail page: check the form, apply the
    move, and go back with a message (or show the form again with what is wrong)."""
    s = _get(code)
    _staff(request, s)
    bound = make_form(s)
    if bound.is_valid():
        try:
            s = move(s, bound.cleaned_data)
        except CivitasError as exc:
            _form_error(bound, exc)
        else:
            message, anchor = done(s)
            messages.success(request, message)
            return _back(s, anchor)
    return render(
        request,
        "participation/suggest_detail.html",
        _detail_context(request, s, **{form_name: bound}),
        status=422,
    )


@login_required
@require_POST
def suggestion_answer(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_move(
        request,
        code,
        "answer_form",
        lambda s: AnswerForm(request.POST),
        lambda s, d: suggestions.answer(request.user, s, version=d["version"], text=d["answer"]),
        lambda s: (_("The answer is published."), "answer"),
    )


@login_required
@require_POST
def suggestion_close(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_move(
        request,
        code,
        "close_form",
        lambda s: CloseForm(request.POST),
        lambda s, d: suggestions.close(request.user, s, version=d["version"], reason=d["reason"]),
        lambda s: (_("%(code)s is closed.") % {"code": s.code}, ""),
    )


@login_required
@require_POST
def suggestion_reassign(request: HttpRequest, code: str) -> HttpResponse:
    return _staff_move(
        request,
        code,
        "reassign_form",
        lambda s: ReassignForm(request.POST, city=s.city),
        lambda s, d: suggestions.reassign(
            request.user, s, version=d["version"], unit=d["unit"], reason=d["reason"]
        ),
        lambda s: (
            _("%(unit)s now answers for it.") % {"unit": s.unit.name if s.unit else ""},
            "",
        ),
    )


@login_required
def suggestion_work(request: HttpRequest) -> HttpResponse:
    """Staff: the suggestions of their units and area, due and overdue first."""
    if not access.can(request.user, "participation.read"):
        raise PermissionDenied(_("The suggestions to answer are for staff."))
    status = request.GET.get("status", "")
    status = status if status in Suggestion.Status.values else ""
    q = request.GET.get("q", "").strip()[:80]
    items = selectors_suggest.staff_suggestions(request.user, search=q, status=status)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "participation/suggest_work.html",
        {
            "page": page,
            "rows": [(s, suggestions.is_overdue(s)) for s in page.object_list],
            "status": status,
            "q": q,
            "statuses": Suggestion.Status.choices,
            "qs": params.urlencode(),
        },
    )
