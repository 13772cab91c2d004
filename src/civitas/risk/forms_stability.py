"""Forms of the stability assessment pages. They check the shape of the input; the rules
(scores, counts, the level, who may write) live in :mod:`civitas.risk.stability`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.org import access
from civitas.org.models import Unit
from civitas.risk import stability
from civitas.risk.models import Level, StabilityAssessment, StabilityLevel

SCORE_CHOICES = [("", _("not scored yet"))] + [
    (str(n), label)
    for n, label in (
        (1, _("1 – serious risk")),
        (2, _("2 – considerable risk")),
        (3, _("3 – some risk")),
        (4, _("4 – slight risk")),
        (5, _("5 – no risk")),
    )
]
LEVEL_CHOICES = [("", _("By the rule"))] + [
    (v, stability.SHORT_LEVELS[StabilityLevel(v)]) for v in StabilityLevel.values
]


def places(actor: Any) -> QuerySet[Jurisdiction]:
    """The places the actor may write assessments for: their subtrees (everything for a
    superuser), down to streets (communities are too fine for a major decision)."""
    scope = access.scope_of(actor)
    qs = Jurisdiction.objects.select_related("level").order_by("path")
    if not scope.everything:
        q = Q(pk__in=[])
        for p in scope.paths:
            q |= Q(path__startswith=p)
        unit_places = Unit.objects.filter(pk__in=scope.unit_ids).values_list(
            "jurisdiction_id", flat=True
        )
        qs = qs.filter(q | Q(pk__in=list(unit_places)))
    return qs.filter(level__rank__lte=2)


def units(actor: Any) -> QuerySet[Unit]:
    """Deciding units: active units the actor may read."""
    return access.readable(actor, Unit.objects.filter(active=True)).order_by("code")


class PlaceChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(obj.path.count("/") - 2, 0)
        return f"{'· ' * depth}{obj.name}"


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.code})"


def _text(label: Any, rows: int = 4, required: bool = False, **kw: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
        **kw,
    )


class AssessmentForm(forms.Form):
    title = forms.CharField(label=_("Decision or project"), max_length=200)
    description = _text(_("What is planned"), rows=4, required=True)
    jurisdiction = PlaceChoice(queryset=Jurisdiction.objects.none(), label=_("Area"))
    decision_unit = UnitChoice(queryset=Unit.objects.none(), label=_("Deciding unit"))
    legality = forms.ChoiceField(label=_("Legality: score"), choices=SCORE_CHOICES, required=False)
    legality_note = _text(
        _("Legality: findings"), help_text=stability.DIMENSION_QUESTIONS["legality"]
    )
    reasonableness = forms.ChoiceField(
        label=_("Reasonableness: score"), choices=SCORE_CHOICES, required=False
    )
    reasonableness_note = _text(
        _("Reasonableness: findings"), help_text=stability.DIMENSION_QUESTIONS["reasonableness"]
    )
    feasibility = forms.ChoiceField(
        label=_("Feasibility: score"), choices=SCORE_CHOICES, required=False
    )
    feasibility_note = _text(
        _("Feasibility: findings"), help_text=stability.DIMENSION_QUESTIONS["feasibility"]
    )
    controllability = forms.ChoiceField(
        label=_("Controllability: score"), choices=SCORE_CHOICES, required=False
    )
    controllability_note = _text(
        _("Controllability: findings"), help_text=stability.DIMENSION_QUESTIONS["controllability"]
    )
    consultation_summary = _text(
        _("Public consultation: summary"),
        help_text=_("How the public was consulted and what it said, in a few sentences."),
    )
    measures = _text(
        _("Measures"),
        rows=5,
        help_text=_(
            "How the risks will be prevented and resolved, and who does what. Required for a "
            "medium or high level."
        ),
    )
    set_level = forms.ChoiceField(
        label=_("Resulting level"),
        choices=LEVEL_CHOICES,
        required=False,
        help_text=_("Leave it to the rule, or set another level and say why."),
    )
    level_reason = _text(_("Reason for another level"), rows=3)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self, *args: Any, actor: Any, current: StabilityAssessment | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        jurisdiction = self.fields["jurisdiction"]
        unit = self.fields["decision_unit"]
        assert isinstance(jurisdiction, forms.ModelChoiceField)
        assert isinstance(unit, forms.ModelChoiceField)
        # A deciding unit's leader may write its draft without the area being theirs: the
        # draft's own place and unit stay choosable.
        keep_place = Q(pk=current.jurisdiction_id) if current else Q(pk__in=[])
        keep_unit = Q(pk=current.decision_unit_id) if current else Q(pk__in=[])
        jurisdiction.queryset = (
            Jurisdiction.objects.select_related("level")
            .filter(Q(pk__in=places(actor).values("pk")) | keep_place)
            .order_by("path")
        )
        unit.queryset = Unit.objects.filter(
            Q(pk__in=units(actor).values("pk")) | keep_unit
        ).order_by("code")

    @classmethod
    def initial_for(cls, a: StabilityAssessment) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(a, name) for name in stability.EDITABLE if hasattr(a, name)
        }
        for d in stability.DIMENSIONS:
            value = getattr(a, d)
            initial[d] = "" if value is None else str(value)
        initial["set_level"] = a.level if a.level_reason else ""
        initial["level_reason"] = a.level_reason
        initial["version"] = a.version
        return initial

    def service_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in stability.EDITABLE}


class ConsultationForm(forms.Form):
    source = forms.ChoiceField(label=_("Source"), choices=stability.Source.choices)
    held_on = forms.DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    participants = forms.IntegerField(
        label=_("Participants"), min_value=1, max_value=stability.MAX_COUNT
    )
    in_favour = forms.IntegerField(
        label=_("For"), min_value=0, max_value=stability.MAX_COUNT, initial=0
    )
    against = forms.IntegerField(
        label=_("Against"), min_value=0, max_value=stability.MAX_COUNT, initial=0
    )
    neutral = forms.IntegerField(
        label=_("Neutral"), min_value=0, max_value=stability.MAX_COUNT, initial=0
    )
    concerns = _text(_("Key concerns"), rows=3, max_length=stability.MAX_CONCERNS)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "c")
        super().__init__(*args, **kwargs)

    def item(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "source": d["source"],
            "held_on": d["held_on"].isoformat() if d["held_on"] else "",
            "participants": d["participants"],
            "for": d["in_favour"] or 0,
            "against": d["against"] or 0,
            "neutral": d["neutral"] or 0,
            "concerns": d["concerns"],
        }


class AppealForm(forms.Form):
    ticket = forms.CharField(label=_("Ticket"), max_length=32)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "ap")
        super().__init__(*args, **kwargs)


RISK_LEVEL_FOR = {StabilityLevel.HIGH: Level.ORANGE, StabilityLevel.MEDIUM: Level.YELLOW}


class OpenRiskForm(forms.Form):
    level = forms.ChoiceField(label=_("Risk level"), choices=Level.choices)
    owner_unit = UnitChoice(queryset=Unit.objects.none(), label=_("Owner unit"))
    deadline = forms.DateField(
        label=_("Deadline"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "risk")
        super().__init__(*args, **kwargs)
        owner = self.fields["owner_unit"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = units(actor)

    @classmethod
    def initial_for(cls, a: StabilityAssessment) -> dict[str, Any]:
        return {
            "level": RISK_LEVEL_FOR.get(StabilityLevel(a.level), Level.YELLOW)
            if a.level
            else Level.YELLOW,
            "owner_unit": a.decision_unit_id,
            "deadline": clock.today() + timedelta(days=30),
            "version": a.version,
        }


class LinkRiskForm(forms.Form):
    risk = forms.CharField(label=_("Risk code"), max_length=32)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "link")
        super().__init__(*args, **kwargs)
