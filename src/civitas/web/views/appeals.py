"""What the appeal pages share: entering an appeal through intake, the public map and place
look-up of the point picker, labels of actions, error messages, and serving photos."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civitas.appeals import intake, selectors
from civitas.appeals.models import Appeal, Attachment
from civitas.appeals.workflow import IllegalMove, StaleCase
from civitas.geo import selectors as geo_selectors
from civitas.geo.locate import locate
from civitas.kit.errors import CivitasError, Forbidden, InvalidInput
from civitas.web.forms_appeals import AppealForm

TOKENS_KEY = "civitas_tracking_tokens"

# What each move of a case is called on the pages (timeline and buttons).
ACTION_LABELS: dict[str, Any] = {
    "received": gettext_lazy("Received"),
    "hold_for_triage": gettext_lazy("Held for the centre"),
    "dispatch": gettext_lazy("Dispatched"),
    "redispatch": gettext_lazy("Dispatched again"),
    "accept": gettext_lazy("Accepted"),
    "return": gettext_lazy("Returned"),
    "arbitrate": gettext_lazy("Arbitrated"),
    "add_co_handler": gettext_lazy("Co-handler added"),
    "co_done": gettext_lazy("Co-handler's part done"),
    "progress": gettext_lazy("Progress"),
    "internal_note": gettext_lazy("Internal note"),
    "request_info": gettext_lazy("Information requested"),
    "resident_info": gettext_lazy("Resident answered"),
    "reply": gettext_lazy("Reply"),
    "request_extension": gettext_lazy("Extension requested"),
    "decide_extension": gettext_lazy("Extension decided"),
    "request_suspension": gettext_lazy("Suspension requested"),
    "decide_suspension": gettext_lazy("Suspension decided"),
    "suspend": gettext_lazy("Suspended"),
    "resume": gettext_lazy("Resumed"),
    "whistle": gettext_lazy("Departments summoned"),
    "report_summons": gettext_lazy("Department reported"),
    "resolve": gettext_lazy("Resolved"),
    "rate_closed": gettext_lazy("Rated and closed"),
    "rate_reopen": gettext_lazy("Rated dissatisfied: handled again"),
    "rate_review": gettext_lazy("Rated dissatisfied: sent for review"),
    "reopen": gettext_lazy("Reopened"),
    "close_review": gettext_lazy("Review closed"),
    "auto_close": gettext_lazy("Closed automatically"),
    "escalate": gettext_lazy("Supervised (督办)"),
    "mark_duplicate": gettext_lazy("Merged as a duplicate"),
    "relocate": gettext_lazy("Place corrected"),
    "reclassify": gettext_lazy("Category corrected"),
    # Handoffs to outside Open311 systems (internal events written by civitas.open311.handoff)
    "handoff_queued": gettext_lazy("Handed to an outside system"),
    "handoff_sent": gettext_lazy("Registered by the outside system"),
    "handoff_cancelled": gettext_lazy("Handoff cancelled"),
    "handoff_update": gettext_lazy("Update from the outside system"),
    "handoff_closed": gettext_lazy("Closed by the outside system"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action.replace("_", " ")))


def error_text(exc: CivitasError) -> str:
    """A page message for a refused move: what happened, in the reader's language, and the
    service's own explanation."""
    if isinstance(exc, StaleCase):
        head = _("Someone else acted on this case first — reload it and try again.")
    elif isinstance(exc, IllegalMove):
        head = _("This action is no longer possible in the case's current status.")
    elif isinstance(exc, Forbidden):
        head = _("You may not take this action on this case.")
    elif isinstance(exc, InvalidInput):
        head = _("Please check what you entered.")
    else:
        head = _("The action was refused.")
    return f"{head} ({exc.message})"


FIELD_ALIASES = {"contact.email": "email", "contact.phone": "phone", "contact.name": "name"}


def add_errors(form: forms.Form, exc: CivitasError) -> None:
    """Put a service's refusal on the form: on the field it names, else on top."""
    details = exc.details
    problems: list[dict[str, Any]] = []
    if isinstance(details, list):
        problems = [p for p in details if isinstance(p, dict)]
    elif isinstance(details, dict) and details.get("field"):
        problems = [{"field": details["field"], "message": exc.message}]
    placed = False
    for p in problems:
        name = FIELD_ALIASES.get(str(p.get("field")), str(p.get("field")))
        if name in form.fields:
            form.add_error(name, str(p.get("message", exc.message)))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def remember_token(request: HttpRequest, ticket: str, token: str) -> None:
    tokens = dict(request.session.get(TOKENS_KEY, {}))
    tokens[ticket] = token
    request.session[TOKENS_KEY] = dict(list(tokens.items())[-20:])


