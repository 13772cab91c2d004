"""Pages of dispute mediation (/mediation/…)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from civitas.mediation.models import Dispute
from civitas.org import access


@login_required
def disputes(request: HttpRequest) -> HttpResponse:
    if not access.can(request.user, "disputes.read"):
        raise PermissionDenied(_("Disputes are open to mediators and the offices handling them."))
    rows = access.readable(request.user, Dispute.objects.all())[:50]
    return render(request, "mediation/disputes.html", {"disputes": rows})
