"""Forms of the appeal pages. They parse input; intake and the appeal services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from civitas.appeals import intake
from civitas.appeals.models import Channel, Kind, Satisfaction
from civitas.geo import selectors as geo_selectors
from civitas.matters import selectors as matter_selectors
from civitas.matters.models import Urgency

MAX_PHOTOS = 6


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input; each is checked by intake (type by content, size)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(
                _("Send at most %(n)s photos.") % {"n": MAX_PHOTOS}, code="too_many"
            )
        return [super(PhotosField, self).clean(f, initial) for f in files]


def matter_choices(city: str) -> list[tuple[str, Any]]:
    leaves = matter_selectors.matters(catalogue=city, leaves_only=True)
    return [("", _("I don't know — let the centre decide")), *((m.code, m.name) for m in leaves)]


class AppealForm(forms.Form):
    """The resident's form; the hotline and grid forms add to it."""

    channel = Channel.WEB
    prefix_fields = ("city",)

    city = forms.ChoiceField(label=_("City"))
    kind = forms.ChoiceField(label=_("What kind of appeal is it?"), choices=Kind.choices)
    text = forms.CharField(
        label=_("What happened?"),
        max_length=intake.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Say what, where and since when. Do not write personal data of others."),
    )
    matter = forms.ChoiceField(
        label=_("Category"),
        required=False,
        help_text=_("Optional. Type to filter the list."),
    )
    address = forms.CharField(
        label=_("Address or place"),
        required=False,
        max_length=300,
        help_text=_("Street, building, landmark — or pick the point on the map."),
    )
    lat = forms.FloatField(
        label=_("Latitude"), required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.HiddenInput,
    )
    photos = PhotosField(
        label=_("Photos"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*"}),
        help_text=_("Up to 6 JPEG, PNG or WebP photos, 10 MB each. Location data is removed."),
    )
    name = forms.CharField(label=_("Your name"), required=False, max_length=120)
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    notify = forms.BooleanField(
        label=_("Tell me when my appeal moves"), required=False, initial=True
    )
    nonce = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cities = list(geo_selectors.cities())
        city_field = self.fields["city"]
        assert isinstance(city_field, forms.ChoiceField)
        city_field.choices = [(c.code, c.name) for c in cities]
        city = (self.data.get("city") if self.is_bound else None) or (
            cities[0].code if cities else ""
        )
        if len(cities) <= 1:
            city_field.widget = forms.HiddenInput()
            self.initial.setdefault("city", city)
        matter_field = self.fields["matter"]
        assert isinstance(matter_field, forms.ChoiceField)
        matter_field.choices = matter_choices(city)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError(_("Pick the point again: a coordinate is missing."))
        return data

    def contact_in(self) -> intake.ContactIn:
        d = self.cleaned_data
        return intake.ContactIn(
            name=d.get("name", ""),
            phone=d.get("phone", ""),
            email=d.get("email", ""),
            on_behalf_of=d.get("on_behalf_of", ""),
            wants_notifications=bool(d.get("notify")),
        )

    def appeal_in(self) -> intake.AppealIn:
        d = self.cleaned_data
        return intake.AppealIn(
            city=d["city"],
            text=d["text"],
            channel=self.channel,
            kind=d["kind"],
            matter_code=d.get("matter") or "",
            urgency=d.get("urgency") or "",
            lat=d.get("lat"),
            lon=d.get("lon"),
            address=d.get("address", ""),
            contact=self.contact_in(),
        )


class HotlineForm(AppealForm):
    """The hotline operator's entry of a call (channel: hotline)."""

    channel = Channel.HOTLINE

    urgency = forms.ChoiceField(
        label=_("Urgency"),
        required=False,
        choices=[("", _("Decide from the text")), *Urgency.choices],
    )
    on_behalf_of = forms.CharField(
        label=_("On behalf of"),
        required=False,
        max_length=200,
        help_text=_("When the caller speaks for someone else (a neighbour, a company...)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].label = _("Caller's name")
        self.fields["phone"].label = _("Caller's phone")
        self.fields["text"].help_text = _("What the caller says, in their words.")
        self.order_fields(
            ["city", "name", "phone", "email", "on_behalf_of", "kind", "urgency", "text"]
        )


class GridReportForm(AppealForm):
    """A grid worker's report of what they found on patrol (channel: grid)."""

    channel = Channel.GRID

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("kind", Kind.REPORT)
        self.fields["text"].label = _("What did you find?")
        for name in ("name", "phone", "email", "notify"):
            del self.fields[name]

    def contact_in(self) -> intake.ContactIn:
        return intake.ContactIn(wants_notifications=False)


class RatingForm(forms.Form):
    responded = forms.TypedChoiceField(
        label=_("Did the unit contact you or answer you?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        label=_("Is the problem solved?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    satisfaction = forms.ChoiceField(
        label=_("How satisfied are you?"), choices=Satisfaction.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Your answer"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