def enter_appeal(
    request: HttpRequest,
    *,
    form_class: type[AppealForm],
    template: str,
    actor: Any,
    resident: Any = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Show and take an appeal form; every channel goes through intake.submit_once."""
    form = form_class(request.POST or None, request.FILES or None)
    if not form.is_bound:
        form.initial["nonce"] = secrets.token_urlsafe(16)
    if request.method == "POST" and form.is_valid():
        nonce = form.cleaned_data.get("nonce") or ""
        try:
            done = intake.submit_once(
                actor=actor,
                data=form.appeal_in(),
                resident=resident,
                photos=form.cleaned_data.get("photos") or [],
                idempotency_key=f"form:{nonce}" if nonce else "",
                client="web-form",
            )
        except CivitasError as exc:
            add_errors(form, exc)
        else:
            if done.token:
                remember_token(request, done.appeal.ticket, done.token)
            return redirect("appeal-submitted", ticket=done.appeal.ticket)
    return render(
        request,
        template,
        {"form": form, "map_city": form["city"].value() or "", **(extra or {})},
    )


def submitted(request: HttpRequest, ticket: str) -> HttpResponse:
    """After submission: the ticket and, once per browser session, the private tracking link."""
    token = dict(request.session.get(TOKENS_KEY, {})).get(ticket)
    if token is None:
        raise Http404("no appeal submitted from this browser with that ticket")
    appeal = selectors.by_token(token)
    if appeal is None or appeal.ticket != ticket:
        raise Http404("no such appeal")
    link = request.build_absolute_uri(f"/track/{token}/")
    return render(request, "web/appeals/submitted.html", {"appeal": appeal, "link": link})


def city_map(request: HttpRequest, code: str) -> JsonResponse:
    """GeoJSON of a city and its first subdivisions for the point picker (public reference
    data: residents submit without signing in)."""
    city = geo_selectors.cities().filter(code=code).first()
    if city is None:
        raise Http404("no such city")
    children = geo_selectors.jurisdictions().filter(parent=city, boundary__isnull=False)
    return JsonResponse(geo_selectors.boundary_map(city, children))


def place(request: HttpRequest) -> JsonResponse:
    """Which places contain a point: the chain of names, in the reader's language."""
    try:
        lat = float(request.GET.get("lat", ""))
        lon = float(request.GET.get("lon", ""))
    except ValueError:
        return JsonResponse({"found": False, "chain": []}, status=422)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return JsonResponse({"found": False, "chain": []}, status=422)
    result = locate(lat, lon)
    if result is None:
        return JsonResponse({"found": False, "chain": []})
    chain = [p.name for p in result.chain]
    return JsonResponse({"found": True, "chain": chain, "code": result.jurisdiction.code})


def serve_attachment(appeal: Appeal, pk: int) -> FileResponse:
    """A photo or evidence of a case the caller has already been allowed to see."""
    att = Attachment.objects.filter(appeal=appeal, pk=pk).first()
    if att is None:
        raise Http404("no such file")
    try:
        handle = att.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the file is missing") from exc
    response = FileResponse(handle, content_type=att.content_type)
    response["Content-Disposition"] = f'inline; filename="{att.file.name.rsplit("/", 1)[-1]}"'
    response["Cache-Control"] = "private, max-age=600"
    return response


def flash_error(request: HttpRequest, exc: CivitasError) -> None:
    messages.error(request, error_text(exc))


def photos_of(appeal: Appeal) -> dict[str, list[Attachment]]:
    files = list(appeal.attachments.all())
    return {
        "photos": [a for a in files if a.purpose == "photo"],
        "evidence": [a for a in files if a.purpose != "photo"],
    }


def actor_names(labels: Iterable[str]) -> dict[str, str]:
    """Readable names for audit labels on a timeline: people by their display name, API keys by
    their name, background work and residents by what they are (one query for all people)."""
    from civitas.org.models import User

    names: dict[str, str] = {}
    user_ids: dict[int, str] = {}
    for label in set(labels):
        kind, _colon, rest = label.partition(":")
        if kind == "user" and rest.split(":")[0].isdigit():
            user_ids[int(rest.split(":")[0])] = label
        elif kind == "apikey":
            names[label] = rest.split(":", 1)[-1]
        elif kind == "open311":  # an outside Open311 system acting for its unit
            names[label] = rest
        elif kind == "resident-token" or label == "web":
            names[label] = _("the resident")
        elif kind in ("system", "cli") or label.startswith("cli"):
            names[label] = _("Civitas (automatic)")
    for user in User.objects.filter(pk__in=user_ids):
        names[user_ids[user.pk]] = str(user)
    return names
