"""The assessment page (/assessment/) and its CSV and XLSX exports."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from civitas.assessment import exports, selectors
from civitas.assessment.rates import RATES, basic_weight
from civitas.kit.errors import CivitasError
from civitas.org import access

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _table(request: HttpRequest) -> tuple[selectors.Table | None, str]:
    if not access.can(request.user, "assessment.read"):
        raise PermissionDenied(
            _("The assessment is open to analysts, dispatchers, unit leaders and auditors.")
        )
    group = request.GET.get("group") or "streets"
    try:
        return (
            selectors.table(
                request.user,
                group=group,
                period=request.GET.get("period") or None,
                city=request.GET.get("city") or None,
            ),
            "",
        )
    except CivitasError as exc:
        return None, exc.message


def _chart(t: selectors.Table) -> str:
    ranked = [ln for ln in t.lines if ln.score is not None][:30]
    return json.dumps(
        {
            "names": [ln.unit.name for ln in ranked],
            "score": [ln.score for ln in ranked],
            "previous": [ln.previous_score for ln in ranked],
            "labels": {
                "score": t.period.label,
                "previous": t.previous.label,
            },
        },
        ensure_ascii=False,
    )


@login_required
def assessment(request: HttpRequest) -> HttpResponse:
    t, error = _table(request)
    context: dict[str, Any] = {
        "t": t,
        "error": error,
        "groups": selectors.GROUPS,
        "group": request.GET.get("group") or "streets",
        "cities": selectors.cities(request.user),
        "rate_names": RATES,
    }
    if t is not None:
        context["chart"] = _chart(t)
        context["total_rates"] = selectors.percent(t.total["rates"])
        context["basic_weight"] = basic_weight()
        context["weights_text"] = ", ".join(f"{k} {v:g}" for k, v in t.weights.items())
        context["query"] = f"period={t.period.label}&group={t.group}&city={t.city}"
    return render(request, "assessment/assessment.html", context, status=422 if error else 200)


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    t, error = _table(request)
    if t is None:
        return HttpResponse(error, status=422, content_type="text/plain; charset=utf-8")
    body = exports.to_csv(t) if fmt == "csv" else exports.to_xlsx(t)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(t, fmt)}"'
    return response
