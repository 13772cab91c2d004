"""Forms of the mediation pages. They parse and check input; the services decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.mediation.models import (
    Channel,
    DisputeType,
    FollowUp,
    Outcome,
    Party,
    RiskLevel,
    Session,
    Status,
    Tier,
)
from civitas.org.models import User

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# Channels a dispute may be referred out to (the others are mediation itself).
REFER_OUT = [
    (c.value, c.label) for c in (Channel.COURT, Channel.PETITION, Channel.LABOUR_ARBITRATION)
]


def place_choices(places: list[Jurisdiction], blank: Any = "") -> list[tuple[str, Any]]:
    """Places indented by depth, so the tree reads in a plain select."""
    out: list[tuple[str, Any]] = [("", blank or _("— choose —"))]
    for j in places:
        depth = max(j.path.strip("/").count("/"), 0)
        out.append((j.code, "\u00a0\u00a0" * depth + str(j.name)))
    return out


class PlaceField(forms.ChoiceField):
    """A jurisdiction by code, among the places given to the form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.places: dict[str, Jurisdiction] = {}

    def set_places(self, places: list[Jurisdiction]) -> None:
        self.places = {j.code: j for j in places}
        self.choices = place_choices(places)

    def clean(self, value: Any) -> Any:
        code = super().clean(value)
        return self.places.get(code) if code else None


class DisputeForm(forms.Form):
    """What the dispute is about and where (the parties are a formset beside it)."""

    title = forms.CharField(label=_("Short title"), max_length=200)
    type = forms.ChoiceField(label=_("Type of dispute"), choices=DisputeType.choices)
    summary = forms.CharField(
        label=_("What the dispute is about"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
    )
    amount = forms.DecimalField(
        label=_("Amount at stake (yuan)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    people_involved = forms.IntegerField(
        label=_("People involved"), min_value=1, max_value=100000, initial=2
    )
    risk_level = forms.ChoiceField(
        label=_("Risk level"), choices=RiskLevel.choices, initial=RiskLevel.LOW
    )
    jurisdiction = PlaceField(
        label=_("Place"),
        required=False,
        help_text=_("The community or street where it happens, or pick the point on the map."),
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)

    def __init__(self, *args: Any, places: list[Jurisdiction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["jurisdiction"]
        assert isinstance(field, PlaceField)
        field.set_places(places)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise forms.ValidationError(_("Pick the point again: a coordinate is missing."))
        if not data.get("jurisdiction") and data.get("lat") is None and not data.get("address"):
            self.add_error(
                "jurisdiction", _("Choose the place, pick the point on the map or give an address.")
            )
        return data


class PartyForm(forms.Form):
    side = forms.ChoiceField(
        label=_("Side"), choices=Party.Side.choices, initial=Party.Side.APPLICANT
    )
    kind = forms.ChoiceField(
        label=_("Person or organisation"), choices=Party.Kind.choices, initial=Party.Kind.PERSON
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=300)
    jurisdiction = PlaceField(label=_("Where the party lives or is based"), required=False)

    def __init__(self, *args: Any, places: list[Jurisdiction], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["jurisdiction"]
        assert isinstance(field, PlaceField)
        field.set_places(places)


class BasePartyFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        filled = [f for f in self.forms if f.has_changed() and f.cleaned_data]
        if not filled:
            raise forms.ValidationError(_("Name at least one party."))


def party_formset(
    data: Any = None, *, places: list[Jurisdiction], rows: int = 3, initial: Any = None
) -> Any:
    kind = forms.formset_factory(
        PartyForm, formset=BasePartyFormSet, extra=rows, max_num=20, validate_max=True
    )
    return kind(data, prefix="p", initial=initial, form_kwargs={"places": places})


class FilterForm(forms.Form):
    """The list's filters (GET). Bad values are dropped with an error, never a 500."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open")), ("all", _("All")), *Status.choices],
    )
    tier = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("All")), *Tier.choices]
    )
    type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All")), *DisputeType.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )
    overdue = forms.BooleanField(label=_("Deadline passed"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    view = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[("mine", _("My queue")), ("area", _("All in my area"))],
    )


# -- actions on a dispute ------------------------------------------------------------------


class VersionedForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class NoteForm(VersionedForm):
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class ReasonForm(VersionedForm):
    note = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class AssignForm(VersionedForm):
    mediator = forms.ModelChoiceField(label=_("Lead mediator"), queryset=User.objects.none())

    def __init__(self, *args: Any, mediators: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["mediator"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in mediators]).order_by("pk")


class ScheduleForm(VersionedForm):
    scheduled_at = forms.DateTimeField(label=_("Time"), widget=DATETIME_INPUT)
    place = forms.CharField(label=_("Place"), max_length=200)
    mediators = forms.ModelMultipleChoiceField(
        label=_("Mediators"), queryset=User.objects.none(), required=False
    )
    attendees = forms.CharField(
        label=_("Who is invited"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    def __init__(self, *args: Any, mediators: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["mediators"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in mediators]).order_by("pk")

    def clean_scheduled_at(self) -> datetime:
        value: datetime = self.cleaned_data["scheduled_at"]
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
        return value


class SessionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        at = obj.scheduled_at.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M")
        return str(_("No. %(n)s, %(at)s") % {"n": obj.number, "at": at})


class SessionResultForm(VersionedForm):
    session = SessionChoiceField(
        label=_("Session"), queryset=Session.objects.none(), empty_label=None
    )
    result = forms.ChoiceField(
        label=_("Result"), choices=[c for c in Session.Result.choices if c[0]]
    )
    attendees = forms.CharField(
        label=_("Who came"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )
    minutes = forms.CharField(
        label=_("Minutes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=20000,
        help_text=_("Needed when the session was held."),
    )

    def __init__(self, *args: Any, sessions: list[Session], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["session"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Session.objects.filter(pk__in=[s.pk for s in sessions]).order_by("number")


class AgreementForm(VersionedForm):
    facts = forms.CharField(
        label=_("Facts and the dispute"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    terms = forms.CharField(
        label=_("Terms agreed"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    amount = forms.DecimalField(
        label=_("Amount agreed (yuan)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )
    perform_by = forms.DateField(label=_("To be performed by"), required=False, widget=DATE_INPUT)
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE_INPUT)


class FollowUpForm(VersionedForm):
    method = forms.ChoiceField(label=_("How"), choices=FollowUp.Method.choices)
    kept = forms.TypedChoiceField(
        label=_("Is the agreement kept?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("What the visit found"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    then = forms.ChoiceField(
        label=_("If it is not kept"),
        choices=[
            ("mediate", _("Mediate again at this level")),
            ("escalate", _("Pass it to the level above")),
        ],
        initial="mediate",
        help_text=_("A kept agreement closes the dispute as resolved."),
    )


class RiskForm(VersionedForm):
    level = forms.ChoiceField(label=_("Risk level"), choices=RiskLevel.choices)
    note = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class ReferOutForm(VersionedForm):
    channel = forms.ChoiceField(label=_("Refer to"), choices=REFER_OUT)
    note = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class CloseForm(VersionedForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(
        label=_("How it ended"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text=_("Needed unless a referred dispute closes as referred."),
    )
