"""The hub's access pages: asking for a grant, deciding it, a unit's grants, reading granted
data (a page at a time, or a CSV export) and the owner's log of who used its data.

The views parse input, call ``civitas.hub.grants`` or ``civitas.hub.query`` inside a
transaction they own, and render. What a reader sees of the records is what ``query.read``
returns: granted fields and rows only, masked as the grant says; these pages add nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civitas.geo.models import Jurisdiction
from civitas.hub import grants, query, rights
from civitas.hub.forms_access import (
    CLEAR_SENSITIVITIES,
    DecisionForm,
    GrantRequestForm,
    area_label,
    areas_inside,
    schema_fields,
)
from civitas.hub.keys import is_person_key
from civitas.hub.masking import WITHHELD
from civitas.hub.models import (
    AccessChannel,
    AccessLog,
    Dataset,
    Field,
    Grant,
    GrantStatus,
    KeyRole,
    Sharing,
)
from civitas.kit import clock
from civitas.kit.errors import CivitasError, Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from civitas.kit.spreadsheet import csv_cell
from civitas.org import access
from civitas.org.models import Unit

PAGE_ROWS = 100
EXPORT_ROWS = 10_000
LIST_SIZE = 50
USAGE_SIZE = 100
RECENT_USES = 20
TAB_WORDS = {
    "mine": gettext_lazy("My units' grants"),
    "decide": gettext_lazy("To decide"),
    "given": gettext_lazy("Given by my units"),
    "all": gettext_lazy("All I may see"),
}
# Spreadsheets run a cell starting with these as a formula (CSV injection).


# -- shared --------------------------------------------------------------------------------


def _require_browse(request: HttpRequest) -> None:
    if not access.can(request.user, "hub.browse"):
        raise PermissionDenied(_("The data-sharing hub is open to the staff of units."))


def _dataset(request: HttpRequest, code: str, *, active_only: bool = True) -> Dataset:
    _require_browse(request)
    qs = Dataset.objects.filter(code=code)
    if active_only:
        qs = qs.filter(active=True)
    ds = (
        access.readable(request.user, qs)
        .select_related("owner_unit__jurisdiction", "jurisdiction__level")
        .first()
    )
    if ds is None:
        raise Http404(_("There is no dataset with this code that you may see."))
    return ds


def _grant(request: HttpRequest, pk: int) -> Grant:
    _require_browse(request)
    g = (
        access.readable(request.user, Grant.objects.filter(pk=pk))
        .select_related("dataset__owner_unit", "consumer_unit", "area__level")
        .first()
    )
    if g is None:
        raise Http404(_("There is no grant with this number that you may see."))
    return g


def _own_units(actor: Any) -> set[int]:
    """The units an actor asks for or reads for: their grants are "mine"."""
    return rights.requesting_units(actor) | rights.acting_units(actor)


def _is_auditor_of(actor: Any, ds: Dataset) -> bool:
    return access.can(actor, "audit.read", path=ds.owner_unit.jurisdiction.path)


def status_of(g: Grant, now: datetime | None = None) -> tuple[str, str]:
    """The status a reader should see: an approved grant past its expiry is expired even
    before the nightly job marks it."""
    if g.status == GrantStatus.APPROVED and g.expires_at <= (now or clock.now()):
        return GrantStatus.EXPIRED.value, str(GrantStatus.EXPIRED.label)
    return g.status, g.get_status_display()


def _local(d: datetime) -> datetime:
    return d.astimezone(ZoneInfo(settings.TIME_ZONE))


def _refusal(g: Grant) -> str:
    """Why a grant of the reader's unit gives no access now."""
    status, _label = status_of(g)
    when = _local(g.decided_at).strftime("%Y-%m-%d") if g.decided_at else ""
    if status == GrantStatus.EXPIRED:
        return _("This grant expired on %(day)s.") % {
            "day": _local(g.expires_at).strftime("%Y-%m-%d")
        }
    if status == GrantStatus.REVOKED:
        return _("The owner revoked this grant on %(day)s: %(reason)s") % {
            "day": when,
            "reason": g.reason,
        }
    if status == GrantStatus.REFUSED:
        return _("The owner refused this request on %(day)s: %(reason)s") % {
            "day": when,
            "reason": g.reason,
        }
    if status == GrantStatus.WITHDRAWN:
        return _("Your unit withdrew this request.")
    return _("The owner has not decided this request yet.")


