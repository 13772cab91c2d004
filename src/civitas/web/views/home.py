"""The dashboard: who you are, your roles and scope, and what you may use."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civitas.geo import selectors as geo_selectors
from civitas.org import access
from civitas.org import selectors as org_selectors
from civitas.org.models import Role


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = access.scope_of(request.user)
    role_labels = dict(Role.choices)
    roles = sorted(str(role_labels.get(r, r)) for r in scope.roles)
    areas = geo_selectors.jurisdictions().filter(path__in=scope.paths) if scope.paths else []
    units = org_selectors.units(request.user).filter(pk__in=scope.unit_ids)
    return render(
        request,
        "web/home.html",
        {
            "roles": roles,
            "everything": scope.everything,
            "areas": areas,
            "own_units": units if scope.unit_ids else [],
            "cities": geo_selectors.cities(),
        },
    )
