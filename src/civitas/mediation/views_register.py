"""Registering a dispute (at a mediation body, by the hotline, by a grid worker) and referring
an appeal to mediation. The page shows which level and body the rules choose, and why, before
and after the dispute is saved; the services register it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal
from civitas.appeals.parties import may_see_contact
from civitas.geo import selectors as geo_selectors
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.kit.errors import CivitasError
from civitas.mediation import forms as f
from civitas.mediation import rules, services
from civitas.mediation import views_common as common
from civitas.mediation.models import Dispute, Party, Source, Tier
from civitas.org import access
from civitas.org.models import Role

MAX_ROWS = 12


def _cities(request: HttpRequest) -> list[str]:
    scope = access.scope_of(request.user)
    if scope.everything:
        return list(geo_selectors.cities().order_by("code").values_list("code", flat=True))
    found = {p.strip("/").split("/")[0] for p in scope.paths}
    if scope.unit_ids:
        from civitas.org.models import Unit

        found |= set(Unit.objects.filter(pk__in=scope.unit_ids).values_list("city", flat=True))
    return sorted(c for c in found if c)


def _places(city: str) -> list[Jurisdiction]:
    return list(geo_selectors.jurisdictions(within=city).order_by("path")[:2000])


def _rows(request: HttpRequest, filled: int = 0) -> int:
    raw = request.GET.get("rows") or request.POST.get("rows") or ""
    rows = int(raw) if raw.isdigit() else 2
    return max(1, min(MAX_ROWS, max(rows, filled)))


def _source_for(request: HttpRequest) -> str:
    """How the dispute reached us, from the registering person's roles."""
    roles = access.scope_of(request.user).roles
    if Role.MEDIATOR in roles:
        return Source.WALK_IN
    if Role.GRID_WORKER in roles:
        return Source.GRID
    if roles & {Role.HOTLINE_OPERATOR, Role.DISPATCHER}:
        return Source.HOTLINE
    return Source.WALK_IN


def _where(data: dict[str, Any]) -> Jurisdiction | None:
    place = data.get("jurisdiction")
    if place is None and data.get("lat") is not None and data.get("lon") is not None:
        found = locate(float(data["lat"]), float(data["lon"]))
        if found is not None:
            place = Jurisdiction.objects.filter(code=found.jurisdiction.code).first()
    return place if isinstance(place, Jurisdiction) else None


def _party_rows(formset: Any) -> list[dict[str, Any]]:
    return [form.cleaned_data for form in formset.forms if form.has_changed() and form.cleaned_data]


