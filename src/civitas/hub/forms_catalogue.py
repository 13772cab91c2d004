"""Forms of the catalogue pages. They check the shape of the input; the rules (codes, areas,
profile fields, schemas) live in :mod:`civitas.hub.catalogue`, whose problems are put back
next to the fields they name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from civitas.geo.models import Jurisdiction
from civitas.hub import catalogue, selectors
from civitas.hub.models import (
    Dataset,
    Domain,
    FieldType,
    Frequency,
    KeyRole,
    ProfileRole,
    Sensitivity,
    Sharing,
)
from civitas.kit.errors import CivitasError

SCHEMA_ATTRS = ("name", "label_en", "label_zh", "type", "sensitivity", "key_role", "max_length")
EMPTY_ROWS = 3
MORE_ROWS = 5


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class PlaceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return f"{'· ' * depth}{obj.name}"


def areas_for(cities: set[str]) -> QuerySet[Jurisdiction]:
    """Areas a dataset may cover: the cities' trees down to streets."""
    q = Q(pk__in=[])
    for c in cities:
        q |= Q(path__startswith=f"/{c}/")
    return Jurisdiction.objects.filter(q, level__rank__lte=2).order_by("path")


class DatasetForm(forms.Form):
    owner_unit = UnitChoice(queryset=None, label=_("Owner unit"))
    code = forms.CharField(
        label=_("Code"),
        max_length=60,
        help_text=_(
            "Lowercase letters, digits and hyphens; it names the dataset in files and the API "
            "and cannot change."
        ),
    )
    title_en = forms.CharField(label=_("Title (English)"), max_length=200)
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200)
    description_en = forms.CharField(
        label=_("Description (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_zh = forms.CharField(
        label=_("Description (Chinese)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=2000,
        help_text=_("Separated by commas, in either language."),
    )
    domain = forms.ChoiceField(label=_("Domain"), choices=Domain.choices)
    frequency = forms.ChoiceField(label=_("Update frequency"), choices=Frequency.choices)
    sharing = forms.ChoiceField(
        label=_("Sharing type"),
        choices=Sharing.choices,
        widget=forms.RadioSelect,
        help_text=_("Unconditional datasets may be granted at once to government units."),
    )
    jurisdiction = PlaceChoice(
        queryset=None,
        label=_("Area covered"),
        required=False,
        empty_label=_("The owner's area"),
    )
    profile_role = forms.ChoiceField(
        label=_("In the area profile"), choices=ProfileRole.choices, required=False
    )
    profile_field = forms.CharField(
        label=_("Field summed in the profile"),
        required=False,
        max_length=60,
        help_text=_("For a population dataset: the name of the number field to add up."),
    )
    feeds_risk = forms.BooleanField(label=_("Feeds the risk detectors"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, actor: Any, dataset: Dataset | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.dataset = dataset
        owners = selectors.stewarded(actor)
        cities = set(owners.values_list("city", flat=True))
        if dataset is not None:
            del self.fields["owner_unit"]
            del self.fields["code"]
            cities = {dataset.city}
        else:
            self.fields["owner_unit"].queryset = owners  # type: ignore[attr-defined]
            del self.fields["version"]
        self.fields["jurisdiction"].queryset = areas_for(cities)  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(ds: Dataset) -> dict[str, Any]:
        return {
            "title_en": ds.title_en,
            "title_zh": ds.title_zh,
            "description_en": ds.description_en,
            "description_zh": ds.description_zh,
            "keywords": ", ".join(ds.keywords),
            "domain": ds.domain,
            "frequency": ds.frequency,
            "sharing": ds.sharing,
            "jurisdiction": ds.jurisdiction_id,
            "profile_role": ds.profile_role,
            "profile_field": ds.profile_field,
            "feeds_risk": ds.feeds_risk,
            "version": ds.version,
        }

    def service_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        out = {k: d[k] for k in catalogue.EDITABLE}
        if self.dataset is None:
            out["owner_unit"] = d["owner_unit"]
            out["code"] = d["code"]
        return out

    def show(self, exc: CivitasError) -> None:
        """Put a refusal's problems next to the fields they name."""
        put_problems(self, exc)


def put_problems(form: forms.Form, exc: CivitasError) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    items = details.get("problems") or []
    if not items:
        where = details.get("field")
        form.add_error(where if where in form.fields else None, exc.message)
        return
    for p in items:
        where = p.get("field")
        form.add_error(where if where in form.fields else None, p.get("message") or exc.message)


# -- the schema editor: a table of rows -------------------------------------------------------


@dataclass
class Row:
    """One row of the schema table as entered, with the problems found in it."""

    i: int
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    remove: bool = False

    @property
    def empty(self) -> bool:
        return not any(str(self.values.get(a) or "").strip() for a in SCHEMA_ATTRS[:3])

    @property
    def problems(self) -> list[str]:
        return [m for ms in self.errors.values() for m in ms]


@dataclass
class SchemaTable:
    rows: list[Row]
    note: str = ""
    version: int | None = None
    top_errors: list[str] = field(default_factory=list)
    # the rows given to the service, by position (to put its problems back on the right row)
    sent: list[Row] = field(default_factory=list)

    CHOICES = {
        "type": FieldType.choices,
        "sensitivity": Sensitivity.choices,
        "key_role": KeyRole.choices,
    }

    @classmethod
    def from_dataset(cls, ds: Dataset) -> SchemaTable:
        rows = [Row(i, catalogue.field_dict(f)) for i, f in enumerate(selectors.current_fields(ds))]
        table = cls(rows=rows, version=ds.version)
        table.pad(EMPTY_ROWS)
        return table

    @classmethod
    def from_post(cls, data: QueryDict) -> SchemaTable:
        try:
            count = min(int(data.get("rows", "0")), catalogue.MAX_FIELDS + MORE_ROWS)
        except ValueError:
            count = 0
        rows = []
        for i in range(max(count, 0)):
            values: dict[str, Any] = {a: data.get(f"f-{i}-{a}", "").strip() for a in SCHEMA_ATTRS}
            values["required"] = data.get(f"f-{i}-required") == "on"
            rows.append(Row(i, values, remove=data.get(f"f-{i}-remove") == "on"))
        try:
            version: int | None = int(data.get("version", ""))
        except ValueError:
            version = None
        return cls(rows=rows, note=data.get("note", "").strip(), version=version)

    def pad(self, n: int) -> None:
        start = len(self.rows)
        blank = {"type": FieldType.STRING, "sensitivity": Sensitivity.INTERNAL, "required": False}
        self.rows += [Row(start + k, dict(blank)) for k in range(n)]

    def fields(self) -> list[dict[str, Any]]:
        """The rows to save: not removed, not left empty."""
        self.sent = [r for r in self.rows if not r.remove and not r.empty]
        return [dict(r.values) for r in self.sent]

    def show(self, exc: CivitasError) -> None:
        details = exc.details if isinstance(exc.details, dict) else {}
        items = details.get("problems") or []
        if not items:
            self.top_errors.append(exc.message)
        on_rows = 0
        for p in items:
            index = p.get("index")
            if index is not None and 0 <= index < len(self.sent):
                message = p.get("detail") or p["message"]
                self.sent[index].errors.setdefault(p["field"], []).append(message)
                on_rows += 1
            else:
                self.top_errors.append(p.get("message") or exc.message)
        if on_rows:
            self.top_errors.append(
                ngettext(
                    "%(n)d problem is shown on its row.",
                    "%(n)d problems are shown on their rows.",
                    on_rows,
                )
                % {"n": on_rows}
            )
