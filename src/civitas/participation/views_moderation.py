"""Pages of moderation (/participate/moderation/): reporting a comment or a suggestion
(signed in), and the moderators' queue and decisions (participation.moderate, by area)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError
from civitas.org import access
from civitas.participation import moderation, public
from civitas.participation.forms_suggest import ReasonForm, ReportForm
from civitas.participation.models import Report, Suggestion

ACTIONS = ("hide", "unhide", "dismiss")


def _next(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _page_of(obj: moderation.Item) -> str:
    if isinstance(obj, Suggestion):
        return reverse("participation-suggestion", args=[obj.code])
    try:
        return reverse("participation-consultation", args=[obj.consultation.code])
    except NoReverseMatch:
        return reverse("participation-moderation")


@login_required
@require_POST
def report(request: HttpRequest, target: str, target_id: int) -> HttpResponse:
    form = ReportForm(request.POST)
    fallback = reverse("participation-suggestions")
    try:
        obj = moderation.item(target, target_id)
        fallback = _page_of(obj)
        if not form.is_valid():
            messages.error(request, _("Say what is wrong with the text to report it."))
        else:
            moderation.report(
                request.user,
                target=target,
                target_id=target_id,
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Thank you: the moderators will look at it."))
    except CivitasError as exc:
        messages.error(request, exc.message)
    return _next(request, fallback)


def _require_moderator(request: HttpRequest) -> None:
    if not access.can(request.user, "participation.moderate"):
        raise PermissionDenied(_("Moderation is for unit leaders, dispatchers and administrators."))


def _text_of(obj: moderation.Item | None) -> dict[str, str]:
    if obj is None:
        return {"title": "", "text": "", "author": ""}
    title = obj.title if isinstance(obj, Suggestion) else ""
    return {
        "title": public.scrub(title),
        "text": public.scrub(obj.text),
        "author": public.pseudonym(obj.author_id),
    }


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _require_moderator(request)
    target = request.GET.get("target", "")
    target = target if target in Report.Target.values else ""
    groups = moderation.queue(request.user, target=target)
    rows = [
        {
            "g": g,
            "page": _page_of(g.obj) if g.obj is not None else "",
            "kind": Report.Target(g.target).label,
            "hidden": moderation.is_hidden(g.obj),
            **_text_of(g.obj),
        }
        for g in groups
    ]
    hidden = [
        {
            "obj": o,
            "target": moderation.target_of(o),
            "label": moderation.label_of(o),
            "page": _page_of(o),
            **_text_of(o),
        }
        for o in moderation.hidden_items(request.user)
    ]
    return render(
        request,
        "participation/moderation.html",
        {
            "rows": rows,
            "hidden": hidden,
            "target": target,
            "targets": Report.Target.choices,
            "form": ReasonForm(),
        },
    )


@login_required
@require_POST
def decide(request: HttpRequest, target: str, target_id: int, action: str) -> HttpResponse:
    _require_moderator(request)
    if action not in ACTIONS:
        raise PermissionDenied(_("Unknown moderation decision."))
    reason = request.POST.get("reason", "")
    try:
        if action == "hide":
            obj = moderation.hide(request.user, target=target, target_id=target_id, reason=reason)
            messages.success(request, _("%(item)s is hidden.") % {"item": moderation.label_of(obj)})
        elif action == "unhide":
            obj = moderation.unhide(request.user, target=target, target_id=target_id, reason=reason)
            messages.success(
                request, _("%(item)s is shown again.") % {"item": moderation.label_of(obj)}
            )
        else:
            n = moderation.dismiss(request.user, target=target, target_id=target_id, reason=reason)
            messages.success(request, _("%(n)d reports were dismissed; the text stays.") % {"n": n})
    except CivitasError as exc:
        messages.error(request, exc.message)
    return _next(request, reverse("participation-moderation"))