def _error_text(exc: CivitasError) -> str:
    if isinstance(exc, Conflict):
        head = _("Someone else acted on this grant first; this is how it stands now.")
    elif isinstance(exc, Forbidden):
        head = _("You may not take this action.")
    elif isinstance(exc, InvalidInput):
        head = _("Please check what you entered.")
    else:
        head = _("The action was refused.")
    return f"{head} {exc.message}"


# -- asking for a grant --------------------------------------------------------------------


@login_required
def grant_request(request: HttpRequest, code: str) -> HttpResponse:
    ds = _dataset(request, code)
    actor = request.user
    asking = rights.requesting_units(actor)
    if not asking:
        raise PermissionDenied(
            _(
                "Unit leaders, analysts, data stewards and administrators ask for data for "
                "their unit."
            )
        )
    units = list(
        Unit.objects.filter(pk__in=asking - {ds.owner_unit_id}, active=True).order_by("code")
    )
    context: dict[str, Any] = {"ds": ds, "here": "hub-grant-request", "units": units}
    if ds.sharing == Sharing.NOT_SHAREABLE or not units:
        context["closed"] = "not_shareable" if ds.sharing == Sharing.NOT_SHAREABLE else "owner"
        return render(request, "hub/grant_request.html", context)
    fields = schema_fields(ds)
    areas = list(areas_inside(ds.jurisdiction_path))
    form = GrantRequestForm(
        request.POST if request.method == "POST" else None,
        dataset=ds,
        units=units,
        fields=fields,
        areas=areas,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                with transaction.atomic():
                    g = grants.request_grant(actor, ds, **form.service_fields())
            except CivitasError as exc:
                _form_error(form, exc)
            else:
                if g.status == GrantStatus.APPROVED:
                    messages.success(
                        request, _("The data is shared without conditions: access was granted.")
                    )
                else:
                    messages.success(
                        request,
                        _("Your request was sent to %(owner)s.") % {"owner": ds.owner_unit.name},
                    )
                return redirect("hub-grant", pk=g.pk)
        status = 422
    context.update(
        {
            "form": form,
            "fields": fields,
            "consumer_choices": form.consumer_choices,
            "area_choices": form.area_choices,
            "checked": form.checked("columns"),
            "checked_clear": form.checked("clear_fields"),
            "sensitive": CLEAR_SENSITIVITIES,
        }
    )
    return render(request, "hub/grant_request.html", context, status=status)


def _form_error(form: Any, exc: CivitasError) -> None:
    """Put a service's refusal next to the field it names (or above the form)."""
    name = exc.details.get("field") if isinstance(exc.details, dict) else None
    name = {"fields": "columns", "expires": "expires_at"}.get(str(name), name)
    form.add_error(name if name in form.fields else None, exc.message)


# -- a unit's grants -------------------------------------------------------------------------


@login_required
def grant_list(request: HttpRequest) -> HttpResponse:
    _require_browse(request)
    actor = request.user
    visible = access.readable(actor, Grant.objects.all()).select_related(
        "dataset__owner_unit", "consumer_unit", "area"
    )
    mine = visible.filter(consumer_unit_id__in=_own_units(actor))
    deciding = rights.deciding_units(actor)
    given = visible.filter(dataset__owner_unit_id__in=deciding)
    tabs: dict[str, QuerySet[Grant]] = {"mine": mine}
    if deciding:
        tabs["decide"] = given.filter(status=GrantStatus.REQUESTED)
        tabs["given"] = given
    if access.can(actor, "audit.read"):
        tabs["all"] = visible
    tab = request.GET.get("tab", "")
    if tab not in tabs:
        tab = "decide" if "decide" in tabs and tabs["decide"].exists() else "mine"
    items = tabs[tab]
    datasets = list(Dataset.objects.filter(pk__in=items.values("dataset_id")).order_by("code"))
    status = request.GET.get("status", "")
    ds_code = request.GET.get("dataset", "")
    now = clock.now()
    if status == GrantStatus.EXPIRED:
        items = items.filter(
            Q(status=GrantStatus.EXPIRED) | Q(status=GrantStatus.APPROVED, expires_at__lte=now)
        )
    elif status == GrantStatus.APPROVED:
        items = items.filter(status=GrantStatus.APPROVED, expires_at__gt=now)
    elif status in GrantStatus.values:
        items = items.filter(status=status)
    else:
        status = ""
    if ds_code:
        items = items.filter(dataset__code=ds_code)
    page = Paginator(items.order_by("-requested_at", "-pk"), LIST_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [{"g": g, "status": status_of(g, now)} for g in page]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "hub/grants.html",
        {
            "here": "hub-grants",
            "tab": tab,
            "tabs": [(key, TAB_WORDS[key], tabs[key].count()) for key in tabs],
            "page": page,
            "rows": rows,
            "qs": params.urlencode(),
            "statuses": GrantStatus.choices,
            "status": status,
            "datasets": datasets,
            "dataset": ds_code,
        },
    )


# -- one grant -----------------------------------------------------------------------------

MOVE_WORDS = {
    "hub.grant_request": gettext_lazy("Asked for"),
    "hub.grant_approve": gettext_lazy("Approved"),
    "hub.grant_refuse": gettext_lazy("Refused"),
    "hub.grant_revoke": gettext_lazy("Revoked"),
    "hub.grant_withdraw": gettext_lazy("Withdrawn"),
    "hub.grant_expire": gettext_lazy("Expired"),
}


@dataclass
class GrantField:
    name: str
    label: str
    type: str
    sensitivity: str
    sensitivity_label: str
    shown: str  # "clear", "masked", "withheld", "key" or "as_stored"


def grant_fields(g: Grant) -> list[GrantField]:
    """The granted fields and how the consumer sees each (the grant may name a field that a
    later schema dropped: it is listed by its name)."""
    schema: dict[str, Field] = {f.name: f for f in schema_fields(g.dataset)}
    rows = []
    for name in g.fields:
        f = schema.get(name)
        sens = f.sensitivity if f else ""
        if f is not None and f.key_role == KeyRole.PERSON_ID:
            shown = "key"
        elif name in g.clear_fields:
            shown = "clear"
        elif sens == "secret":
            shown = "withheld"
        elif sens in CLEAR_SENSITIVITIES:
            shown = "masked"
        else:
            shown = "as_stored"
        rows.append(
            GrantField(
                name=name,
                label=f.label if f else name,
                type=f.get_type_display() if f else "",
                sensitivity=sens,
                sensitivity_label=f.get_sensitivity_display() if f else "",
                shown=shown,
            )
        )
    return rows


def _history(g: Grant) -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(object_type="hub.grant", object_id=str(g.pk)).order_by(
        "seq"
    )
    return [
        {"at": e.at, "who": e.actor, "what": MOVE_WORDS.get(e.action, e.action), "reason": e.reason}
        for e in entries
        if e.action != "hub.grant_request"
    ]


def _sees_uses(actor: Any, g: Grant) -> bool:
    """Both sides see how a grant is used: the consumer unit's people and the owner's
    deciders (and auditors over the owner)."""
    return (
        g.consumer_unit_id in _own_units(actor)
        or rights.is_decider(actor, g.dataset)
        or _is_auditor_of(actor, g.dataset)
    )


def _grant_page(
    request: HttpRequest,
    g: Grant,
    *,
    status: int = 200,
    error: str = "",
    forms: dict[str, DecisionForm] | None = None,
) -> HttpResponse:
    actor = request.user
    now = clock.now()
    may_decide = rights.is_decider(actor, g.dataset)
    for_consumer = g.consumer_unit_id in rights.requesting_units(actor)
    requested = g.status == GrantStatus.REQUESTED
    actions = {
        "approve": may_decide and requested,
        "refuse": may_decide and requested,
        "revoke": may_decide and g.status == GrantStatus.APPROVED,
        "withdraw": for_consumer and requested,
    }
    forms = forms or {}
    uses = None
    if _sees_uses(actor, g):
        uses = list(
            AccessLog.objects.filter(grant=g)
            .select_related("unit", "api_key")
            .order_by("-at", "-pk")[:RECENT_USES]
        )
    in_force = g.in_force(now)
    return render(
        request,
        "hub/grant.html",
        {
            "here": "hub-grant",
            "g": g,
            "ds": g.dataset,
            "status": status_of(g, now),
            "in_force": in_force,
            "refusal": "" if in_force or requested else _refusal(g),
            "fields": grant_fields(g),
            "area": g.area.name if g.area else g.dataset.jurisdiction.name,
            "history": _history(g),
            "actions": actions,
            "forms": forms,
            "error": error,
            "uses": uses,
            "reads": in_force and g.consumer_unit_id in rights.acting_units(actor),
        },
        status=status,
    )


@login_required
def grant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _grant_page(request, _grant(request, pk))


DONE_WORDS = {
    "approve": gettext_lazy("The grant was approved: the unit can read the data now."),
    "refuse": gettext_lazy("The request was refused."),
    "revoke": gettext_lazy("The grant was revoked: it gives no access any more."),
    "withdraw": gettext_lazy("Your request was withdrawn."),
}


@login_required
@require_POST
def grant_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    g = _grant(request, pk)
    if action not in DONE_WORDS:
        raise Http404(_("There is no such action on a grant."))
    form = DecisionForm(request.POST, needs_reason=action in ("refuse", "revoke"))
    if not form.is_valid():
        return _grant_page(
            request,
            g,
            status=422,
            error=_("Please check what you entered."),
            forms={action: form},
        )
    version = form.cleaned_data["version"]
    text = form.cleaned_data["text"]
    try:
        with transaction.atomic():
            if action == "approve":
                grants.approve(request.user, g, version=version, note=text)
            elif action == "refuse":
                grants.refuse(request.user, g, version=version, reason=text)
            elif action == "revoke":
                grants.revoke(request.user, g, version=version, reason=text)
            else:
                grants.withdraw(request.user, g, version=version)
    except CivitasError as exc:
        fresh = _grant(request, pk)
        return _grant_page(request, fresh, status=exc.status, error=_error_text(exc))
    messages.success(request, str(DONE_WORDS[action]))
    return redirect("hub-grant", pk=g.pk)


# -- reading granted data ------------------------------------------------------------------


@dataclass
class Choice:
    """Through which grant a reader reads, or why they may not."""

    grant: Grant | None = None
    owner: bool = False
    refusal: str = ""
    in_force: list[Grant] = field(default_factory=list)
    mine: list[Grant] = field(default_factory=list)  # the reader's units' other grants

    @property
    def allowed(self) -> bool:
        return not self.refusal


def _choose(request: HttpRequest, ds: Dataset, raw: str) -> Choice:
    actor = request.user
    in_force = list(rights.grants_in_force(actor, ds).order_by("-expires_at", "-pk"))
    mine = list(
        Grant.objects.filter(dataset=ds, consumer_unit_id__in=_own_units(actor))
        .exclude(pk__in=[g.pk for g in in_force])
        .select_related("consumer_unit")
        .order_by("-requested_at")[:10]
    )
    choice = Choice(in_force=in_force, mine=mine)
    raw = (raw or "").strip()
    if raw:
        choice.grant = next((g for g in in_force if str(g.pk) == raw), None)
        if choice.grant is None:
            held = next((g for g in mine if str(g.pk) == raw), None)
            choice.refusal = (
                _refusal(held)
                if held
                else _("Grant %(id)s is not a grant of your unit on this dataset.") % {"id": raw}
            )
        return choice
    if in_force:
        choice.grant = in_force[0]
    elif rights.is_steward(actor, ds) or rights.is_decider(actor, ds):
        choice.owner = True
    else:
        choice.refusal = _(
            "Your unit holds no grant in force on this dataset: records are shown only "
            "through a grant the owner approved."
        )
    return choice


def _may_ask(actor: Any, ds: Dataset) -> bool:
    return ds.sharing != Sharing.NOT_SHAREABLE and bool(
        rights.requesting_units(actor) - {ds.owner_unit_id}
    )


@dataclass
class Cell:
    value: Any
    masked: bool = False
    key: bool = False
    withheld: bool = False


def _cells(page: query.Page, row: dict[str, Any]) -> list[Cell]:
    cells = []
    for f in page.fields:
        value = row.get(f.name)
        empty = value is None or value == ""
        if f.key_role == KeyRole.PERSON_ID and is_person_key(str(value)):
            # a pseudonymous key: joins records, is not an identity number
            cells.append(Cell(value, key=True))
        elif value == WITHHELD:
            cells.append(Cell(_("withheld"), masked=True, withheld=True))
        elif isinstance(value, bool):
            cells.append(Cell(_("yes") if value else _("no"), masked=f.name in page.masked))
        else:
            cells.append(
                Cell(
                    "" if value is None else value,
                    masked=f.name in page.masked and not empty,
                )
            )
    return cells


def _read_params(request: HttpRequest, choice: Choice) -> dict[str, Any]:
    src = request.POST if request.method == "POST" else request.GET
    purpose = (src.get("purpose") or "").strip()[:1000]
    if not purpose and choice.grant is not None:
        purpose = choice.grant.purpose
    raw_after = (src.get("after") or "").strip()
    return {
        "area": (src.get("area") or "").strip()[:40] or None,
        "after": int(raw_after) if raw_after.isdigit() else None,
        "purpose": purpose,
        "case_ref": (src.get("case_ref") or "").strip()[:120],
    }


def _read(
    request: HttpRequest,
    ds: Dataset,
    choice: Choice,
    raw_grant: str,
    params: dict[str, Any],
    **kw: Any,
) -> query.Page:
    """Read through ``query.read``. It logs refused attempts in a transaction of its own, so
    the owner sees who tried: this call is not wrapped in another transaction that the
    refusal would roll back."""
    grant: Grant | int | None = choice.grant
    if grant is None and not choice.owner and raw_grant.strip():
        if not raw_grant.strip().isdigit():
            raise Forbidden(choice.refusal, code="no_grant")
        grant = int(raw_grant)
    page = query.read(
        request.user,
        ds,
        grant=grant,
        area=params["area"],
        after=params["after"],
        purpose=params["purpose"],
        case_ref=params["case_ref"],
        **kw,
    )
    if not choice.allowed:
        # Both sides refuse the same reads; should they ever differ, nothing is shown.
        raise Forbidden(choice.refusal, code="no_grant")
    return page


@login_required
def data(request: HttpRequest, code: str) -> HttpResponse:
    ds = _dataset(request, code)
    raw_grant = request.GET.get("grant", "")
    choice = _choose(request, ds, raw_grant)
    params = _read_params(request, choice)
    context: dict[str, Any] = {
        "here": "hub-data",
        "ds": ds,
        "choice": choice,
        "params": params,
        "may_ask": _may_ask(request.user, ds),
        "export_rows": EXPORT_ROWS,
    }
    if choice.allowed:
        base = choice.grant.area_path if choice.grant and choice.grant.area_path else None
        areas = list(areas_inside(base or ds.jurisdiction_path))
        context["areas"] = [(j.code, area_label(j)) for j in areas]
    try:
        page = _read(
            request,
            ds,
            choice,
            raw_grant,
            params,
            page_size=PAGE_ROWS,
            channel=AccessChannel.PAGE,
            count=params["after"] is None,
        )
    except CivitasError as exc:
        if not choice.allowed:
            return render(request, "hub/data.html", context, status=403)
        context["error"] = exc.message
        return render(request, "hub/data.html", context, status=exc.status)
    names = {
        j.code: j.name
        for j in Jurisdiction.objects.filter(code__in={r.get("area") for r in page.rows})
    }
    cells = [_cells(page, r) for r in page.rows]
    keep = {
        "grant": choice.grant.pk if choice.grant else "",
        "area": params["area"] or "",
        "purpose": params["purpose"],
        "case_ref": params["case_ref"],
    }
    context.update(
        {
            "page": page,
            "rows": [
                {
                    "id": r.get("id"),
                    "area": names.get(str(r.get("area") or ""), str(r.get("area") or "")),
                    "cells": row_cells,
                }
                for r, row_cells in zip(page.rows, cells, strict=True)
            ],
            "legend": {
                "masked": any(c.masked and not c.withheld for r in cells for c in r),
                "withheld": any(c.withheld for r in cells for c in r),
                "key": any(c.key for r in cells for c in r),
            },
            "next_url": (
                f"?{urlencode({**keep, 'after': page.next_after})}"
                if page.next_after is not None
                else ""
            ),
            "first_url": f"?{urlencode(keep)}" if params["after"] else "",
        }
    )
    return render(request, "hub/data.html", context)


@login_required
@require_POST
def data_export(request: HttpRequest, code: str) -> HttpResponse:
    """Up to EXPORT_ROWS rows as CSV, read in pages of the largest size ``query.read`` takes
    (each page is one logged read on the export channel)."""
    ds = _dataset(request, code)
    raw_grant = request.POST.get("grant", "")
    choice = _choose(request, ds, raw_grant)
    params = _read_params(request, choice)
    params["after"] = None
    pages: list[query.Page] = []
    rows = 0
    try:
        while rows < EXPORT_ROWS:
            page = _read(
                request,
                ds,
                choice,
                raw_grant,
                params,
                page_size=min(query.MAX_PAGE, EXPORT_ROWS - rows),
                channel=AccessChannel.EXPORT,
            )
            pages.append(page)
            rows += len(page.rows)
            if page.next_after is None:
                break
            params["after"] = page.next_after
    except CivitasError as exc:
        if isinstance(exc, Forbidden) or not choice.allowed:
            raise PermissionDenied(choice.refusal or exc.message) from exc
        messages.error(request, exc.message)
        back = urlencode({"grant": choice.grant.pk if choice.grant else ""})
        return redirect(f"{reverse('hub-data', args=[ds.code])}?{back}")
    columns = pages[0].fields if pages else []
    out = io.StringIO()
    out.write("\ufeff")  # so that spreadsheets read the file as UTF-8 (Chinese included)
    writer = csv.writer(out)
    writer.writerow([csv_cell(_("area"))] + [csv_cell(f.label) for f in columns])
    for page in pages:
        for row in page.rows:
            writer.writerow(
                [csv_cell(row.get("area"))] + [csv_cell(row.get(f.name)) for f in columns]
            )
    stamp = _local(clock.now()).strftime("%Y%m%d-%H%M")
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ds.code}-{stamp}.csv"'
    return response


