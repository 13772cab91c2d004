"""Forms of the hub's access pages. They check the shape of the input; the rules (which
fields exist, the area, the expiry, who may ask or decide) live in :mod:`civitas.hub.grants`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.hub.models import Dataset, Field, Sensitivity
from civitas.kit import clock
from civitas.org.models import Unit

# How many places the area select lists at most (a city's grids can run into thousands).
MAX_AREAS = 800
DEFAULT_GRANT_DAYS = 365
CLEAR_SENSITIVITIES = frozenset({Sensitivity.SENSITIVE, Sensitivity.SECRET})


def schema_fields(dataset: Dataset) -> list[Field]:
    """The fields of the dataset's current schema, in order (none before the first schema)."""
    if dataset.schema_id is None:
        return []
    return list(Field.objects.filter(schema_id=dataset.schema_id).order_by("position"))


def areas_inside(path: str) -> list[Jurisdiction]:
    """The places inside a subtree in tree order, with their levels. A subtree too large for
    a select (a city's grids) is cut at the deepest depth that keeps it under MAX_AREAS, so
    every district and street is there rather than the first grids in code order."""
    inside = Jurisdiction.objects.filter(path__startswith=path)
    by_depth = dict(
        inside.order_by().values_list("depth").annotate(n=Count("pk")).values_list("depth", "n")
    )
    deepest, total = None, 0
    for depth in sorted(by_depth):
        if total + by_depth[depth] > MAX_AREAS:
            break
        deepest, total = depth, total + by_depth[depth]
    if deepest is None:
        return []
    return list(inside.filter(depth__lte=deepest).select_related("level").order_by("path"))


def area_label(j: Jurisdiction) -> str:
    """A place in a select: indented by depth, with its level."""
    return f"{'· ' * j.depth}{j.name} ({j.level.name})"


def end_of_day(d: date) -> datetime:
    """A date in the city's time zone read as the end of that day."""
    return datetime.combine(d, time(23, 59, 59), tzinfo=ZoneInfo(settings.TIME_ZONE))


class GrantRequestForm(forms.Form):
    consumer = forms.TypedChoiceField(label=_("For the unit"), coerce=int)
    columns = forms.MultipleChoiceField(
        label=_("Fields"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one field.")},
    )
    clear_fields = forms.MultipleChoiceField(
        label=_("Clear values"), required=False, widget=forms.CheckboxSelectMultiple
    )
    area = forms.ChoiceField(label=_("Area"), required=False)
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the data is for; readers see it beside every read."),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The law, regulation or document that allows your unit to use this data."),
    )
    expires_at = forms.DateField(
        label=_("Expires on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The grant stops working at the end of this day."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        dataset: Dataset,
        units: list[Unit],
        fields: list[Field],
        areas: list[Jurisdiction],
    ) -> None:
        super().__init__(data)
        self.dataset = dataset
        self.units = units
        self.schema = fields
        self.areas = areas
        self.consumer_choices = [(u.pk, u.name) for u in units]
        self.area_choices = [("", str(_("The whole area of the dataset")))] + [
            (j.code, area_label(j)) for j in areas if j.pk != dataset.jurisdiction_id
        ]
        self._choices("consumer", self.consumer_choices)
        if len(units) == 1:
            self.fields["consumer"].initial = units[0].pk
        self._choices("columns", [(f.name, f.label) for f in fields])
        self._choices(
            "clear_fields",
            [(f.name, f.label) for f in fields if f.sensitivity in CLEAR_SENSITIVITIES],
        )
        self._choices("area", self.area_choices)
        self.fields["expires_at"].initial = clock.today() + timedelta(days=DEFAULT_GRANT_DAYS)

    def _choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = set(cleaned.get("columns") or [])
        clear = cleaned.get("clear_fields") or []
        outside = [name for name in clear if name not in chosen]
        if outside:
            self.add_error(
                "clear_fields",
                _("A clear value can only be asked for a field you ask for: %(names)s.")
                % {"names": ", ".join(outside)},
            )
        expires = cleaned.get("expires_at")
        if expires is not None and expires <= clock.today():
            self.add_error("expires_at", _("Choose a day after today."))
        return cleaned

    def chosen_unit(self) -> Unit:
        pk = self.cleaned_data["consumer"]
        return next(u for u in self.units if u.pk == pk)

    def chosen_area(self) -> Jurisdiction | None:
        code = self.cleaned_data.get("area") or ""
        return next((j for j in self.areas if j.code == code), None)

    def service_fields(self) -> dict[str, Any]:
        """The keyword arguments of ``grants.request_grant``."""
        order = [f.name for f in self.schema]
        chosen = set(self.cleaned_data["columns"])
        clear = set(self.cleaned_data.get("clear_fields") or [])
        return {
            "consumer": self.chosen_unit(),
            "fields": [n for n in order if n in chosen],
            "clear_fields": [n for n in order if n in clear],
            "area": self.chosen_area(),
            "purpose": self.cleaned_data["purpose"].strip(),
            "legal_basis": self.cleaned_data["legal_basis"].strip(),
            "expires_at": end_of_day(self.cleaned_data["expires_at"]),
        }

    def checked(self, name: str) -> set[str]:
        """The values of a checkbox list as submitted (or none on a fresh form)."""
        if not self.is_bound:
            return set()
        return {str(v) for v in self.data.getlist(name)}  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    """Approve (an optional note), refuse or revoke (a reason), withdraw (nothing)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(required=False, max_length=2000)

    def __init__(self, data: Any = None, *, needs_reason: bool) -> None:
        super().__init__(data)
        self.needs_reason = needs_reason

    def clean_text(self) -> str:
        text = str(self.cleaned_data.get("text") or "").strip()
        if self.needs_reason and not text:
            raise forms.ValidationError(_("Give the reason: the other unit reads it."))
        return text
