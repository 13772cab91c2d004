"""The resident's pages: submit an appeal, follow it by its private link, answer, rate."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civitas.appeals import selectors, services
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal, Status
from civitas.appeals.parties import TrackingToken, parties_of
from civitas.kit.errors import CivitasError
from civitas.web.forms_appeals import AnswerForm, AppealForm, RatingForm
from civitas.web.views.appeals import (
    action_label,
    add_errors,
    enter_appeal,
    photos_of,
    serve_attachment,
)

RATE_ACTIONS = {"rate_closed", "rate_reopen", "rate_review"}


def appeal_new(request: HttpRequest) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    return enter_appeal(
        request,
        form_class=AppealForm,
        template="web/appeals/new.html",
        actor=user or "web:anonymous",
        resident=user,
    )


def _timeline(appeal: Appeal) -> list[dict[str, Any]]:
    return [
        {"e": e, "label": action_label(e.action)}
        for e in appeal.events.filter(public=True).order_by("at", "id")
    ]


def _resident_page(
    request: HttpRequest, appeal: Appeal, actor: Any, *, files_base: str
) -> HttpResponse:
    """The resident's view of a case (by token or by account); takes their answer and rating."""
    allowed = set(wf.allowed_actions(appeal, parties_of(actor, appeal)))
    may_answer = "resident_info" in allowed
    may_rate = bool(allowed & RATE_ACTIONS)
    answer_form = AnswerForm(request.POST if request.POST.get("do") == "answer" else None)
    rating_form = RatingForm(request.POST if request.POST.get("do") == "rate" else None)
    if request.method == "POST":
        form = answer_form if request.POST.get("do") == "answer" else rating_form
        if form.is_valid():
            try:
                with transaction.atomic():
                    if form is answer_form and may_answer:
                        services.resident_info(
                            actor=actor, appeal=appeal, answer=form.cleaned_data["answer"]
                        )
                        messages.success(request, _("Thank you: your answer was sent to the unit."))
                    elif form is rating_form and may_rate:
                        d = form.cleaned_data
                        services.rate(
                            actor=actor,
                            appeal=appeal,
                            responded=d["responded"],
                            solved=d["solved"],
                            satisfaction=d["satisfaction"],
                            comment=d.get("comment", ""),
                        )
                        messages.success(request, _("Thank you for your rating."))
                    else:
                        messages.error(request, _("This is no longer possible for your appeal."))
            except CivitasError as exc:
                add_errors(form, exc)
            else:
                return redirect(request.path)
    rounds = list(appeal.ratings.order_by("round"))
    return render(
        request,
        "web/resident/track.html",
        {
            "appeal": appeal,
            "timeline": _timeline(appeal),
            "files_base": files_base,
            "may_answer": may_answer,
            "may_rate": may_rate,
            "answer_form": answer_form,
            "rating_form": rating_form,
            "ratings": rounds,
            "question": appeal.events.filter(action="request_info").order_by("-at").first()
            if appeal.status == Status.WAITING_RESIDENT
            else None,
            **photos_of(appeal),
        },
    )


def _by_token(token: str) -> tuple[Appeal, TrackingToken]:
    appeal = selectors.by_token(token)
    if appeal is None:
        raise Http404("no appeal with this tracking link")
    return appeal, TrackingToken(appeal.pk)


def track(request: HttpRequest, token: str) -> HttpResponse:
    appeal, actor = _by_token(token)
    return _resident_page(request, appeal, actor, files_base=f"/track/{token}/file/")


def track_file(request: HttpRequest, token: str, pk: int) -> HttpResponseBase:
    appeal, _actor = _by_token(token)
    return serve_attachment(appeal, pk)


def _mine(request: HttpRequest, ticket: str) -> Appeal:
    appeal = (
        selectors.appeals(request.user).filter(ticket=ticket, resident_id=request.user.pk).first()
    )
    if appeal is None:
        raise Http404("no such appeal of yours")
    return appeal


@login_required
def my_appeals(request: HttpRequest) -> HttpResponse:
    items = (
        selectors.appeals(request.user).filter(resident_id=request.user.pk).order_by("-received_at")
    )
    return render(request, "web/resident/mine.html", {"items": items[:200]})


@login_required
def my_appeal(request: HttpRequest, ticket: str) -> HttpResponse:
    appeal = _mine(request, ticket)
    return _resident_page(request, appeal, request.user, files_base=f"/my/appeals/{ticket}/file/")


@login_required
def my_appeal_file(request: HttpRequest, ticket: str, pk: int) -> HttpResponseBase:
    return serve_attachment(_mine(request, ticket), pk)
