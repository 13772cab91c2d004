"""Disputes mediated at the lowest capable level (矛盾纠纷多元化解).

A :class:`Dispute` is registered at a mediation body, referred from an appeal (which keeps its
history) or entered by a grid worker. Its :class:`Party` rows hold names and contacts that
only the people handling the dispute may see. The dispute is handled in :class:`Stage` rows:
one per level it passes through (community mediation committee, street, district centre, city)
with the unit, the channel and the deadline of that stage; a failed stage or a passed deadline
moves the dispute up. Meetings are :class:`Session` rows, the written settlement an
:class:`Agreement`, later checks :class:`FollowUp` visits, and every change an :class:`Event`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.crypto import EncryptedCharField
from civitas.org.models import Unit, User


class DisputeType(models.TextChoices):
    NEIGHBOUR = "neighbour", _("Neighbours")
    FAMILY = "family", _("Family and marriage")
    LABOUR = "labour", _("Labour and wages")
    PROPERTY = "property", _("Property management")
    LAND = "land", _("Land and housing")
    CONSUMER = "consumer", _("Consumer")
    MEDICAL = "medical", _("Medical")
    TRAFFIC = "traffic", _("Traffic accident")
    OTHER = "other", _("Other")


class Tier(models.TextChoices):
    """The levels a dispute can be handled at, lowest first."""

    COMMUNITY = "community", _("Community mediation committee")
    STREET = "street", _("Street mediation")
    DISTRICT = "district", _("District mediation centre")
    CITY = "city", _("City coordination")


TIER_RANK = {Tier.COMMUNITY: 0, Tier.STREET: 1, Tier.DISTRICT: 2, Tier.CITY: 3}


class Channel(models.TextChoices):
    """The ways of resolving a dispute that a mediation centre puts under one roof."""

    PEOPLES = "peoples", _("People's mediation")
    ADMINISTRATIVE = "administrative", _("Administrative mediation")
    LABOUR_ARBITRATION = "labour_arbitration", _("Labour arbitration")
    COURT = "court", _("Referral to court")
    PETITION = "petition", _("Referral to the petition office")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


RISK_RANK = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class Source(models.TextChoices):
    WALK_IN = "walk_in", _("Registered at a mediation body")
    APPEAL = "appeal", _("Referred from an appeal")
    GRID = "grid", _("Entered by a grid worker")
    HOTLINE = "hotline", _("Hotline")


class Status(models.TextChoices):
    REGISTERED = "registered", _("Registered, awaiting acceptance")
    ACCEPTED = "accepted", _("Accepted")
    MEDIATING = "mediating", _("In mediation")
    AGREED = "agreed", _("Agreement reached, follow-up pending")
    REFERRED = "referred", _("Referred to another channel")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = frozenset({Status.REGISTERED, Status.ACCEPTED, Status.MEDIATING, Status.AGREED})


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved by agreement")
    REFERRED = "referred", _("Referred (court, arbitration or petition)")
    WITHDRAWN = "withdrawn", _("Withdrawn by the parties")
    UNRESOLVED = "unresolved", _("Not resolved")


class Dispute(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("what the dispute is about"))
    type = models.CharField(_("type"), max_length=12, choices=DisputeType.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    amount = models.DecimalField(
        _("amount at stake (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    people_involved = models.PositiveIntegerField(_("people involved"), default=2)
    risk_level = models.CharField(
        _("risk level"), max_length=6, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("place")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True, editable=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    # District codes of the parties' places; more than one means the city coordinates.
    districts = models.JSONField(_("districts of the parties"), default=list, blank=True)
    cross_district = models.BooleanField(_("parties in different districts"), default=False)
    # The stage now: level, channel and the unit handling it (a copy of the open Stage).
    tier = models.CharField(_("level"), max_length=10, choices=Tier.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("handled by")
    )
    lead_mediator = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lead mediator"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome in words"), blank=True)
    appeal = models.ForeignKey(
        Appeal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("referred from appeal"),
    )
    registered_by = models.CharField(_("registered by"), max_length=120)
    registered_by_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), default=clock.now, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    due_at = models.DateTimeField(_("deadline"), null=True, blank=True, db_index=True)
    agreed_at = models.DateTimeField(_("agreed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    escalation_count = models.PositiveSmallIntegerField(_("times escalated"), default=0)
    # The risk register entry opened when the dispute's risk became high (civitas.risk).
    risk = models.ForeignKey(
        "risk.RiskItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk"),
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    # Retention (civitas.mediation.retention): when personal data was removed, and a hold that
    # keeps a dispute as it is (litigation, a petition) however old it is.
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = models.CharField(_("why held"), max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.UniqueConstraint(
                fields=["appeal"],
                condition=models.Q(appeal__isnull=False),
                name="uniq_dispute_per_appeal",
            ),
        ]
        indexes = [
            models.Index(fields=["city", "status"]),
            models.Index(fields=["unit", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Party(models.Model):
    """One side of the dispute. Names and contacts are shown only to those handling it."""

    class Side(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        RESPONDENT = "respondent", _("Respondent")
        THIRD = "third", _("Third party")

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="parties")
    side = models.CharField(_("side"), max_length=10, choices=Side.choices)
    kind = models.CharField(_("person or organisation"), max_length=12, choices=Kind.choices)
    # Encrypted at rest (civitas.kit.crypto). The credit code is an organisation's public
    # registration number, checked and shown with the name: plain.
    name = EncryptedCharField(_("name"), max_length=200)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    address = EncryptedCharField(_("address"), max_length=300, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    representative = EncryptedCharField(_("representative"), max_length=120, blank=True)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("where the party lives or is based"),
    )

    class Meta:
        ordering = ["dispute", "side", "pk"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.side}"


class Stage(models.Model):
    """A dispute's time at one level: the unit, the channel, the deadline and how it ended."""

    class Result(models.TextChoices):
        OPEN = "", _("Open")
        AGREED = "agreed", _("Agreement reached")
        FAILED = "failed", _("Mediation failed")
        OVERDUE = "overdue", _("Deadline passed")
        RISK = "risk", _("Risk rose")
        REFERRED = "referred", _("Referred to another channel")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        CLOSED = "closed", _("Closed")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="stages")
    tier = models.CharField(_("level"), max_length=10, choices=Tier.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("handled by")
    )
    reasons = models.JSONField(_("why this level"), default=list, blank=True)
    started_at = models.DateTimeField(_("started"), default=clock.now)
    due_at = models.DateTimeField(_("deadline"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, blank=True)

    class Meta:
        ordering = ["dispute", "started_at", "pk"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(
                fields=["dispute"], condition=models.Q(ended_at__isnull=True), name="one_open_stage"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.tier}"


class Session(models.Model):
    """A mediation meeting."""

    class Result(models.TextChoices):
        PLANNED = "", _("Planned")
        CONTINUE = "continue", _("To be continued")
        AGREED = "agreed", _("Agreement reached")
        FAILED = "failed", _("No agreement possible")
        NO_SHOW = "no_show", _("A party did not come")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="sessions")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField(_("number"))
    scheduled_at = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=200)
    mediators = models.ManyToManyField(User, related_name="+", verbose_name=_("mediators"))
    attendees = models.TextField(_("attendees"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, blank=True)
    held = models.BooleanField(_("held"), default=False)
    recorded_by = models.CharField(_("recorded by"), max_length=120)
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)

    class Meta:
        ordering = ["dispute", "number"]
        verbose_name = _("mediation session")
        verbose_name_plural = _("mediation sessions")
        constraints = [
            models.UniqueConstraint(fields=["dispute", "number"], name="uniq_session_number"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} #{self.number}"


class Agreement(models.Model):
    """The written settlement (调解协议书); its PDF is generated in both languages."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="agreements")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="agreements")
    number = models.CharField(_("number"), max_length=40, unique=True)
    facts = models.TextField(_("facts and the dispute"))
    terms = models.TextField(_("terms agreed"))
    amount = models.DecimalField(
        _("amount agreed (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    perform_by = models.DateField(_("to be performed by"), null=True, blank=True)
    signed_on = models.DateField(_("signed on"))
    made_by = models.CharField(_("drawn up by"), max_length=120)
    made_at = models.DateTimeField(_("drawn up"), default=clock.now)

    class Meta:
        ordering = ["dispute", "made_at"]
        verbose_name = _("mediation agreement")
        verbose_name_plural = _("mediation agreements")

    def __str__(self) -> str:
        return self.number


class FollowUp(models.Model):
    """A return visit to see whether the agreement is kept (回访)."""

    class Method(models.TextChoices):
        VISIT = "visit", _("Visit")
        PHONE = "phone", _("Phone call")

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="follow_ups")
    due_on = models.DateField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    method = models.CharField(_("how"), max_length=6, choices=Method.choices, blank=True)
    kept = models.BooleanField(_("agreement kept"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    done_by = models.CharField(_("done by"), max_length=120, blank=True)

    class Meta:
        ordering = ["dispute", "due_on", "pk"]
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.due_on}"


class Event(models.Model):
    """The dispute's history: every move, who made it and why."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), default=clock.now)
    actor = models.CharField(_("by"), max_length=120)
    unit = models.ForeignKey(
        Unit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    from_tier = models.CharField(max_length=10, blank=True)
    to_tier = models.CharField(max_length=10, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dispute", "at", "pk"]
        verbose_name = _("dispute event")
        verbose_name_plural = _("dispute events")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.action}"
