"""The alert queue and the risk register pages (/risk/…): lists, details with the map and the
timeline, and the actions as plain forms (POST, then back to the page with a message)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civitas.geo import selectors as geo_selectors
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.bilingual import in_active_language
from civitas.kit.errors import CivitasError, Forbidden, InvalidInput
from civitas.matters.models import Matter
from civitas.org import access
from civitas.org.models import Unit
from civitas.risk import selectors, services
from civitas.risk.models import (
    Alert,
    AlertKind,
    AlertStatus,
    Level,
    Outcome,
    RiskItem,
    RiskStatus,
)

PAGE_SIZE = 50

EVENT_WORDS = {
    "create": gettext_lazy("Opened"),
    "alert": gettext_lazy("Alert joined"),
    "escalate": gettext_lazy("Escalated"),
    "lower": gettext_lazy("Level lowered"),
    "measures": gettext_lazy("Measures set"),
    "deadline": gettext_lazy("Deadline changed"),
    "owner": gettext_lazy("Owner unit changed"),
    "review": gettext_lazy("Reviewed"),
    "spread": gettext_lazy("Spread to another district"),
    "close": gettext_lazy("Closed"),
    "reopen": gettext_lazy("Reopened"),
    "appeals_linked": gettext_lazy("New appeals found by the detectors"),
}

NUMBER_WORDS = {
    "observed": gettext_lazy("observed"),
    "expected": gettext_lazy("expected"),
    "llr": gettext_lazy("log-likelihood ratio"),
    "p_value": gettext_lazy("p-value"),
    "replicas": gettext_lazy("Monte Carlo replicas"),
    "radius_m": gettext_lazy("radius (m)"),
    "days": gettext_lazy("days in the window"),
    "window_days": gettext_lazy("days in the window"),
    "residents": gettext_lazy("distinct residents"),
    "recurrence_days": gettext_lazy("recurrence interval (days)"),
    "cases_in_study_period": gettext_lazy("cases of the matter in the study period"),
    "cases_in_zone": gettext_lazy("cases in the circle over the study period"),
    "recent_cases": gettext_lazy("cases of the matter in the window, everywhere"),
    "gumbel": gettext_lazy("p-value from the Gumbel tail"),
    "appeals_in_window": gettext_lazy("appeals in the window"),
    "previous_window": gettext_lazy("in the window before"),
    "usual_per_window": gettext_lazy("usual count per window"),
    "baseline_days": gettext_lazy("days of baseline"),
    "baseline_weeks": gettext_lazy("weeks of baseline"),
    "baseline_mean_per_day": gettext_lazy("baseline per day"),
    "weekday_factor": gettext_lazy("weekday factor"),
    "dispersion": gettext_lazy("dispersion"),
    "series_tested": gettext_lazy("series tested that day"),
    "threshold": gettext_lazy("threshold"),
    "threshold_p": gettext_lazy("p-value threshold"),
    "zone_total": gettext_lazy("reports here over the baseline"),
    "resident_rows": gettext_lazy("residents' reports"),
    "staff_rows": gettext_lazy("staff entries nearby (not counted)"),
    "merged_rows": gettext_lazy("reports merged as one sitting"),
    "known_reporters": gettext_lazy("known reporters"),
    "distinct_points": gettext_lazy("distinct points"),
    "located_rows": gettext_lazy("reports with a point"),
    "hours_span": gettext_lazy("hours from first to last report"),
    "first_hour": gettext_lazy("first report (hour)"),
    "last_hour": gettext_lazy("last report (hour)"),
    "channels": gettext_lazy("channels"),
    "duplicates_linked": gettext_lazy("linked as duplicates"),
    "weeks": gettext_lazy("weeks with appeals"),
    "escalation": gettext_lazy("escalating words"),
    "classes": gettext_lazy("kinds of harm"),
    "terms": gettext_lazy("words that flagged it"),
    "kinds": gettext_lazy("kinds of alert"),
    "alerts": gettext_lazy("alerts"),
    "appeals": gettext_lazy("appeals"),
    "districts": gettext_lazy("districts"),
    "score": gettext_lazy("score"),
    "method": gettext_lazy("method"),
    "scope": gettext_lazy("scope"),
}
# Internal keys of the detectors (positions, dedup keys, the detection history).
HIDDEN_NUMBERS = frozenset({"seen", "x", "y", "dedup", "place"})


def _refuse_unless_reader(request: HttpRequest) -> None:
    if not access.can(request.user, "risk.read"):
        raise PermissionDenied(
            _(
                "Alerts and the risk register are open to analysts, dispatchers, unit leaders "
                "and auditors."
            )
        )


def _error_text(exc: CivitasError) -> str:
    if isinstance(exc, services.StaleRisk):
        head = _("Someone else acted first — reload the page and try again.")
    elif isinstance(exc, services.IllegalMove):
        head = _("This action is not possible in the current state.")
    elif isinstance(exc, Forbidden):
        head = _("You may not take this action.")
    elif isinstance(exc, InvalidInput):
        head = _("Please check what you entered.")
    else:
        head = _("The action was refused.")
    return f"{head} {exc.message}"


def _when(raw: str, field: str, *, end_of_day: bool = False) -> datetime | None:
    """A datetime-local or date field, read in the city's time zone."""
    raw = (raw or "").strip()
    if not raw:
        return None
    zone = ZoneInfo(settings.TIME_ZONE)
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            return datetime.combine(d, time(23, 59) if end_of_day else time.min, tzinfo=zone)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("%(value)s is not a date and time") % {"value": repr(raw)}, details={"field": field}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _qs(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _page(request: HttpRequest, items: QuerySet[Any]) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _filtered(request: HttpRequest, kind: Any, select: Any) -> tuple[Any, QuerySet[Any], str]:
    """The list as the query string asks, or unfiltered with what was wrong in the query."""
    try:
        filters = kind.parse(request.GET)
        return filters, select(request.user, filters), ""
    except CivitasError as exc:
        filters = kind()
        return filters, select(request.user, filters), exc.message


# -- alerts --------------------------------------------------------------------------------


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    _refuse_unless_reader(request)
    filters, items, error = _filtered(request, selectors.AlertFilters, selectors.alerts)
    return render(
        request,
        "risk/alerts.html",
        {
            "page": _page(request, items),
            "qs": _qs(request),
            "f": filters,
            "error": error,
            "kinds": AlertKind.choices,
            "statuses": AlertStatus.choices,
            "areas": _areas(request),
        },
        status=422 if error else 200,
    )


def _areas(request: HttpRequest) -> list[Jurisdiction]:
    """The cities the reader works in and their districts, for the area filter."""
    cities = _cities(request)
    return list(
        Jurisdiction.objects.filter(
            Q(code__in=cities, parent__isnull=True)
            | Q(parent__code__in=cities, parent__parent__isnull=True)
        ).order_by("path")
    )


def _alert_or_404(request: HttpRequest, pk: int) -> Alert:
    _refuse_unless_reader(request)
    a = selectors.alert(request.user, pk)
    if a is None:
        raise Http404("no such alert")
    return a


def _district_name(d: Any) -> str:
    if not isinstance(d, dict):
        return str(d)
    name = in_active_language(d.get("name_en") or "", d.get("name_zh") or "")
    return name or str(d.get("code", ""))


def _numbers(a: Alert) -> list[tuple[str, Any]]:
    """The detector's own figures, in words where we know the name."""
    rows: list[tuple[str, Any]] = []
    for key, value in sorted((a.numbers or {}).items()):
        if key in HIDDEN_NUMBERS:
            continue
        if key == "districts" and isinstance(value, list):
            value = "、".join(_district_name(d) for d in value)
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, float):
            value = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        rows.append((str(NUMBER_WORDS.get(key, key)), value))
    return rows


