"""Forms of the task, organisation and participant pages: they parse; the services decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.org.models import Unit
from civitas.participation.models import Offer, Organisation, OrgKind, Task
from civitas.participation.orgs import DESCRIPTION_MAX as ORG_DESCRIPTION_MAX
from civitas.participation.volunteering import DESCRIPTION_MAX

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
MAX_PLACES = 400


def places_under(paths: list[str], *, communities_only: bool = False) -> list[Jurisdiction]:
    """Places (no grids) inside the given subtrees, in tree order."""
    out: dict[int, Jurisdiction] = {}
    for p in paths:
        qs = Jurisdiction.objects.filter(path__startswith=p).exclude(level__code="grid")
        if communities_only:
            qs = qs.filter(level__code="community")
        for j in qs.order_by("path")[:MAX_PLACES]:
            out[j.pk] = j
    return sorted(out.values(), key=lambda j: j.path)


class PlaceField(forms.ChoiceField):
    """A jurisdiction by code, among the places given to the form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places: dict[str, Jurisdiction] = {}

    def set_places(self, places: list[Jurisdiction]) -> None:
        self.places = {j.code: j for j in places}
        choices: list[tuple[str, str]] = [("", str(_("— choose —")))]
        for j in places:
            depth = max(j.path.strip("/").count("/") - 1, 0)
            choices.append((j.code, "\u00a0\u00a0" * depth + str(j.name)))
        self.choices = choices

    def clean(self, value: Any) -> Any:
        code = super().clean(value)
        return self.places.get(code) if code else None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


class TaskForm(forms.Form):
    publisher = forms.ChoiceField(label=_("Published by"))
    jurisdiction = PlaceField(label=_("Area"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Task.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("What is needed"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=DESCRIPTION_MAX,
        help_text=_("Shown to the public: no names, phone numbers or house numbers."),
    )
    place = forms.CharField(
        label=_("Where (meeting point)"),
        max_length=200,
        required=False,
        help_text=_("Shown to the public: a street or a landmark, not a home address."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=_("Ends"), widget=DATETIME_INPUT)
    slots = forms.IntegerField(label=_("People or teams needed"), min_value=1, max_value=500)
    hours_expected = forms.DecimalField(
        label=_("Hours expected"), required=False, min_value=0, max_digits=6, decimal_places=1
    )
    appeal = forms.CharField(label=_("Arising from appeal (ticket)"), max_length=32, required=False)
    source_ref = forms.CharField(
        label=_("Arising from (a dispute code, say)"), max_length=60, required=False
    )

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = {str(u.pk): u for u in units}
        publisher = self.fields["publisher"]
        assert isinstance(publisher, forms.ChoiceField)
        publisher.choices = [(str(u.pk), str(u.name)) for u in units]
        area = self.fields["jurisdiction"]
        assert isinstance(area, PlaceField)
        area.set_places(places_under([u.jurisdiction.path for u in units]))

    def clean_publisher(self) -> Unit:
        return self.units[self.cleaned_data["publisher"]]

    def clean_starts_at(self) -> datetime | None:
        return _aware(self.cleaned_data.get("starts_at"))

    def clean_ends_at(self) -> datetime | None:
        return _aware(self.cleaned_data.get("ends_at"))


class OrgForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgKind.choices)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    jurisdiction = PlaceField(label=_("Area"))
    offers = forms.MultipleChoiceField(
        label=_("What it can offer"),
        choices=Offer.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=ORG_DESCRIPTION_MAX,
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"), max_length=30, required=False
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=120, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)

    def __init__(self, *args: Any, places: list[Jurisdiction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["jurisdiction"]
        assert isinstance(area, PlaceField)
        area.set_places(places)


class ReportForm(forms.Form):
    home = PlaceField(label=_("Community where you live"))
    is_volunteer = forms.BooleanField(label=_("I volunteer"), required=False, initial=True)
    is_party_member = forms.BooleanField(label=_("I am a party member"), required=False)
    organisation = forms.ChoiceField(label=_("My organisation"), required=False)
    skills = forms.MultipleChoiceField(
        label=_("What I can offer"),
        choices=Offer.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(
        self, *args: Any, places: list[Jurisdiction], orgs: list[Organisation], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        home = self.fields["home"]
        assert isinstance(home, PlaceField)
        home.set_places(places)
        self.orgs = {o.code: o for o in orgs}
        own = self.fields["organisation"]
        assert isinstance(own, forms.ChoiceField)
        own.choices = [("", _("— none —"))] + [(o.code, str(o.name)) for o in orgs]

    def clean_organisation(self) -> Organisation | None:
        code = self.cleaned_data.get("organisation")
        return self.orgs.get(code) if code else None
