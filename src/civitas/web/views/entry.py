"""Appeals entered by staff: a hotline operator taking a call, a grid worker's report."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from civitas.web.forms_appeals import GridReportForm, HotlineForm
from civitas.web.views.appeals import enter_appeal
from civitas.web.views.common import require


@login_required
def desk_call(request: HttpRequest) -> HttpResponse:
    require(request, "appeals.enter", _("Only hotline operators and dispatchers enter calls."))
    return enter_appeal(
        request,
        form_class=HotlineForm,
        template="web/appeals/entry.html",
        actor=request.user,
        extra={"heading": _("Take a call"), "hotline": True},
    )


@login_required
def report(request: HttpRequest) -> HttpResponse:
    require(request, "appeals.enter", _("Only grid workers, operators and dispatchers report."))
    return enter_appeal(
        request,
        form_class=GridReportForm,
        template="web/appeals/entry.html",
        actor=request.user,
        extra={"heading": _("Report from the grid"), "hotline": False},
    )
