"""The learned models of each city: versions with their training data and scores; an
administrator trains a new version, activates one or rolls back."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit import audit
from civitas.kit.errors import CivitasError
from civitas.understanding import selectors, store, tasks
from civitas.understanding.models import ModelKind
from civitas.web.views.common import require


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    require(
        request,
        "models.read",
        _("The learned models are open to analysts, dispatchers, auditors and administrators."),
    )
    groups: list[dict[str, Any]] = []
    rows = sorted(selectors.versions(request.user), key=lambda m: (m.city, m.kind, -m.version))
    for (city, kind), items in groupby(rows, key=lambda m: (m.city, m.kind)):
        versions = list(items)
        groups.append(
            {
                "city": city,
                "kind": kind,
                "kind_label": ModelKind(kind).label,
                "versions": versions,
                "may_manage": selectors.may_manage(request.user, city),
                "problem": _file_problem(versions, selectors.may_manage(request.user, city)),
            }
        )
    return render(request, "web/models.html", {"groups": groups, "kinds": ModelKind.choices})


def _file_problem(versions: list[Any], manager: bool) -> str:
    """What is wrong with the active version's file; where it lies only for managers."""
    for mv in versions:
        if mv.active:
            try:
                store.check(mv)
            except store.ModelUnavailable as exc:
                if manager:
                    return str(exc)
                return _(
                    "The file of %(label)s cannot be used; an administrator must retrain "
                    "or roll back"
                ) % {"label": mv.label}
    return ""


def _manager(request: HttpRequest, city: str) -> None:
    if not selectors.may_manage(request.user, city):
        raise PermissionDenied(_("Only the city's administrators manage its models."))


@login_required
@require_POST
def models_act(request: HttpRequest) -> HttpResponse:
    city = request.POST.get("city", "")
    kind = request.POST.get("kind", "")
    action = request.POST.get("action", "")
    _manager(request, city)
    if kind not in ModelKind.values:
        messages.error(request, _("Unknown model kind %(kind)s.") % {"kind": kind})
        return redirect("models")
    by = audit.actor_label(request.user)
    try:
        if action == "train":
            tasks.train_now.enqueue(city, kind, by)
            messages.success(
                request,
                _("Training queued; the new version appears here when a worker has finished it."),
            )
        elif action == "rollback":
            mv = store.rollback(kind=kind, city=city, by=request.user)
            messages.success(request, _("%(label)s is active again.") % {"label": mv.label})
        elif action == "activate":
            raw = request.POST.get("version", "")
            version = int(raw) if raw.isdigit() else 0  # 0: "no such version", said below
            mv = store.activate(kind=kind, city=city, version=version, by=request.user)
            messages.success(request, _("%(label)s is now active.") % {"label": mv.label})
        else:
            messages.error(request, _("Unknown action %(action)s.") % {"action": action})
    except (CivitasError, store.ModelUnavailable) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return redirect("models")
