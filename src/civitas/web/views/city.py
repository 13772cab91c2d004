"""The city: the jurisdiction tree, a jurisdiction's page and map, locate and places."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse

from civitas.geo import selectors as geo_selectors
from civitas.geo.gazetteer import gazetteer
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.org.access import readable
from civitas.web.forms import LocateForm, PlacesForm
from civitas.web.views.common import is_htmx

SEARCH_LIMIT = 30


def _jurisdictions(request: HttpRequest, **filters: Any) -> Any:
    return readable(request.user, geo_selectors.jurisdictions(**filters))


def _get(request: HttpRequest, code: str) -> Jurisdiction:
    j = _jurisdictions(request).filter(code=code).first()
    if j is None:
        raise Http404("no such jurisdiction")
    return j


@login_required
def city(request: HttpRequest) -> HttpResponse:
    # Aggregating queries ignore Meta.ordering, so order explicitly.
    cities = (
        _jurisdictions(request)
        .filter(parent__isnull=True)
        .annotate(n=Count("children"))
        .order_by("path")
    )
    levels = geo_selectors.levels().annotate(n=Count("jurisdictions")).order_by("overlay", "rank")
    return render(
        request,
        "web/city.html",
        {"cities": cities, "levels": levels, "q": request.GET.get("q", "")},
    )


@login_required
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:80]
    results = list(_jurisdictions(request, search=q)[: SEARCH_LIMIT + 1]) if q else []
    context = {"q": q, "results": results[:SEARCH_LIMIT], "more": len(results) > SEARCH_LIMIT}
    if is_htmx(request):
        return render(request, "web/_search_results.html", context)
    return render(request, "web/search.html", context)


@login_required
def jurisdiction(request: HttpRequest, code: str) -> HttpResponse:
    j = _get(request, code)
    ancestors = list(_jurisdictions(request).filter(code__in=j.ancestor_codes()).order_by("depth"))
    children = (
        _jurisdictions(request).filter(parent=j).annotate(n=Count("children")).order_by("code")
    )
    subtree = _jurisdictions(request, within=j.code).exclude(pk=j.pk).count()
    return render(
        request,
        "web/jurisdiction.html",
        {"j": j, "ancestors": ancestors, "children": children, "subtree": subtree},
    )


@login_required
def jurisdiction_map(request: HttpRequest, code: str) -> JsonResponse:
    """GeoJSON of a jurisdiction's boundary and its children's, for the ECharts map."""
    j = _get(request, code)
    children = _jurisdictions(request).filter(parent=j, boundary__isnull=False)
    geo = geo_selectors.boundary_map(j, children)
    for feature in geo["features"]:
        feature["properties"]["url"] = reverse("jurisdiction", args=[feature["properties"]["name"]])
    return JsonResponse(geo)


@login_required
def locate_point(request: HttpRequest) -> HttpResponse:
    form = LocateForm(request.GET or None)
    result = None
    searched = False
    if form.is_valid():
        searched = True
        result = locate(form.cleaned_data["lat"], form.cleaned_data["lon"])
    chain = []
    overlays = []
    if result is not None:
        # The index holds light copies; show the live, readable records in chain order.
        codes = [p.code for p in result.chain]
        by_code = {j.code: j for j in _jurisdictions(request).filter(code__in=codes)}
        chain = [by_code[c] for c in codes if c in by_code]
        over = [p.code for p in result.overlays]
        overlays = list(_jurisdictions(request).filter(code__in=over))
    return render(
        request,
        "web/locate.html",
        {"form": form, "searched": searched, "chain": chain, "overlays": overlays},
    )


@login_required
def places(request: HttpRequest) -> HttpResponse:
    form = PlacesForm(request.POST or None)
    mentions: list[Any] = []
    best = None
    searched = False
    if request.method == "POST" and form.is_valid():
        searched = True
        text = form.cleaned_data["text"]
        g = gazetteer()
        found = g.find(text)
        best_mention = g.best(text)
        by_code = {
            j.code: j for j in _jurisdictions(request).filter(code__in=[m.code for m in found])
        }
        mentions = [
            {"m": m, "j": by_code[m.code], "percent": round(m.confidence * 100)}
            for m in found
            if m.code in by_code
        ]
        best = by_code.get(best_mention.code) if best_mention else None
    return render(
        request,
        "web/places.html",
        {"form": form, "mentions": mentions, "best": best, "searched": searched},
    )
