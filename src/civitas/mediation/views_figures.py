"""The figures of mediation (/mediation/figures/, its CSV) and an agreement's PDF."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from civitas.kit import audit
from civitas.kit.errors import CivitasError
from civitas.mediation import agreement_pdf, figures
from civitas.mediation.models import Agreement, Dispute
from civitas.mediation.services import may_see_parties
from civitas.org import access

# -- figures -----------------------------------------------------------------------------------


def _require_figures(request: HttpRequest) -> None:
    if not access.can(request.user, "disputes.figures"):
        raise PermissionDenied(
            _(
                "The figures of mediation are open to analysts, dispatchers, unit leaders, "
                "administrators and auditors."
            )
        )


@login_required
@require_GET
def figures_page(request: HttpRequest) -> HttpResponse:
    _require_figures(request)
    areas = figures.areas_for(request.user)
    try:
        f = figures.parse_filters(request.user, request.GET)
    except CivitasError as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        return render(
            request,
            "mediation/figures.html",
            {
                "error": exc.message,
                "error_field": field,
                "areas": areas,
                "values": {k: request.GET.get(k, "") for k in ("from", "to", "area")},
            },
            status=exc.status,
        )
    fig = figures.compute(request.user, f)
    charts = {k: json.dumps(v, ensure_ascii=False) for k, v in figures.charts(fig).items()}
    tables = [
        (_("By level at intake"), "level-intake", fig.by_intake_tier, True),
        (_("By level at conclusion (open disputes: their level now)"), "level", fig.by_tier, False),
        (_("By type"), "type", fig.by_type, False),
        (_("By area"), "area", fig.by_area, False),
        (_("By channel"), "channel", fig.by_channel, False),
    ]
    return render(
        request,
        "mediation/figures.html",
        {
            "fig": fig,
            "areas": areas,
            "values": f.params(),
            "charts": charts,
            "tables": tables,
            "csv_url": f"{reverse('mediation-figures-csv')}?{urlencode(f.params())}",
            "api_url": f"/api/mediation/figures?{urlencode(f.params())}",
        },
    )


@login_required
@require_GET
def figures_csv(request: HttpRequest) -> HttpResponse:
    _require_figures(request)
    try:
        f = figures.parse_filters(request.user, request.GET)
    except CivitasError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    fig = figures.compute(request.user, f)
    response = HttpResponse(figures.to_csv(fig), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{figures.csv_filename(fig)}"'
    return response


# -- an agreement's PDF -----------------------------------------------------------------------


@login_required
@require_GET
def agreement_pdf_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    dispute = access.readable(request.user, Dispute.objects.filter(code=code)).first()
    if dispute is None:
        raise Http404("no such dispute")
    agreement = (
        Agreement.objects.filter(pk=pk, dispute=dispute).select_related("stage__unit").first()
    )
    if agreement is None:
        raise Http404("no such agreement")
    if not may_see_parties(request.user, dispute):
        raise PermissionDenied(
            _("The agreement names the parties: it is open to those handling the dispute.")
        )
    body = agreement_pdf.render(agreement)
    with transaction.atomic():
        audit.record(
            actor=request.user,
            action="mediation.agreement_download",
            object_type="mediation.agreement",
            object_id=agreement.pk,
            reason=_("agreement PDF downloaded"),
            extra={"dispute": dispute.code, "number": agreement.number},
        )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{agreement_pdf.filename(agreement)}"'
    response["Cache-Control"] = "private, no-store"
    return response