def _open_risks(request: HttpRequest, city: str) -> list[RiskItem]:
    return list(
        selectors.risks(request.user, selectors.RiskFilters(status="open")).filter(city=city)[:100]
    )


def _units(city: str) -> QuerySet[Unit]:
    return Unit.objects.filter(city=city, active=True).order_by("code")


@login_required
def alert(request: HttpRequest, pk: int) -> HttpResponse:
    a = _alert_or_404(request, pk)
    appeals = selectors.alert_appeals(request.user, a)
    may = services.may_manage_alert(request.user, a)
    ratio = a.observed / a.expected if a.expected else None
    context: dict[str, Any] = {
        "a": a,
        "appeals": appeals,
        "numbers": _numbers(a),
        "ratio": ratio,
        "may_manage": may,
        "handled_by": selectors.people({a.handled_by})[a.handled_by] if a.handled_by else "",
        "terms": "、".join(str(t) for t in (a.numbers or {}).get("terms", [])),
        "open_moves": a.status in services.ALERT_MOVES["promote"],
        "levels": Level.choices,
        "map_url": reverse("risk-alert-map", args=[a.pk]),
    }
    if may and context["open_moves"]:
        context["units"] = _units(a.city)
        context["risks"] = _open_risks(request, a.city)
        context["default_deadline"] = (
            (clock.now() + services.REVIEW_EVERY[Level.YELLOW])
            .astimezone(ZoneInfo(settings.TIME_ZONE))
            .strftime("%Y-%m-%dT%H:%M")
        )
        context["default_snooze"] = (
            (clock.now().astimezone(ZoneInfo(settings.TIME_ZONE)))
            .replace(microsecond=0, second=0)
            .strftime("%Y-%m-%dT%H:%M")
        )
    return render(request, "risk/alert.html", context)