def preview(data: dict[str, Any], parties: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rules choose for these facts: the level, the body, the channel and why."""
    place = _where(data)
    districts = {rules.district_of(p["jurisdiction"]) for p in parties if p.get("jurisdiction")}
    if place is not None:
        districts.add(rules.district_of(place))
    chosen = rules.assign(
        rules.Facts(
            type=data["type"],
            amount=data.get("amount"),
            people_involved=data.get("people_involved") or 2,
            risk_level=data.get("risk_level") or "low",
            districts=sorted(d for d in districts if d),
        )
    )
    body = rules.body_for(place, chosen.tier) if place is not None else None
    tier = body[0] if body else chosen.tier
    reasons = list(chosen.reasons)
    if body and body[0] != chosen.tier:
        reasons.append({"code": "no_body", "tier": body[0]})
    return {
        "tier": Tier(tier).label,
        "channel": f.Channel(chosen.channel).label,
        "unit": body[1].name if body else "",
        "reasons": common.reasons_text(reasons),
        "place": place.name if place is not None else "",
    }


def _register(
    request: HttpRequest,
    data: dict[str, Any],
    parties: list[dict[str, Any]],
    *,
    appeal: Appeal | None,
) -> Dispute:
    party_rows = [
        services.PartyIn(
            side=p["side"],
            kind=p["kind"],
            name=p["name"],
            phone=p.get("phone", ""),
            address=p.get("address", ""),
            jurisdiction=p.get("jurisdiction"),
        )
        for p in parties
    ]
    facts = services.DisputeIn(
        title=data["title"],
        summary=data["summary"],
        type=data["type"],
        amount=data.get("amount"),
        people_involved=data.get("people_involved") or 2,
        risk_level=data.get("risk_level") or "low",
        jurisdiction=_where(data),
        address=data.get("address", ""),
        lat=data.get("lat"),
        lon=data.get("lon"),
        parties=party_rows,
    )
    if appeal is not None:
        return services.refer_from_appeal(actor=request.user, appeal=appeal, data=facts)
    return services.register(actor=request.user, data=facts, source=_source_for(request))


def _page(
    request: HttpRequest,
    *,
    city: str,
    appeal: Appeal | None = None,
    initial: dict[str, Any] | None = None,
    party_initial: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    places = _places(city)
    chosen: dict[str, Any] | None = None
    error = ""
    status = 200
    if request.method == "POST" and "more" in request.POST:
        # Another row for a party: the page again with what was typed, nothing checked yet.
        given = _typed_parties(request)
        form = f.DisputeForm(
            initial={k: v for k, v in request.POST.items() if k in f.DisputeForm.base_fields},
            places=places,
        )
        parties = f.party_formset(
            places=places, rows=1 if len(given) < MAX_ROWS else 0, initial=given or None
        )
    elif request.method == "POST":
        form = f.DisputeForm(request.POST, places=places)
        parties = f.party_formset(request.POST, places=places, rows=0)
        if form.is_valid() and parties.is_valid():
            rows = _party_rows(parties)
            if "preview" in request.POST:
                chosen = preview(form.cleaned_data, rows)
            else:
                try:
                    d = _register(request, form.cleaned_data, rows, appeal=appeal)
                except CivitasError as exc:
                    error = common.error_text(exc)
                    status = 422
                else:
                    messages.success(
                        request,
                        _("Dispute %(code)s is registered: %(tier)s, %(unit)s.")
                        % {"code": d.code, "tier": d.get_tier_display(), "unit": d.unit.name},
                    )
                    return redirect("mediation-dispute", code=d.code)
        else:
            status = 422
            error = " ".join(
                t for t in [common.form_errors_text(form), *_formset_errors(parties)] if t
            )
    else:
        form = f.DisputeForm(initial=initial or {}, places=places)
        given = party_initial or []
        extra = max(_rows(request) - len(given), 1) if given else _rows(request)
        parties = f.party_formset(places=places, rows=extra, initial=given or None)
    return render(
        request,
        "mediation/register.html",
        {
            "form": form,
            "parties": parties,
            "chosen": chosen,
            "error": error,
            "appeal": appeal,
            "city": city,
        },
        status=status,
    )


def _typed_parties(request: HttpRequest) -> list[dict[str, str]]:
    """The party rows as typed (non-empty ones), to show them again."""
    raw = request.POST.get("p-TOTAL_FORMS", "")
    total = min(int(raw), MAX_ROWS) if raw.isdigit() else 0
    rows = []
    for i in range(total):
        row = {name: request.POST.get(f"p-{i}-{name}", "") for name in f.PartyForm.base_fields}
        if row.get("name") or row.get("phone") or row.get("address"):
            rows.append(row)
    return rows


def _formset_errors(formset: Any) -> list[str]:
    out = [" ".join(str(e) for e in formset.non_form_errors())]
    for i, errors in enumerate(formset.errors, start=1):
        for name, errs in errors.items():
            label = (
                formset.forms[i - 1].fields[name].label
                if name in formset.forms[i - 1].fields
                else ""
            )
            text = " ".join(str(e) for e in errs)
            out.append(
                _("Party %(n)s, %(field)s: %(error)s") % {"n": i, "field": label, "error": text}
            )
    return out


@login_required
def register(request: HttpRequest) -> HttpResponse:
    common.refuse_unless_reader(request)
    if not access.can(request.user, "disputes.register"):
        raise PermissionDenied(
            _("Registering disputes is for mediators, grid workers and the hotline.")
        )
    cities = _cities(request)
    if not cities:
        raise PermissionDenied(_("You work in no city."))
    city = request.POST.get("city") or request.GET.get("city") or cities[0]
    if city not in cities:
        raise PermissionDenied(_("You may not register disputes in this city."))
    return _page(request, city=city)


@login_required
def refer(request: HttpRequest, ticket: str) -> HttpResponse:
    """Refer an appeal to mediation: the form prefilled from the appeal."""
    if not access.can(request.user, "disputes.register"):
        raise PermissionDenied(
            _("Referring appeals to mediation needs the right to register disputes.")
        )
    appeal = (
        access.readable(request.user, Appeal.objects.filter(ticket=ticket))
        .select_related("jurisdiction")
        .first()
    )
    if appeal is None:
        raise Http404("no such appeal")
    existing = Dispute.objects.filter(appeal=appeal).first()
    if existing is not None:
        messages.info(
            request, _("This appeal is already dispute %(code)s.") % {"code": existing.code}
        )
        if access.readable(request.user, Dispute.objects.filter(pk=existing.pk)).exists():
            return redirect("mediation-dispute", code=existing.code)
        return redirect("case", ticket=appeal.ticket)
    initial: dict[str, Any] = {
        "title": (appeal.title or appeal.text)[:200].splitlines()[0][:120],
        "summary": appeal.text,
        "jurisdiction": appeal.jurisdiction.code if appeal.jurisdiction else "",
        "address": appeal.address,
        "lat": getattr(appeal, "lat", None),
        "lon": getattr(appeal, "lon", None),
    }
    party_initial: list[dict[str, Any]] = []
    contact = getattr(appeal, "contact", None)
    if contact is not None and may_see_contact(request.user, appeal) and contact.name:
        party_initial.append(
            {
                "side": Party.Side.APPLICANT,
                "kind": Party.Kind.PERSON,
                "name": contact.name,
                "phone": contact.phone,
                "jurisdiction": appeal.jurisdiction.code if appeal.jurisdiction else "",
            }
        )
    return _page(
        request,
        city=appeal.city,
        appeal=appeal,
        initial=initial,
        party_initial=party_initial,
    )
