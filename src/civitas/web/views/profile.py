"""The profile of a grid, community or street (一格一档): what the city knows about one place,
each part shown only to those allowed to see it.

- The place (name, level, the chain above it, subdivisions, the map): every member of staff.
- Population and enterprises, and the shared datasets' records in the place: from the hub's
  datasets the reader may read there (as their owner, or through a grant in force of a unit
  they act for), counted only inside the grant's area; each read through a grant is logged
  (``civitas.hub.profile``).
- Appeals: ``appeals.read`` over the place (counts, open, overdue, the most frequent matters).
- Risks: ``risk.read`` over the place (open alerts and open risks with their levels).
- Disputes: ``disputes.read`` over the place (open, overdue, received and resolved in the last
  365 days, by type, the latest few; never a party's name).

Residents (people without a staff role) are refused: a place's public facts are on the
jurisdiction page, and the profile is a working page of the city's staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from civitas.appeals import selectors as appeal_selectors
from civitas.appeals.models import OPEN_STATUSES
from civitas.geo import selectors as geo_selectors
from civitas.geo.models import Jurisdiction
from civitas.hub import profile as hub_profile
from civitas.hub.models import ProfileRole
from civitas.kit import clock
from civitas.kit.bilingual import in_active_language
from civitas.mediation import figures as mediation_figures
from civitas.org import access
from civitas.risk.models import Alert, AlertStatus, RiskItem, RiskStatus

TOP_MATTERS = 5
RISK_ROWS = 20
OPEN_ALERTS = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.SNOOZED)


@dataclass
class AppealFigures:
    last_30: int
    last_365: int
    open: int
    overdue: int
    top: list[dict[str, Any]]  # {"name", "code", "n"} over the last 365 days


def _place(request: HttpRequest, code: str) -> Jurisdiction:
    j = (
        access.readable(request.user, geo_selectors.jurisdictions())
        .select_related("level", "parent")
        .filter(code=code)
        .first()
    )
    if j is None:
        raise Http404("no such jurisdiction")
    return j


def _appeals(request: HttpRequest, j: Jurisdiction) -> AppealFigures:
    now = clock.now()
    qs = appeal_selectors.appeals(request.user).filter(jurisdiction_path__startswith=j.path)
    since_30, since_365 = now - timedelta(days=30), now - timedelta(days=365)
    got = qs.aggregate(
        last_30=Count("pk", filter=Q(received_at__gte=since_30)),
        last_365=Count("pk", filter=Q(received_at__gte=since_365)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, resolve_due__lt=now)),
    )
    top = list(
        qs.filter(received_at__gte=since_365, matter__isnull=False)
        .values("matter__code", "matter__name_en", "matter__name_zh")
        .annotate(n=Count("pk"))
        .order_by("-n", "matter__code")[:TOP_MATTERS]
    )
    return AppealFigures(
        last_30=got["last_30"],
        last_365=got["last_365"],
        open=got["open"],
        overdue=got["overdue"],
        top=[
            {
                "code": t["matter__code"],
                "name": in_active_language(t["matter__name_en"], t["matter__name_zh"])
                or t["matter__code"],
                "n": t["n"],
            }
            for t in top
        ],
    )


def _inside(j: Jurisdiction, lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None or not j.boundary:
        return False
    from shapely.geometry import Point, shape

    return bool(shape(j.boundary).covers(Point(lon, lat)))


def _risks(request: HttpRequest, j: Jurisdiction) -> dict[str, Any]:
    """Open alerts placed in the place, or placed above it (a street's alert seen from a
    community) with their centre inside it; open risks in the place."""
    codes = j.path.strip("/").split("/")
    ancestors = ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes) - 1)]
    alerts = access.readable(
        request.user,
        Alert.objects.filter(status__in=OPEN_ALERTS).select_related("matter", "jurisdiction"),
    )
    inside = list(alerts.filter(jurisdiction_path__startswith=j.path).order_by("-detected_on"))
    above = alerts.filter(jurisdiction_path__in=ancestors, lat__isnull=False)
    inside += [a for a in above.order_by("-detected_on") if _inside(j, a.lat, a.lon)]
    inside.sort(key=lambda a: (a.detected_on, a.pk), reverse=True)
    risks = access.readable(
        request.user,
        RiskItem.objects.filter(status=RiskStatus.OPEN, jurisdiction_path__startswith=j.path),
    ).select_related("jurisdiction", "owner_unit")
    risk_rows = sorted(risks, key=lambda r: (-_LEVEL_ORDER.get(r.level, 0), r.deadline, r.code))
    return {
        "alerts": inside[:RISK_ROWS],
        "alerts_total": len(inside),
        "risks": risk_rows[:RISK_ROWS],
        "risks_total": len(risk_rows),
    }


_LEVEL_ORDER = {"red": 4, "orange": 3, "yellow": 2, "blue": 1}


def _data_link(f: hub_profile.DatasetFigures) -> str:
    """The hub's data page for a dataset, through the grant counted, narrowed to the part of
    the place counted ("" while the page does not exist)."""
    try:
        url = reverse("hub-data", args=[f.dataset.code])
    except NoReverseMatch:
        return ""
    params = {"grant": f.grant.pk} if f.grant is not None else {}
    return f"{url}?{urlencode({**params, 'area': f.area.code})}"


def _disputes(request: HttpRequest, j: Jurisdiction) -> dict[str, Any]:
    summary = mediation_figures.place_summary(request.user, j)
    latest = []
    for d in summary.latest:
        try:
            link = reverse("mediation-dispute", args=[d.code])
        except NoReverseMatch:
            link = ""
        latest.append({"d": d, "link": link})
    figures_link = ""
    if any(a.pk == j.pk for a in mediation_figures.areas_for(request.user)):
        figures_link = reverse("mediation-figures") + "?" + urlencode({"area": j.code})
    return {"s": summary, "latest": latest, "figures_link": figures_link}


@login_required
def profile(request: HttpRequest, code: str) -> HttpResponse:
    scope = access.scope_of(request.user)
    if not scope.everything and not (scope.roles & access.STAFF_ROLES):
        raise PermissionDenied(
            _(
                "The profile of a place is for the city's staff. "
                "The place's public facts are on its own page."
            )
        )
    j = _place(request, code)
    ancestors = list(
        Jurisdiction.objects.filter(code__in=j.ancestor_codes())
        .select_related("level")
        .order_by("depth")
    )
    children = Jurisdiction.objects.filter(parent=j)
    context: dict[str, Any] = {
        "j": j,
        "ancestors": ancestors,
        "children_count": children.count(),
        "subtree": Jurisdiction.objects.filter(path__startswith=j.path).exclude(pk=j.pk).count(),
        "has_map": bool(j.boundary),
    }
    figures = hub_profile.area_profile(request.user, j)
    context["population"] = [f for f in figures if f.dataset.profile_role == ProfileRole.POPULATION]
    context["enterprises"] = [
        f for f in figures if f.dataset.profile_role == ProfileRole.ENTERPRISES
    ]
    context["datasets"] = [{"f": f, "link": _data_link(f)} for f in figures]
    if access.can(request.user, "appeals.read", path=j.path):
        context["appeals"] = _appeals(request, j)
    if access.can(request.user, "risk.read", path=j.path):
        context["risk"] = _risks(request, j)
    if access.can(request.user, "disputes.read", path=j.path):
        context["disputes"] = _disputes(request, j)
    return render(request, "web/profile.html", context)