def _city_geo(city: str) -> dict[str, Any]:
    """The city's boundary and its districts' (reference data)."""
    root = Jurisdiction.objects.filter(code=city, parent__isnull=True).first()
    return geo_selectors.boundary_map(root, selectors.districts_of_city(city))


def _points(appeals: list[selectors.AppealPoint]) -> list[dict[str, Any]]:
    return [
        {"ticket": p.ticket, "lat": p.lat, "lon": p.lon, "place": p.place}
        for p in appeals
        if p.lat is not None and p.lon is not None
    ]


@login_required
def alert_map(request: HttpRequest, pk: int) -> JsonResponse:
    a = _alert_or_404(request, pk)
    centre = (
        {"lat": a.lat, "lon": a.lon, "radius_m": a.radius_m}
        if a.lat is not None and a.lon is not None
        else None
    )
    return JsonResponse(
        {
            "geo": _city_geo(a.city),
            "map": f"risk-city-{a.city}",
            "points": _points(selectors.alert_appeals(request.user, a)),
            "centre": centre,
        }
    )


def _risk_in(request: HttpRequest, city: str) -> services.RiskIn:
    post = request.POST
    owner_code = post.get("owner_unit", "").strip()
    owner = Unit.objects.filter(code=owner_code, city=city).first() if owner_code else None
    if owner_code and owner is None:
        raise InvalidInput(
            _("no unit %(unit)s in %(city)s") % {"unit": owner_code, "city": city},
            details={"field": "owner_unit"},
        )
    place = None
    if post.get("jurisdiction"):
        place = Jurisdiction.objects.filter(code=post["jurisdiction"]).first()
        if place is None:
            raise InvalidInput(_("no such area"), details={"field": "jurisdiction"})
    matter = None
    if post.get("matter"):
        matter = Matter.objects.filter(code=post["matter"]).first()
    return services.RiskIn(
        title=post.get("title", ""),
        level=post.get("level", ""),
        owner_unit=owner,
        deadline=_when(post.get("deadline", ""), "deadline", end_of_day=True),
        measures=post.get("measures", ""),
        description=post.get("description", ""),
        jurisdiction=place,
        matter=matter,
    )


