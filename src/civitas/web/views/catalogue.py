"""The matters catalogue and the responsibility list (权责清单)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civitas.geo import selectors as geo_selectors
from civitas.kit.errors import CivitasError
from civitas.matters import selectors as matter_selectors
from civitas.matters.models import Urgency
from civitas.matters.vocabulary import DepartmentType
from civitas.org import access
from civitas.org import selectors as org_selectors
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRule
from civitas.web.forms import ResponsibilityForm
from civitas.web.views.common import page_of, query_string, require

RESPONSIBILITY_STAFF = "responsibility.read"


def _deadline_rows(deadlines: dict[str, Any]) -> list[dict[str, Any]]:
    labels = dict(Urgency.choices)
    return [
        {"urgency": labels.get(u, u), "respond": d.get("respond", ""), "resolve": d.get("resolve")}
        for u, d in (deadlines or {}).items()
    ]


def _responsible_rows(responsible: dict[str, str]) -> list[dict[str, Any]]:
    levels = {lv.code: lv for lv in geo_selectors.levels()}
    types = dict(DepartmentType.choices)
    return [
        {"level": levels[code].name if code in levels else code, "type": types.get(t, t)}
        for code, t in (responsible or {}).items()
    ]


@login_required
def matters(request: HttpRequest) -> HttpResponse:
    cities = list(geo_selectors.cities())
    catalogue = request.GET.get("catalogue") or (cities[0].code if cities else "")
    q = request.GET.get("q", "").strip()[:80]
    items = list(matter_selectors.matters(catalogue=catalogue, search=q))
    for m in items:
        m.deadline_rows = _deadline_rows(m.deadlines)  # type: ignore[attr-defined]
        m.responsible_rows = _responsible_rows(m.responsible)  # type: ignore[attr-defined]
    return render(
        request,
        "web/matters.html",
        {"cities": cities, "catalogue": catalogue, "q": q, "items": items},
    )


@login_required
def matter(request: HttpRequest, code: str) -> HttpResponse:
    m = matter_selectors.get_matter(code)
    if m is None or not m.active:
        raise Http404("no such matter")
    children = matter_selectors.matters(within=m.code).filter(parent=m)
    ancestors = matter_selectors.matters().filter(code__in=list(m.path.strip("/").split("/")[:-1]))
    rules = (
        org_selectors.responsibilities(request.user, matter=m.code)
        if access.can(request.user, RESPONSIBILITY_STAFF)
        else None
    )
    return render(
        request,
        "web/matter.html",
        {
            "m": m,
            "children": children,
            "ancestors": ancestors,
            "deadline_rows": _deadline_rows(m.deadlines),
            "responsible_rows": _responsible_rows(m.responsible),
            "rules": rules,
        },
    )


def _staff_only(request: HttpRequest) -> None:
    require(
        request,
        RESPONSIBILITY_STAFF,
        _("The responsibility list is for staff of the city's units."),
    )


@login_required
def responsibilities(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    matter_code = request.GET.get("matter", "").strip()
    level = request.GET.get("level", "").strip()
    within = request.GET.get("jurisdiction", "").strip()
    rules = org_selectors.responsibilities(request.user, matter=matter_code)
    if level:
        rules = rules.filter(level__code=level)
    if within:
        rules = rules.filter(jurisdiction__code=within)
    page = page_of(request, rules)
    return render(
        request,
        "web/responsibilities.html",
        {
            "page": page,
            "matter": matter_code,
            "level": level,
            "jurisdiction": within,
            "levels": geo_selectors.levels(),
            "leaves": matter_selectors.matters(leaves_only=False),
            "may_edit": access.can(request.user, "responsibility.edit"),
            "qs": query_string(request),
        },
    )


def _rule(request: HttpRequest, pk: int) -> ResponsibilityRule:
    rule = org_selectors.responsibilities(request.user).filter(pk=pk).first()
    if rule is None:
        raise Http404("no such entry")
    return rule


@login_required
def responsibility(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_only(request)
    rule = _rule(request, pk)
    return render(
        request,
        "web/responsibility.html",
        {
            "rule": rule,
            "revisions": rule.revisions.order_by("-version"),
            "may_edit": access.can(request.user, "responsibility.edit"),
        },
    )


@login_required
def responsibility_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(
        request,
        "responsibility.edit",
        _("Only administrators change the responsibility list. Ask one if an entry is wrong."),
    )
    rule = _rule(request, pk) if pk is not None else None
    initial = ResponsibilityForm.initial_for(rule) if rule else {"active": True}
    form = ResponsibilityForm(request.POST or None, initial=initial, actor=request.user)
    if request.method == "POST" and form.is_valid():
        args = form.service_arguments()
        where = args["jurisdiction"].path if args["jurisdiction"] else f"/{args['city']}/"
        if not access.can(request.user, "responsibility.edit", path=where):
            form.add_error(None, _("That place is outside the area you administer."))
        else:
            try:
                with transaction.atomic():
                    saved = org_services.save_responsibility(actor=request.user, rule=rule, **args)
            except CivitasError as exc:
                field = (exc.details or {}).get("field") if isinstance(exc.details, dict) else None
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("The responsibility list was saved."))
                return redirect("responsibility", pk=saved.pk)
    return render(request, "web/responsibility_form.html", {"form": form, "rule": rule})
