"""Units and people. Both are scoped: you see the part of the organisation you work in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from civitas.org import access
from civitas.org import selectors as org_selectors
from civitas.org.models import Role, UnitKind
from civitas.web.views.common import page_of, query_string, require


def _staff_only(request: HttpRequest, action: str) -> None:
    require(
        request,
        action,
        _(
            "The directory is for staff of the city's units. If you work for one, ask an "
            "administrator to add you to your unit."
        ),
    )


@login_required
def units(request: HttpRequest) -> HttpResponse:
    _staff_only(request, "units.read")
    q = request.GET.get("q", "").strip()[:80]
    kind = request.GET.get("kind", "")
    if kind not in UnitKind.values:
        kind = ""
    page = page_of(request, org_selectors.units(request.user, search=q, kind=kind))
    return render(
        request,
        "web/units.html",
        {
            "page": page,
            "q": q,
            "kind": kind,
            "kinds": UnitKind.choices,
            "qs": query_string(request),
        },
    )


@login_required
def unit(request: HttpRequest, code: str) -> HttpResponse:
    _staff_only(request, "units.read")
    u = org_selectors.units(request.user).filter(code=code).first()
    if u is None:
        raise Http404("no such unit")
    members = (
        org_selectors.memberships(request.user)
        .filter(unit=u, active=True)
        .exclude(role=Role.RESIDENT)
        .order_by("role", "user__username")
    )
    children = org_selectors.units(request.user).filter(parent=u)
    rules = org_selectors.responsibilities(request.user).filter(unit=u, active=True)
    return render(
        request,
        "web/unit.html",
        {
            "u": u,
            "members": members,
            "children": children,
            "rules": rules,
            "show_people": access.can(request.user, "people.read"),
            "show_phones": access.may_see_contacts(request.user, u),
        },
    )


@login_required
def people(request: HttpRequest) -> HttpResponse:
    _staff_only(request, "people.read")
    q = request.GET.get("q", "").strip()[:80]
    visible = org_selectors.memberships(request.user).filter(active=True).order_by("role")
    found = org_selectors.people(request.user, search=q).prefetch_related(
        Prefetch("memberships", queryset=visible, to_attr="visible_memberships")
    )
    page = page_of(request, found)
    return render(request, "web/people.html", {"page": page, "q": q, "qs": query_string(request)})