@login_required
@require_POST
def alert_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    a = _alert_or_404(request, pk)
    seen = request.POST.get("status") or None
    post = request.POST
    try:
        if action == "acknowledge":
            services.acknowledge(
                actor=request.user, alert=a, note=post.get("note", ""), expected_status=seen
            )
            done = _("The alert is acknowledged.")
        elif action == "snooze":
            services.snooze(
                actor=request.user,
                alert=a,
                until=_when(post.get("until", ""), "until", end_of_day=True),
                reason=post.get("reason", ""),
                expected_status=seen,
            )
            done = _("The alert is snoozed.")
        elif action == "dismiss":
            services.dismiss(
                actor=request.user, alert=a, reason=post.get("reason", ""), expected_status=seen
            )
            done = _("The alert is dismissed.")
        elif action == "promote":
            risk = services.promote(
                actor=request.user, alerts=[a], data=_risk_in(request, a.city), expected_status=seen
            )
            messages.success(request, _("Risk %(code)s is open.") % {"code": risk.code})
            return redirect("risk-risk", code=risk.code)
        elif action == "join":
            target = selectors.risk(request.user, post.get("risk", ""))
            if target is None:
                raise InvalidInput(_("choose an open risk"), details={"field": "risk"})
            services.add_alert(actor=request.user, risk=target, alert=a)
            messages.success(request, _("The alert joined risk %(code)s.") % {"code": target.code})
            return redirect("risk-risk", code=target.code)
        else:
            raise Http404("no such action")
    except CivitasError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    return redirect("risk-alert", pk=a.pk)


# -- risks ---------------------------------------------------------------------------------


@login_required
def risks(request: HttpRequest) -> HttpResponse:
    _refuse_unless_reader(request)
    filters, items, error = _filtered(request, selectors.RiskFilters, selectors.risks)
    page = _page(request, items)
    now = clock.now()
    rows = [
        {
            "r": r,
            "overdue": services.deadline_overdue(r, now),
            "review_overdue": services.review_overdue(r, now),
            "review_due": services.review_due(r),
        }
        for r in page
    ]
    owners = Unit.objects.filter(
        pk__in=selectors.risks(request.user, selectors.RiskFilters(status="")).values(
            "owner_unit_id"
        )
    ).order_by("code")
    return render(
        request,
        "risk/risks.html",
        {
            "page": page,
            "rows": rows,
            "qs": _qs(request),
            "f": filters,
            "error": error,
            "levels": Level.choices,
            "statuses": RiskStatus.choices,
            "owners": owners,
            "may_create": access.can(request.user, "risk.manage"),
        },
        status=422 if error else 200,
    )


def _cities(request: HttpRequest) -> list[str]:
    scope = access.scope_of(request.user)
    if scope.everything:
        return list(
            Jurisdiction.objects.filter(parent__isnull=True)
            .order_by("code")
            .values_list("code", flat=True)
        )
    return sorted({p.strip("/").split("/")[0] for p in scope.paths})


@login_required
def risk_new(request: HttpRequest) -> HttpResponse:
    _refuse_unless_reader(request)
    if not access.can(request.user, "risk.manage"):
        raise PermissionDenied(_("Opening risks needs the right to manage risks."))
    cities = _cities(request)
    city = request.POST.get("city") or request.GET.get("city") or (cities[0] if cities else "")
    if city not in cities:
        raise PermissionDenied(_("You may not open risks in this city."))
    error = ""
    if request.method == "POST":
        try:
            risk = services.create_risk(actor=request.user, city=city, data=_risk_in(request, city))
        except CivitasError as exc:
            error = _error_text(exc)
        else:
            messages.success(request, _("Risk %(code)s is open.") % {"code": risk.code})
            return redirect("risk-risk", code=risk.code)
    places = Jurisdiction.objects.filter(path__startswith=services.city_path(city)).order_by(
        "path"
    )[:500]
    return render(
        request,
        "risk/risk_new.html",
        {
            "city": city,
            "cities": cities,
            "units": _units(city),
            "places": places,
            "levels": Level.choices,
            "error": error,
            "post": request.POST,
        },
        status=422 if error else 200,
    )


def _risk_or_404(request: HttpRequest, code: str) -> RiskItem:
    _refuse_unless_reader(request)
    r = selectors.risk(request.user, code)
    if r is None:
        raise Http404("no such risk")
    return r