# -- who used the data ---------------------------------------------------------------------


def refused(log: AccessLog) -> bool:
    """``query.read`` logs a refused attempt with the refusal's code in its query."""
    return isinstance(log.query, dict) and "refused" in log.query


REFUSAL_WORDS = {
    "no_grant": gettext_lazy("no grant in force"),
    "grant_not_in_force": gettext_lazy("the grant gives no access now"),
    "area_not_granted": gettext_lazy("an area outside the grant"),
    "field_not_granted": gettext_lazy("a filter on a field not granted"),
    "field_masked": gettext_lazy("a filter on a masked field"),
    "dataset_withdrawn": gettext_lazy("the dataset is withdrawn"),
}
QUERY_WORDS = {
    "area": gettext_lazy("area"),
    "filters": gettext_lazy("filters"),
    "after": gettext_lazy("after record"),
    "page_size": gettext_lazy("rows asked"),
}


def _query_text(log: AccessLog) -> str:
    """The query in words: area, filters, cursor, rows asked (no raw keys)."""
    q = log.query if isinstance(log.query, dict) else {}
    parts = []
    for key, word in QUERY_WORDS.items():
        value = q.get(key)
        if value in (None, "", {}):
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k} = {v}" for k, v in sorted(value.items()))
        parts.append(f"{word}: {value}")
    return " · ".join(parts)


