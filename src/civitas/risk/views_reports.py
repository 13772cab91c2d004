"""Judgment report pages: /risk/reports/ (the latest complete week or month), one period's
report as a page, and the same report as a PDF in the reader's language."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from civitas.kit.errors import CivitasError
from civitas.risk import report_pdf, reports
from civitas.risk.models import LEVEL_RANK, Level

PDF_LANGS = {"en": "en", "zh": "zh-hans", "zh-hans": "zh-hans"}


def _error(request: HttpRequest, exc: CivitasError) -> HttpResponse:
    return render(
        request, "risk/report_error.html", {"error": exc.message}, status=exc.status or 400
    )


def _link(kind: str, label: str, area: reports.Area, *, pdf: bool = False) -> str:
    name = "risk-report-pdf" if pdf else "risk-report"
    url = reverse(name, kwargs={"kind": kind, "label": label})
    return f"{url}?area={area.code}"


def _charts(r: reports.Report) -> dict[str, str]:
    """The data each chart of the page draws, as JSON for its data-chart attribute."""
    day_labels = [d.strftime("%m-%d") for d, _n in r.by_day]
    levels = sorted(Level.values, key=lambda v: -LEVEL_RANK[Level(v)])
    data: dict[str, Any] = {
        "days": {
            "kind": "line",
            "labels": day_labels,
            "series": [
                {"name": r.period.label, "data": [n for _d, n in r.by_day]},
                *([{"name": r.previous.label, "data": r.by_day_before}] if r.by_day_before else []),
            ],
        },
        "channels": {
            "kind": "bar",
            "labels": [row.name.name for row in r.channels],
            "series": [{"name": r.period.label, "data": [row.now for row in r.channels]}],
        },
        "matters": {
            "kind": "hbar",
            "labels": [row.name.name for row in r.matters],
            "series": [
                {"name": r.period.label, "data": [row.now for row in r.matters]},
                {"name": r.previous.label, "data": [row.before for row in r.matters]},
            ],
        },
        "places": {
            "kind": "hbar",
            "labels": [row.name.name for row in r.places],
            "series": [
                {"name": r.period.label, "data": [row.now for row in r.places]},
                {"name": r.previous.label, "data": [row.before for row in r.places]},
            ],
        },
        "risks": {
            "kind": "bar",
            "labels": [str(Level(v).label) for v in levels],
            "colors": ["#c0392b", "#e67e22", "#d4ac0d", "#2e86c1"],
            "series": [
                {"name": _("New"), "data": [r.new_risks.get(v, 0) for v in levels]},
                {"name": _("Open at the end"), "data": [r.open_risks.get(v, 0) for v in levels]},
            ],
        },
    }
    return {k: json.dumps(v, ensure_ascii=False) for k, v in data.items()}


def _page(
    request: HttpRequest, kind: str, label: str | None, area_code: str | None
) -> HttpResponse:
    try:
        area = reports.area_for(request.user, area_code)
        data = reports.span(area)
        if label is None:
            period = reports.latest_complete(kind, area, data)
        else:
            period = reports.parse(kind, label)
        report = reports.cached(request.user, period, area, data)
    except CivitasError as exc:
        return _error(request, exc)
    lang = translation.get_language() or "en"
    context = {
        "r": report,
        "words": reports.narrative(report),
        "areas": reports.areas_for(request.user),
        "kind": kind,
        "periods": {
            k: [(p, _link(k, p.label, area)) for p in reports.available(k, area, data)]
            for k in reports.KINDS
        },
        "charts": _charts(report),
        "pdf": _link(kind, period.label, area, pdf=True),
        "pdf_other": _link(kind, period.label, area, pdf=True)
        + ("&lang=en" if lang.startswith("zh") else "&lang=zh"),
        "other_lang": "English" if lang.startswith("zh") else "中文",
        "rate_keys": ("response", "resolution", "satisfaction"),
    }
    return render(request, "risk/report.html", context)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or "week"
    if kind not in reports.KINDS:
        kind = "week"
    return _page(request, kind, None, request.GET.get("area"))


@login_required
def report(request: HttpRequest, kind: str, label: str) -> HttpResponse:
    return _page(request, kind, label, request.GET.get("area"))


@login_required
def pdf(request: HttpRequest, kind: str, label: str) -> HttpResponse:
    wanted = request.GET.get("lang") or translation.get_language() or "en"
    lang = PDF_LANGS.get(wanted.lower(), "zh-hans" if wanted.lower().startswith("zh") else "en")
    try:
        area = reports.area_for(request.user, request.GET.get("area"))
        report = reports.cached(request.user, reports.parse(kind, label), area)
        body = report_pdf.render(report, lang)
    except CivitasError as exc:
        return _error(request, exc)
    response = HttpResponse(body, content_type="application/pdf")
    name = report_pdf.filename(report, lang)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
