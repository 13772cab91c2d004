"""The case page's view of handoffs to outside Open311 systems, and the centre's "try again now".

Staff who may open the case page see its handoffs (the system, their id and status, failed
attempts and the last error); only the centre (dispatchers and administrators whose area
covers the case) may make a handoff due at once. Residents never see any of it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.appeals import selectors
from civitas.appeals import workflow as wf
from civitas.appeals.models import Appeal
from civitas.appeals.parties import parties_of
from civitas.open311 import configure
from civitas.open311.handoff import OPEN_STATES, of_case
from civitas.web.views.common import require


def case_handoffs(appeal: Appeal, parties: frozenset[str]) -> dict[str, Any]:
    """What the case page shows of the case's handoffs (for the staff who may open it)."""
    may_retry = wf.CENTRE in parties
    rows = [
        {"h": h, "open": h.state in OPEN_STATES, "may_retry": may_retry and h.state in OPEN_STATES}
        for h in of_case(appeal)
    ]
    return {"handoffs": rows}


@login_required
@require_POST
def retry(request: HttpRequest, ticket: str, pk: int) -> HttpResponse:
    require(request, "appeals.read", _("The workbench is for staff of the city's units."))
    appeal = selectors.case(request.user, ticket)
    if appeal is None:
        raise Http404("no such case in your area")
    if wf.CENTRE not in parties_of(request.user, appeal):
        raise PermissionDenied(_("Only the centre may send a handoff again."))
    handoff = appeal.handoffs.filter(pk=pk).first()
    if handoff is None:
        raise Http404("no such handoff on this case")
    if configure.retry_handoffs(
        actor=request.user, handoffs=[handoff], reason="retried from the case page"
    ):
        messages.success(
            request,
            _("The handoff to %(system)s will be tried again within a minute.")
            % {"system": handoff.system.name},
        )
    else:
        messages.error(request, _("This handoff is finished; there is nothing to try again."))
    return redirect("case", ticket=appeal.ticket)