def _refusal_text(log: AccessLog) -> str:
    code = log.query.get("refused") if isinstance(log.query, dict) else None
    return str(REFUSAL_WORDS.get(str(code), code or "")) if code else ""


def _asked_grant(log: AccessLog) -> int | None:
    """The grant a read went through, or the one a refused attempt named."""
    if log.grant_id:
        return log.grant_id
    raw = log.query.get("grant") if isinstance(log.query, dict) else None
    return raw if isinstance(raw, int) else None


@login_required
def usage(request: HttpRequest, code: str) -> HttpResponse:
    ds = _dataset(request, code, active_only=False)
    if not query.may_see_usage(request.user, ds):
        raise PermissionDenied(
            _(
                "Who used a dataset is shown to its owner unit's leaders, data stewards and "
                "administrators, and to auditors."
            )
        )
    wanted = {
        "unit": request.GET.get("unit", "").strip(),
        "since": request.GET.get("from", "").strip(),
        "until": request.GET.get("to", "").strip(),
        "refused": request.GET.get("refused", "").strip(),
    }
    error = ""
    try:
        used = query.usage(request.user, ds, {k: v for k, v in wanted.items() if v})
    except CivitasError as exc:
        error = exc.message
        wanted = dict.fromkeys(wanted, "")
        used = query.usage(request.user, ds, {})
    units = list(
        Unit.objects.filter(pk__in=AccessLog.objects.filter(dataset=ds).values("unit_id")).order_by(
            "code"
        )
    )
    page = Paginator(used.log, USAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "hub/usage.html",
        {
            "here": "hub-usage",
            "ds": ds,
            "page": page,
            "items": [
                {
                    "log": log,
                    "refused": _refusal_text(log) if refused(log) else "",
                    "query": _query_text(log),
                    "grant": _asked_grant(log),
                }
                for log in page
            ],
            "totals": used.by_unit,
            "units": units,
            "f": wanted,
            "error": error,
            "qs": params.urlencode(),
        },
        status=422 if error else 200,
    )
