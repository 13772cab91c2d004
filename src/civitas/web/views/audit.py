"""The audit log, for auditors and administrators: latest entries and a chain check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit import audit as audit_chain
from civitas.org import selectors as org_selectors
from civitas.web.views.common import is_htmx, page_of, require


def _auditors_only(request: HttpRequest) -> None:
    require(request, "audit.read", _("The audit log is open to auditors and administrators."))


@login_required
def audit(request: HttpRequest) -> HttpResponse:
    _auditors_only(request)
    page = page_of(request, org_selectors.audit_entries(request.user))
    return render(request, "web/audit.html", {"page": page})


@login_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    _auditors_only(request)
    result = audit_chain.verify()
    if is_htmx(request):
        return render(request, "web/_verify_result.html", {"result": result})
    page = page_of(request, org_selectors.audit_entries(request.user))
    return render(request, "web/audit.html", {"page": page, "result": result})
