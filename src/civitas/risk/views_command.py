"""The command centre (/command/): the area's map coloured by appeals or risk, live alerts,
today's intake, the three rates, overdue work, top matters and open risks.

``?area=CODE`` drills down (a district, then a street) and the trail leads back; ``?show=``
picks the map's colouring (today, week, month, risk); ``?wall=1`` is the wall-screen view,
which reloads itself every five minutes; ``?every=N`` sets how often the alerts list refreshes
(seconds, 30 by default)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from civitas.kit import clock
from civitas.kit.errors import CivitasError, NotFound
from civitas.org import access
from civitas.risk import command
from civitas.risk.models import Alert

DEFAULT_EVERY = 30
MIN_EVERY, MAX_EVERY = 2, 600


def _allowed(request: HttpRequest) -> None:
    if not access.can(request.user, "risk.read"):
        raise PermissionDenied(
            _("The command centre is open to analysts, dispatchers, unit leaders and auditors.")
        )


def _area(request: HttpRequest) -> Any:
    try:
        return command.area_of(request.user, request.GET.get("area") or None)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except CivitasError as exc:
        raise PermissionDenied(exc.message) from None


def _every(request: HttpRequest) -> int:
    try:
        every = int(request.GET.get("every") or DEFAULT_EVERY)
    except ValueError:
        every = DEFAULT_EVERY
    return max(MIN_EVERY, min(MAX_EVERY, every))


class Links:
    """Query strings that keep the view's choices (colouring, wall screen, refresh)."""

    def __init__(self, request: HttpRequest, area: str, show: str, wall: bool) -> None:
        self.keep: dict[str, str] = {}
        if wall:
            self.keep["wall"] = "1"
        if request.GET.get("every"):
            self.keep["every"] = str(_every(request))
        self.area, self.show, self.wall = area, show, wall

    def to(
        self, *, area: str | None = None, show: str | None = None, wall: bool | None = None
    ) -> str:
        params: dict[str, str] = {"area": self.area if area is None else area}
        params["show"] = show or self.show
        params |= self.keep
        if wall is not None:
            params.pop("wall", None)
            if wall:
                params["wall"] = "1"
        return "?" + urlencode(params)


def _alert_url(alert: Alert) -> str | None:
    try:
        return reverse("risk-alert", args=[alert.pk])
    except NoReverseMatch:
        return None


def _alert_rows(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [{"a": a, "url": _alert_url(a)} for a in alerts]


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    chosen = _area(request)
    area = chosen[0]
    o = command.overview(request.user, chosen=chosen)
    show = request.GET.get("show") or "today"
    if show not in command.METRICS:
        show = "today"
    wall = request.GET.get("wall") == "1"
    links = Links(request, area.code, show, wall)
    rows = [{"p": p, "href": links.to(area=p.code)} for p in o.places]
    figures = [{**p.as_json(), "href": links.to(area=p.code)} for p in o.places]
    labels = {
        "today": _("Appeals today"),
        "week": _("Appeals, last 7 days"),
        "month": _("Appeals, last 30 days"),
        "risk": _("Risk score"),
        "risks": _("Open risks"),
        "alerts": _("Open alerts"),
        "open": _("Click to open"),
    }
    metrics = [
        {"key": k, "label": label, "href": links.to(show=k)}
        for k, label in (
            ("today", _("Today")),
            ("week", _("7 days")),
            ("month", _("30 days")),
            ("risk", _("Risk")),
        )
    ]
    up = o.trail[-2] if len(o.trail) > 1 else None
    context = {
        "o": o,
        "rows": rows,
        "show": show,
        "wall": wall,
        "every": _every(request),
        "metrics": metrics,
        "figures": json.dumps(
            {"places": figures, "labels": labels, "metric": show}, ensure_ascii=False
        ),
        "trail": [{"j": j, "href": links.to(area=j.code)} for j in o.trail],
        "up": {"j": up, "href": links.to(area=up.code)} if up else None,
        "other_tops": [{"j": t, "href": links.to(area=t.code)} for t in o.tops if t != o.trail[0]],
        "wall_href": links.to(wall=not wall),
        "alerts_query": urlencode({"area": area.code}),
        "alert_rows": _alert_rows(o.alerts),
        "level_names": dict(command.Level.choices),
    }
    return render(request, "risk/command.html", context)


@login_required
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    """The live alerts list alone, polled by the page."""
    _allowed(request)
    area, _tops = _area(request)
    found = command.live_alerts(request.user, area, clock.now())
    response = render(
        request,
        "risk/command_alerts.html",
        {"alert_rows": _alert_rows(found), "as_of": clock.now()},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def area_map(request: HttpRequest) -> JsonResponse:
    """GeoJSON of the area's subdivisions for the map."""
    _allowed(request)
    area, _tops = _area(request)
    response = JsonResponse(command.map_features(area))
    # Boundaries change rarely; a wall screen reloading every few minutes need not refetch.
    response["Cache-Control"] = "private, max-age=300"
    return response
