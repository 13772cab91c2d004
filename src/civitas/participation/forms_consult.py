"""Forms of the consultation pages. They check the shape of the input; the rules (who may,
when, the area inside the place, the documents' types) live in
:mod:`civitas.participation.consultations`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.org.models import Unit
from civitas.participation import selectors_consult as sel
from civitas.participation.models import Position
from civitas.risk.models import StabilityAssessment

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class PlaceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return f"{'· ' * depth}{obj.name}"


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


class AssessmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.title}"


def _in_a_month() -> str:
    return timezone.localtime(clock.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")


class ConsultationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("The plan or decision"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What is planned, why, when, and what residents are asked about."),
    )
    unit = UnitChoice(label=_("Consulting unit"), queryset=Unit.objects.none())
    jurisdiction = PlaceChoice(label=_("Area"), queryset=Jurisdiction.objects.none())
    area = forms.CharField(
        label=_("Area on the map (GeoJSON polygon, optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            'A GeoJSON Polygon (longitude, latitude) inside the area, e.g. {"type": '
            '"Polygon", "coordinates": [[[116.39, 39.90], ...]]}. Leave empty for the whole '
            "area."
        ),
    )
    closes_at = forms.DateTimeField(
        label=_("Comments close"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    assessment = AssessmentChoice(
        label=_("Social stability risk assessment it feeds (optional)"),
        queryset=StabilityAssessment.objects.none(),
        required=False,
    )
    document = forms.FileField(
        label=_("Document (optional)"),
        required=False,
        help_text=_("PDF, office documents or pictures; add more from the consultation's page."),
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"closes_at": _in_a_month()})
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = sel.units_for(actor)  # type: ignore[attr-defined]
        self.fields["jurisdiction"].queryset = sel.places_for(actor)  # type: ignore[attr-defined]
        self.fields["assessment"].queryset = sel.assessments_for(actor)  # type: ignore[attr-defined]


class DocumentForm(forms.Form):
    document = forms.FileField(label=_("Document"))
    name = forms.CharField(label=_("Name shown"), max_length=200, required=False)


class CommentForm(forms.Form):
    position = forms.ChoiceField(
        label=_("Your position"), choices=Position.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=_("Your comment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Shown publicly under a pseudonym. Do not write phone numbers or other personal "
            "details: they are masked."
        ),
    )


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class ExtendForm(VersionedForm):
    closes_at = forms.DateTimeField(
        label=_("New closing date"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    reason = forms.CharField(label=_("Why it is extended"), max_length=500)


class CloseForm(VersionedForm):
    reason = forms.CharField(label=_("Why it closes early"), max_length=500, required=False)


class AnswerForm(VersionedForm):
    answer = forms.CharField(label=_("The public answer"), widget=forms.Textarea(attrs={"rows": 6}))
    changes = forms.CharField(
        label=_("What was changed"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_('What the plan changes after the comments ("nothing", and why, if so).'),
    )


class LinkForm(VersionedForm):
    assessment = AssessmentChoice(
        label=_("Social stability risk assessment"),
        queryset=StabilityAssessment.objects.none(),
        required=False,
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assessment"].queryset = sel.assessments_for(actor)  # type: ignore[attr-defined]
