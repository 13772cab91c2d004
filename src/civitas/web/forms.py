"""Forms of the pages. They parse and validate input; services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from civitas.geo import selectors as geo_selectors
from civitas.geo.models import Jurisdiction, Level
from civitas.matters import selectors as matter_selectors
from civitas.matters.models import Matter
from civitas.matters.vocabulary import DepartmentType
from civitas.org import selectors as org_selectors
from civitas.org.models import ResponsibilityRule, Unit


class LocateForm(forms.Form):
    lat = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)


class PlacesForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Paste an appeal or any text; places named in it are listed below."),
    )


class MatterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{'· ' * obj.depth}{obj.name} ({obj.code})"


class ResponsibilityForm(forms.Form):
    """An entry of the responsibility list. Jurisdiction and unit are given by code."""

    city = forms.ChoiceField(label=_("City"))
    matter = MatterChoiceField(
        label=_("Matter"), queryset=Matter.objects.none(), to_field_name="code"
    )
    level = forms.ModelChoiceField(
        label=_("Level"), queryset=Level.objects.none(), to_field_name="code"
    )
    jurisdiction = forms.CharField(
        label=_("Only within (jurisdiction code)"),
        required=False,
        max_length=40,
        help_text=_("Leave empty for the whole city."),
    )
    unit_type = forms.ChoiceField(
        label=_("Responsible department type"),
        required=False,
        choices=[("", "—"), *DepartmentType.choices],
    )
    unit = forms.CharField(
        label=_("Responsible unit (code)"),
        required=False,
        max_length=60,
        help_text=_("Name a department type, a unit, or both."),
    )
    city_coordinates = forms.BooleanField(label=_("Reserved to the city centre"), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    reason = forms.CharField(
        label=_("Reason for the change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the revision and in the audit log."),
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        city_field = self.fields["city"]
        assert isinstance(city_field, forms.ChoiceField)
        city_field.choices = [(c.code, c.name) for c in geo_selectors.cities()]
        matter_field = self.fields["matter"]
        assert isinstance(matter_field, forms.ModelChoiceField)
        matter_field.queryset = matter_selectors.matters()
        level_field = self.fields["level"]
        assert isinstance(level_field, forms.ModelChoiceField)
        level_field.queryset = geo_selectors.levels()

    @classmethod
    def initial_for(cls, rule: ResponsibilityRule) -> dict[str, Any]:
        return {
            "city": rule.city,
            "matter": rule.matter.code,
            "level": rule.level.code,
            "jurisdiction": rule.jurisdiction.code if rule.jurisdiction else "",
            "unit_type": rule.unit_type,
            "unit": rule.unit.code if rule.unit else "",
            "city_coordinates": rule.city_coordinates,
            "note": rule.note,
            "active": rule.active,
        }

    def clean_jurisdiction(self) -> Jurisdiction | None:
        code = self.cleaned_data.get("jurisdiction", "").strip()
        if not code:
            return None
        j = geo_selectors.get_jurisdiction(code)
        if j is None:
            raise forms.ValidationError(
                _("No jurisdiction has the code %(code)s."), params={"code": code}
            )
        return j

    def clean_unit(self) -> Unit | None:
        code = self.cleaned_data.get("unit", "").strip()
        if not code:
            return None
        unit = org_selectors.units(self.actor).filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(
                _("No unit you may see has the code %(code)s."), params={"code": code}
            )
        return unit

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "city": data["city"],
            "matter": data["matter"],
            "level": data["level"],
            "jurisdiction": data["jurisdiction"],
            "unit_type": data["unit_type"],
            "unit": data["unit"],
            "city_coordinates": data["city_coordinates"],
            "note": data["note"],
            "active": data["active"],
            "reason": data["reason"],
        }
