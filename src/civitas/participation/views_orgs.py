"""Organisation pages (/participate/organisations/…): the public directory of active
organisations (no contacts), registering one, and the staff's confirmations and suspensions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.kit.errors import CivitasError
from civitas.org import access
from civitas.participation import orgs
from civitas.participation import selectors_tasks as sel
from civitas.participation.access_rules import may_manage
from civitas.participation.forms_tasks import OrgForm
from civitas.participation.models import Offer, Organisation, OrgKind
from civitas.participation.views_tasks import PAGE_SIZE, error_text, places_for_orgs


def org_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in OrgKind.values:
        kind = ""
    staff = access.can(request.user, "participation.read")
    state = request.GET.get("state", "")
    if staff and state in Organisation.State.values:
        items = sel.staff_organisations(request.user, state)
        if kind:
            items = items.filter(kind=kind)
    else:
        state = ""
        items = sel.public_organisations(kind=kind)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "participation/orgs.html",
        {
            "page": page,
            "kind": kind,
            "kinds": OrgKind.choices,
            "offers": dict(Offer.choices),
            "staff": staff,
            "state": state,
            "states": Organisation.State.choices,
        },
    )


@login_required
def org_new(request: HttpRequest) -> HttpResponse:
    form = OrgForm(request.POST or None, places=places_for_orgs(request))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            o = orgs.register_organisation(
                actor=request.user,
                data=orgs.OrgIn(
                    kind=d["kind"],
                    name_en=d["name_en"],
                    name_zh=d["name_zh"],
                    jurisdiction=d["jurisdiction"],
                    offers=d["offers"],
                    description=d["description"],
                    credit_code=d["credit_code"],
                    contact_name=d["contact_name"],
                    contact_phone=d["contact_phone"],
                ),
            )
        except CivitasError as exc:
            field = exc.details.get("field") if isinstance(exc.details, dict) else None
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            if o.state == Organisation.State.ACTIVE:
                messages.success(request, _("%(name)s is registered.") % {"name": o.name})
            else:
                messages.success(
                    request,
                    _("%(name)s is registered and awaits confirmation by %(unit)s.")
                    % {"name": o.name, "unit": o.partner_unit.name if o.partner_unit else ""},
                )
            return redirect("participation-org", code=o.code)
    return render(request, "participation/org_form.html", {"form": form})


def org_detail(request: HttpRequest, code: str) -> HttpResponse:
    o = access.readable(request.user, Organisation.objects.filter(code=code)).first()
    staff = o is not None
    is_manager = request.user.is_authenticated and (
        Organisation.objects.filter(code=code, managers=request.user).exists()
    )
    if o is None:
        qs = Organisation.objects.filter(code=code)
        if not is_manager:
            qs = qs.filter(state=Organisation.State.ACTIVE)
        o = qs.select_related("jurisdiction").first()
    if o is None:
        raise Http404(_("No such organisation."))
    return render(
        request,
        "participation/org.html",
        {
            "o": o,
            "staff": staff,
            "contacts": orgs.may_see_contacts(request.user, o),
            "manager": may_manage(request.user, o.jurisdiction_path),
            "offers": [Offer(x).label for x in o.offers if x in Offer.values],
            "members": o.members.filter(state="active").count(),
        },
    )


@require_POST
@login_required
def org_act(request: HttpRequest, code: str, action: str) -> HttpResponse:
    if action not in orgs.ORG_MOVES:
        raise Http404
    version = request.POST.get("version", "")
    try:
        orgs.move_organisation(
            actor=request.user,
            org=code,
            move=action,
            reason=request.POST.get("reason", ""),
            version=int(version) if version.isdigit() else None,
        )
    except CivitasError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Done."))
    return redirect("participation-org", code=code)
