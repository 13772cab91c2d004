"""Pages of the catalogue (/hub/…): search with facets, a dataset's page, the stewards' forms
for a dataset and its schema, and the schema's versions with what each one changed.

Plain forms: POST, then back to the page with a message. The schema editor is a table of
rows; "More rows" posts the table back with empty rows added (no script needed)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civitas.hub import catalogue, selectors
from civitas.hub.forms_catalogue import MORE_ROWS, DatasetForm, SchemaTable
from civitas.hub.models import (
    Dataset,
    Domain,
    FieldType,
    Frequency,
    KeyRole,
    Sensitivity,
    Sharing,
)
from civitas.kit.errors import CivitasError, Conflict, InvalidInput
from civitas.org import access

PAGE_SIZE = 20


def _require_browse(request: HttpRequest) -> None:
    if not access.can(request.user, "hub.browse"):
        raise PermissionDenied(_("The data catalogue is open to the staff of the city."))


def _get(request: HttpRequest, code: str) -> Dataset:
    _require_browse(request)
    try:
        return selectors.dataset_for(request.user, code)
    except CivitasError as exc:
        raise Http404(exc.message) from exc


def _require_steward(request: HttpRequest, ds: Dataset) -> None:
    if not selectors.may_manage(request.user, ds):
        raise PermissionDenied(
            _("Only the data stewards of %(unit)s change this dataset.")
            % {"unit": ds.owner_unit.name}
        )


def _head(exc: CivitasError) -> str:
    if isinstance(exc, Conflict):
        return _("Someone else changed the dataset meanwhile — reload the page and try again.")
    if isinstance(exc, InvalidInput):
        return _("Please check what you entered.")
    return _("The change was refused.")


# -- the catalogue ---------------------------------------------------------------------------


def _facet(
    request: HttpRequest, name: str, current: str, counts: dict[str, int], options: list[Any]
) -> list[dict[str, Any]]:
    """Links of one facet: each value with its count, keeping the other filters."""
    out = []
    for value, label in options:
        params = request.GET.copy()
        params.pop("page", None)
        if value == current:
            params.pop(name, None)
        else:
            params[name] = value
        out.append(
            {
                "value": value,
                "label": label,
                "count": counts.get(value, 0),
                "selected": value == current,
                "qs": params.urlencode(),
            }
        )
    return [o for o in out if o["count"] or o["selected"]]


@login_required
def catalogue_page(request: HttpRequest) -> HttpResponse:
    _require_browse(request)
    actor = request.user
    f = selectors.Filters(
        q=request.GET.get("q", "").strip()[: selectors.MAX_QUERY],
        domain=request.GET.get("domain", ""),
        sharing=request.GET.get("sharing", ""),
        owner=request.GET.get("owner", ""),
        frequency=request.GET.get("frequency", ""),
    )
    error = ""
    try:
        found = selectors.search(actor, f)
    except InvalidInput as exc:
        # A wrong filter shows the whole list and says what was wrong.
        error = exc.message
        f = selectors.Filters(q=f.q, owner=f.owner)
        found = selectors.search(actor, f)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    owners = list(selectors.owners(actor))
    facets = [
        (
            "domain",
            _("Domain"),
            _facet(
                request,
                "domain",
                f.domain,
                selectors.facet_counts(actor, f, "domain"),
                Domain.choices,
            ),
        ),
        (
            "sharing",
            _("Sharing"),
            _facet(
                request,
                "sharing",
                f.sharing,
                selectors.facet_counts(actor, f, "sharing"),
                Sharing.choices,
            ),
        ),
        (
            "owner",
            _("Owner"),
            _facet(
                request,
                "owner",
                f.owner,
                selectors.facet_counts(actor, f, "owner"),
                [(u.code, u.name) for u in owners],
            ),
        ),
        (
            "frequency",
            _("Update frequency"),
            _facet(
                request,
                "frequency",
                f.frequency,
                selectors.facet_counts(actor, f, "frequency"),
                Frequency.choices,
            ),
        ),
    ]
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "hub/catalogue.html",
        {
            "here": "hub-catalogue",
            "page": page,
            "f": f,
            "facets": facets,
            "error": error,
            "qs": params.urlencode(),
            "filtered": any(f.__dict__.values()),
            "may_create": selectors.stewarded(actor).exists(),
        },
    )


# -- one dataset -----------------------------------------------------------------------------


@login_required
def dataset_page(request: HttpRequest, code: str) -> HttpResponse:
    ds = _get(request, code)
    steward = selectors.may_manage(request.user, ds)
    return render(
        request,
        "hub/dataset.html",
        {
            "here": "hub-dataset",
            "ds": ds,
            "fields": selectors.current_fields(ds),
            "steward": steward,
        },
    )


@login_required
def dataset_new(request: HttpRequest) -> HttpResponse:
    _require_browse(request)
    if not selectors.stewarded(request.user).exists():
        raise PermissionDenied(_("Only data stewards define datasets, for their own units."))
    form = DatasetForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                ds = catalogue.create_dataset(request.user, **form.service_fields())
        except CivitasError as exc:
            form.add_error(None, _head(exc))
            form.show(exc)
        else:
            messages.success(
                request,
                _("Dataset %(code)s was created. Now describe its fields.") % {"code": ds.code},
            )
            return redirect("hub-schema-edit", code=ds.code)
    return render(
        request, "hub/dataset_form.html", {"here": "hub-dataset-new", "form": form, "ds": None}
    )


@login_required
def dataset_edit(request: HttpRequest, code: str) -> HttpResponse:
    ds = _get(request, code)
    _require_steward(request, ds)
    form = DatasetForm(
        request.POST or None, initial=DatasetForm.initial_for(ds), actor=request.user, dataset=ds
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                catalogue.update_dataset(
                    request.user, ds, version=form.cleaned_data["version"], **form.service_fields()
                )
        except CivitasError as exc:
            form.add_error(None, _head(exc))
            form.show(exc)
        else:
            messages.success(request, _("%(code)s was saved.") % {"code": ds.code})
            return redirect("hub-dataset", code=ds.code)
    return render(
        request, "hub/dataset_form.html", {"here": "hub-dataset-edit", "form": form, "ds": ds}
    )


@login_required
@require_POST
def dataset_active(request: HttpRequest, code: str) -> HttpResponse:
    """Withdraw a dataset from the catalogue (with a reason) or bring it back."""
    ds = _get(request, code)
    _require_steward(request, ds)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    reason = request.POST.get("reason", "")
    try:
        with transaction.atomic():
            if request.POST.get("active") == "1":
                catalogue.reactivate(request.user, ds, version=version, reason=reason)
                messages.success(request, _("%(code)s is back in the catalogue.") % {"code": code})
            else:
                catalogue.deactivate(request.user, ds, version=version, reason=reason)
                messages.success(
                    request,
                    _("%(code)s was withdrawn: only its stewards see it now.") % {"code": code},
                )
    except CivitasError as exc:
        messages.error(request, f"{_head(exc)} {exc.message}")
    return redirect("hub-dataset", code=code)


# -- the schema ------------------------------------------------------------------------------


@login_required
def schema_edit(request: HttpRequest, code: str) -> HttpResponse:
    ds = _get(request, code)
    _require_steward(request, ds)
    if request.method != "POST":
        table = SchemaTable.from_dataset(ds)
    else:
        table = SchemaTable.from_post(request.POST)
        if "more" in request.POST:
            table.pad(MORE_ROWS)
        else:
            try:
                with transaction.atomic():
                    before = ds.schema_id
                    saved = catalogue.save_schema(
                        request.user, ds, table.fields(), note=table.note, version=table.version
                    )
            except CivitasError as exc:
                table.top_errors.insert(0, _head(exc))
                table.show(exc)
            else:
                if saved.pk == before:
                    messages.info(
                        request,
                        _("Nothing changed: the schema stays at version %(n)d.")
                        % {"n": saved.number},
                    )
                else:
                    messages.success(
                        request,
                        _("Version %(n)d of the schema is now current.") % {"n": saved.number},
                    )
                return redirect("hub-dataset", code=ds.code)
    return render(
        request,
        "hub/schema_form.html",
        {
            "here": "hub-schema-edit",
            "ds": ds,
            "table": table,
            "types": FieldType.choices,
            "sensitivities": Sensitivity.choices,
            "key_roles": KeyRole.choices,
        },
    )


@login_required
def schema_versions(request: HttpRequest, code: str) -> HttpResponse:
    ds = _get(request, code)
    versions = selectors.schema_versions(request.user, ds)
    labels = {
        "label_en": _("label (English)"),
        "label_zh": _("label (Chinese)"),
        "type": _("type"),
        "sensitivity": _("sensitivity"),
        "key_role": _("standard key"),
        "required": _("required"),
        "max_length": _("maximum length"),
    }
    words = {
        "type": dict(FieldType.choices),
        "sensitivity": dict(Sensitivity.choices),
        "key_role": dict(KeyRole.choices),
    }

    def word(attr: str, value: Any) -> Any:
        if attr == "required":
            return _("yes") if value else _("no")
        if value in (None, ""):
            return "—"
        return words.get(attr, {}).get(value, value)

    rows = []
    for i, v in enumerate(versions):
        older = versions[i + 1] if i + 1 < len(versions) else None
        d = catalogue.diff(older, v)
        rows.append(
            {
                "v": v,
                "first": older is None,
                "added": d.added,
                "removed": d.removed,
                "changed": [
                    {
                        "name": name,
                        "changes": [
                            {"attr": labels[a], "before": word(a, b), "after": word(a, c)}
                            for a, (b, c) in attrs.items()
                        ],
                    }
                    for name, attrs in d.changed.items()
                ],
                "same": not d and older is not None,
            }
        )
    return render(
        request,
        "hub/schema_versions.html",
        {"here": "hub-schema-versions", "ds": ds, "rows": rows},
    )
