"""Risk research and judgment: alerts raised by the detectors, the risk register, and social
stability risk assessments of major decisions.

An :class:`Alert` is what a detector found on one day (the numbers that made it fire, the
appeals behind it). People acknowledge, snooze or dismiss it, or make it a :class:`RiskItem`:
an owned risk with a level, measures, a deadline, reviews and a closure. Every change of an
item is a :class:`RiskEvent` (its timeline) and an entry in the audit chain.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.bilingual import in_active_language
from civitas.matters.models import Matter
from civitas.org.models import Unit


class AlertKind(models.TextChoices):
    CLUSTER = "cluster", _("Space-time cluster")
    BURST = "burst", _("Burst of reports")
    SURGE = "surge", _("Surge above the baseline")
    GROUP = "group", _("Group appeal")
    REPEAT = "repeat", _("Repeat appellant")
    HARM = "harm", _("Imminent harm")
    SPREAD = "spread", _("Spread across districts")


class AlertStatus(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    SNOOZED = "snoozed", _("Snoozed")
    DISMISSED = "dismissed", _("Dismissed")
    PROMOTED = "promoted", _("Made a risk")


# Alerts on the records of a shared dataset of the hub have the category "hub:<dataset code>".
HUB_CATEGORY_PREFIX = "hub:"


class Alert(models.Model):
    city = models.CharField(_("city"), max_length=40, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=AlertKind.choices)
    # What the detector grouped by: a matter of the catalogue (category is then its code), or a
    # free category (e.g. a TYPE of replayed data).
    matter = models.ForeignKey(
        Matter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matter"),
    )
    category = models.CharField(_("category"), max_length=200, blank=True)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("area"),
    )
    jurisdiction_path = models.CharField(max_length=400, blank=True, db_index=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    radius_m = models.FloatField(_("radius (m)"), null=True, blank=True)
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    detected_on = models.DateField(_("detected on"), db_index=True)
    detected_at = models.DateTimeField(_("detected at"), default=clock.now)
    observed = models.PositiveIntegerField(_("observed"), default=0)
    expected = models.FloatField(_("expected"), default=0.0)
    p_value = models.FloatField(_("p-value"), null=True, blank=True)
    score = models.FloatField(_("score"), default=0.0)  # LLR, z or the detector's own measure
    numbers = models.JSONField(_("why it fired"), default=dict, blank=True)
    # Deduplication: a detector finding the same thing again updates the open alert with this
    # key instead of raising a new one.
    key = models.CharField(max_length=200)
    status = models.CharField(
        _("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.NEW
    )
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    handled_by = models.CharField(_("handled by"), max_length=120, blank=True)
    handled_note = models.TextField(_("note"), blank=True)
    times_seen = models.PositiveIntegerField(_("times detected"), default=1)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    appeals: models.ManyToManyField[Appeal, AlertAppeal] = models.ManyToManyField(
        Appeal, through="AlertAppeal", related_name="risk_alerts", verbose_name=_("appeals")
    )
    risk = models.ForeignKey(
        "RiskItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("risk"),
    )

    class Meta:
        ordering = ["-detected_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["city", "key"], name="risk_alert_city_key"),
            models.Index(fields=["city", "status", "detected_on"], name="risk_alert_open"),
        ]
        constraints = [
            # One open alert per key: two workers recording one finding make one alert.
            models.UniqueConstraint(
                fields=["city", "key"],
                condition=models.Q(status__in=["new", "acknowledged", "snoozed"]),
                name="uniq_open_alert_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.category} {self.detected_on}"

    @property
    def hub_dataset_code(self) -> str:
        """The shared dataset whose records the alert is about ("" for appeals)."""
        if self.category.startswith(HUB_CATEGORY_PREFIX):
            return self.category[len(HUB_CATEGORY_PREFIX) :]
        return ""

    def category_names(self) -> tuple[str, str]:
        """The category in English and Chinese when it has names apart from its matter: a
        shared dataset's title for the hub's categories, else the category as given."""
        if self.hub_dataset_code:
            from civitas.hub.models import Dataset

            ds = (
                Dataset.objects.filter(code=self.hub_dataset_code)
                .only("title_en", "title_zh")
                .first()
            )
            if ds is not None:
                return ds.title_en, ds.title_zh
        return self.category, self.category

    @property
    def category_name(self) -> str:
        """What the alert is about in words, in the active language: the matter's name, else
        the category's (``category_names``)."""
        if self.matter is not None:
            return self.matter.name
        return in_active_language(*self.category_names())


class AlertAppeal(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="links")
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "appeal"], name="uniq_alert_appeal"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.appeal_id}"


class Level(models.TextChoices):
    """The four-colour risk levels, most serious first."""

    RED = "red", _("Red (major)")
    ORANGE = "orange", _("Orange (serious)")
    YELLOW = "yellow", _("Yellow (elevated)")
    BLUE = "blue", _("Blue (general)")


LEVEL_RANK = {Level.BLUE: 1, Level.YELLOW: 2, Level.ORANGE: 3, Level.RED: 4}


class RiskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Dealt with")
    AVERTED = "averted", _("Did not materialise")
    OCCURRED = "occurred", _("Occurred despite the measures")
    MERGED = "merged", _("Merged into another risk")


class RiskItem(models.Model):
    city = models.CharField(_("city"), max_length=40, db_index=True)
    code = models.CharField(_("code"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    level = models.CharField(_("level"), max_length=6, choices=Level.choices)
    status = models.CharField(
        _("status"), max_length=6, choices=RiskStatus.choices, default=RiskStatus.OPEN
    )
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="risks", verbose_name=_("owner unit")
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    # District codes the risk has been seen in; a new one is a spread (an escalation).
    districts = models.JSONField(_("districts"), default=list, blank=True)
    matter = models.ForeignKey(
        Matter,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matter"),
    )
    measures = models.TextField(_("measures"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    created_by = models.CharField(_("created by"), max_length=120)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    last_review_at = models.DateTimeField(_("last review"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome in words"), blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["status", "-updated_at"]
        verbose_name = _("risk")
        verbose_name_plural = _("risk register")
        indexes = [models.Index(fields=["city", "status", "level"], name="risk_item_open")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class RiskEvent(models.Model):
    """One step in a risk's life: created, level changed, measures, review, escalated, spread,
    alert linked, closed."""

    risk = models.ForeignKey(RiskItem, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("by"), max_length=120)
    action = models.CharField(_("action"), max_length=20)
    from_level = models.CharField(max_length=6, blank=True)
    to_level = models.CharField(max_length=6, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("risk event")
        verbose_name_plural = _("risk events")

    def __str__(self) -> str:
        return f"{self.risk_id} {self.action} {self.at:%Y-%m-%d}"


class StabilityLevel(models.TextChoices):
    """The resulting level of a social stability risk assessment (高/中/低)."""

    HIGH = "high", _("High: do not proceed as planned")
    MEDIUM = "medium", _("Medium: proceed only with the measures")
    LOW = "low", _("Low: proceed")


class StabilityAssessment(models.Model):
    """A social stability risk assessment (社会稳定风险评估) of a major decision or project."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        FINAL = "final", _("On record")

    city = models.CharField(_("city"), max_length=40, db_index=True)
    code = models.CharField(_("code"), max_length=32, unique=True)
    title = models.CharField(_("decision or project"), max_length=200)
    description = models.TextField(_("what is planned"))
    decision_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("deciding unit")
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    # Each dimension: a score from 1 (serious risk) to 5 (no risk) and the finding in words.
    legality = models.PositiveSmallIntegerField(_("legality"), null=True, blank=True)
    legality_note = models.TextField(_("legality: findings"), blank=True)
    reasonableness = models.PositiveSmallIntegerField(_("reasonableness"), null=True, blank=True)
    reasonableness_note = models.TextField(_("reasonableness: findings"), blank=True)
    feasibility = models.PositiveSmallIntegerField(_("feasibility"), null=True, blank=True)
    feasibility_note = models.TextField(_("feasibility: findings"), blank=True)
    controllability = models.PositiveSmallIntegerField(_("controllability"), null=True, blank=True)
    controllability_note = models.TextField(_("controllability: findings"), blank=True)
    # Public consultation input: a summary and the items (source, count, position, text).
    consultation_summary = models.TextField(_("public consultation"), blank=True)
    consultation = models.JSONField(_("consultation input"), default=list, blank=True)
    level = models.CharField(
        _("resulting level"), max_length=6, choices=StabilityLevel.choices, blank=True
    )
    # The level the stated rule gives; ``level`` differs from it only when the assessor set
    # another level, and then ``level_reason`` says why.
    computed_level = models.CharField(
        _("level by the rule"), max_length=6, choices=StabilityLevel.choices, blank=True
    )
    level_reason = models.TextField(_("reason for another level"), blank=True)
    measures = models.TextField(_("measures"), blank=True)
    state = models.CharField(_("state"), max_length=5, choices=State.choices, default=State.DRAFT)
    risk = models.ForeignKey(
        RiskItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk"),
    )
    created_by = models.CharField(_("created by"), max_length=120)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    finalised_by = models.CharField(_("put on record by"), max_length=120, blank=True)
    finalised_at = models.DateTimeField(_("put on record"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    # A record on file is never changed: redoing it starts a new draft that supersedes it.
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        verbose_name=_("supersedes"),
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("social stability risk assessment")
        verbose_name_plural = _("social stability risk assessments")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class StabilityAppeal(models.Model):
    """An appeal that concerns the assessed project, attached by its ticket."""

    assessment = models.ForeignKey(
        StabilityAssessment, on_delete=models.CASCADE, related_name="appeal_links"
    )
    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="+")
    added_by = models.CharField(_("added by"), max_length=120)
    added_at = models.DateTimeField(_("added"), default=clock.now)

    class Meta:
        ordering = ["added_at", "pk"]
        verbose_name = _("appeal concerning an assessment")
        verbose_name_plural = _("appeals concerning assessments")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "appeal"], name="uniq_stability_appeal"),
        ]

    def __str__(self) -> str:
        return f"{self.assessment_id} {self.appeal_id}"
