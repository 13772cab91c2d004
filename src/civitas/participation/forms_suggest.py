"""Forms of the suggestion and moderation pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.org.models import Unit, UnitKind
from civitas.participation.suggestions import REASON_MAX, TEXT_MAX, TITLE_MAX

# Places residents choose from: city, districts, streets, communities (not grids).
PLACE_MAX_RANK = 3


def places(city: str = "") -> QuerySet[Jurisdiction]:
    qs = Jurisdiction.objects.filter(level__rank__lte=PLACE_MAX_RANK, level__overlay=False)
    if city:
        qs = qs.filter(path__startswith=f"/{city}/")
    return qs.select_related("level").order_by("path")


class PlaceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return f"{'· ' * depth}{obj.name}"


class SuggestionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    text = forms.CharField(
        label=_("Your suggestion"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "What should change, and why. It is published under a pseudonym; do not write "
            "phone numbers or other personal data (they are hidden if you do)."
        ),
    )
    place = PlaceChoice(
        label=_("Place"),
        queryset=Jurisdiction.objects.none(),
        required=False,
        empty_label=_("Choose the place"),
        help_text=_("The community, street or district the suggestion is about."),
    )
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["place"].queryset = places()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        no_point = data.get("lat") is None or data.get("lon") is None
        if not data.get("place") and no_point and "place" not in self.errors:
            self.add_error("place", _("Choose the place, or give a point on the map."))
        return data


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AnswerForm(VersionForm):
    answer = forms.CharField(
        label=_("Public answer"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )


class CloseForm(VersionForm):
    reason = forms.CharField(
        label=_("Why it is closed"),
        max_length=REASON_MAX,
        help_text=_("For example: a duplicate of another suggestion, or outside the city's remit."),
    )


class ReassignForm(VersionForm):
    unit = forms.ModelChoiceField(
        label=_("Responsible unit"), queryset=Unit.objects.none(), empty_label=None
    )
    reason = forms.CharField(label=_("Why this unit"), max_length=REASON_MAX)

    def __init__(self, *args: Any, city: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        qs = Unit.objects.filter(
            active=True,
            kind__in=[UnitKind.GOVERNMENT, UnitKind.CENTRE, UnitKind.DEPARTMENT],
        )
        if city:
            qs = qs.filter(city=city)
        self.fields["unit"].queryset = qs.order_by("code")  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=REASON_MAX)


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with it"),
        max_length=REASON_MAX,
        help_text=_("For example: insults, personal data, advertising."),
    )