@login_required
def risk(request: HttpRequest, code: str) -> HttpResponse:
    r = _risk_or_404(request, code)
    detail = selectors.risk_detail(request.user, r)
    may = services.may_manage_risk(request.user, r)
    now = clock.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    context: dict[str, Any] = {
        "r": r,
        "d": detail,
        "events": _events(detail),
        "may_manage": may,
        "opened_by": selectors.people({r.created_by})[r.created_by],
        "overdue": services.deadline_overdue(r, now),
        "review_due": services.review_due(r),
        "review_overdue": services.review_overdue(r, now),
        "levels": Level.choices,
        "outcomes": Outcome.choices,
        "map_url": reverse("risk-risk-map", args=[r.code]),
    }
    if may:
        context["units"] = _units(r.city)
        context["new_districts"] = [
            j for j in selectors.districts_of_city(r.city) if j.code not in r.districts
        ]
        context["deadline_value"] = r.deadline.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    return render(request, "risk/risk.html", context)


def _events(detail: selectors.RiskDetail) -> list[dict[str, Any]]:
    who = selectors.people({e.actor for e in detail.events})
    codes = {str(e.data.get("district", "")) for e in detail.events} - {""}
    places = {j.code: j.name for j in Jurisdiction.objects.filter(code__in=codes)}
    return [
        {
            "e": e,
            "label": EVENT_WORDS.get(e.action, e.action),
            "level_from": _level_label(e.from_level),
            "level_to": _level_label(e.to_level),
            "who": who.get(e.actor, e.actor),
            "district": places.get(str(e.data.get("district", "")), ""),
        }
        for e in detail.events
    ]


def _level_label(value: str) -> str:
    return str(Level(value).label) if value in Level.values else ""


@login_required
def risk_map(request: HttpRequest, code: str) -> JsonResponse:
    r = _risk_or_404(request, code)
    detail = selectors.risk_detail(request.user, r)
    return JsonResponse(
        {
            "geo": _city_geo(r.city),
            "map": f"risk-city-{r.city}",
            "points": _points(detail.appeals),
            "centre": None,
            "highlight": list(r.districts),
        }
    )


@login_required
@require_POST
def risk_act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    r = _risk_or_404(request, code)
    post = request.POST
    version = _version(request)
    actor = request.user
    try:
        if action == "level":
            services.change_level(
                actor=actor,
                risk=r,
                level=post.get("level", ""),
                reason=post.get("reason", ""),
                expected_version=version,
            )
            done = _("The level is changed.")
        elif action == "update":
            owner = None
            if post.get("owner_unit"):
                owner = Unit.objects.filter(code=post["owner_unit"], city=r.city).first()
                if owner is None:
                    raise InvalidInput(_("no such unit"), details={"field": "owner_unit"})
            services.update(
                actor=actor,
                risk=r,
                measures=post.get("measures"),
                deadline=_when(post.get("deadline", ""), "deadline", end_of_day=True),
                owner_unit=owner,
                note=post.get("note", ""),
                expected_version=version,
            )
            done = _("The risk is updated.")
        elif action == "review":
            services.review(
                actor=actor, risk=r, note=post.get("note", ""), expected_version=version
            )
            done = _("The review is recorded.")
        elif action == "spread":
            district = Jurisdiction.objects.filter(code=post.get("district", "")).first()
            if district is None:
                raise InvalidInput(_("choose a district"), details={"field": "district"})
            services.spread(
                actor=actor,
                risk=r,
                district=district,
                note=post.get("note", ""),
                level=post.get("level") or None,
                expected_version=version,
            )
            done = _("The spread is recorded.")
        elif action == "close":
            services.close(
                actor=actor,
                risk=r,
                outcome=post.get("outcome", ""),
                note=post.get("note", ""),
                expected_version=version,
            )
            done = _("The risk is closed.")
        elif action == "reopen":
            services.reopen(
                actor=actor, risk=r, reason=post.get("reason", ""), expected_version=version
            )
            done = _("The risk is open again.")
        else:
            raise Http404("no such action")
    except CivitasError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    return redirect("risk-risk", code=r.code)
