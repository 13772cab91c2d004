"""Responsibility-list entries learned from history: a city's administrators see what the
finished cases imply that the list lacks or contradicts, with the evidence, and accept one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.geo.models import Jurisdiction, Level
from civitas.kit.errors import CivitasError
from civitas.matters.models import Matter
from civitas.matters.vocabulary import DepartmentType
from civitas.org.models import ResponsibilityRule, Unit
from civitas.understanding import routing

SHOWN = 100  # the most useful first; the command lists them all


def _cities(request: HttpRequest) -> list[str]:
    roots = Jurisdiction.objects.filter(parent__isnull=True).order_by("code")
    return [c for c in roots.values_list("code", flat=True) if routing.may_review(request.user, c)]


def _refuse() -> PermissionDenied:
    return PermissionDenied(_("Only a city's administrators review routing learned from history."))


def _rows(city: str, found: list[routing.Proposal]) -> list[dict[str, Any]]:
    matters = {m.code: m for m in Matter.objects.filter(code__in={p.matter for p in found})}
    levels = {lv.code: lv for lv in Level.objects.filter(code__in={p.level for p in found})}
    places = {
        j.code: j
        for j in Jurisdiction.objects.filter(
            code__in={p.jurisdiction for p in found if p.jurisdiction}
        )
    }
    units = {
        u.code: u
        for u in Unit.objects.filter(city=city, code__in={p.unit for p in found if p.unit})
    }
    rules = {
        r.pk: r
        for r in ResponsibilityRule.objects.filter(
            pk__in={p.current_rule for p in found if p.current_rule}
        ).select_related("matter", "level", "jurisdiction", "unit")
    }
    types = dict(DepartmentType.choices)
    return [
        {
            "p": p,
            "matter": matters.get(p.matter),
            "level": levels.get(p.level),
            "place": places.get(p.jurisdiction or ""),
            "unit": units.get(p.unit or ""),
            "unit_type": types.get(p.unit_type, p.unit_type),
            "current": rules.get(p.current_rule or 0),
        }
        for p in found
    ]


@login_required
def proposals(request: HttpRequest) -> HttpResponse:
    cities = _cities(request)
    if not cities:
        raise _refuse()
    city = request.GET.get("city") or cities[0]
    if city not in cities:
        raise _refuse()
    found = routing.proposals(city)
    return render(
        request,
        "web/routing_learned.html",
        {
            "city": city,
            "cities": cities,
            "rows": _rows(city, found[:SHOWN]),
            "total": len(found),
            "hidden": max(0, len(found) - SHOWN),
        },
    )


@login_required
@require_POST
def accept(request: HttpRequest) -> HttpResponse:
    city = request.POST.get("city", "")
    if not routing.may_review(request.user, city):
        raise _refuse()
    proposal_id = request.POST.get("proposal", "")
    try:
        with transaction.atomic():
            proposal = routing.find(city, proposal_id)
            rule = routing.accept(proposal, request.user, request.POST.get("reason", ""))
    except CivitasError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Entry %(entry)s is now version %(version)d of the responsibility list.")
            % {"entry": rule.pk, "version": rule.version},
        )
    return redirect(f"{reverse('routing-proposals')}?{urlencode({'city': city})}")
