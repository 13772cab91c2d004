from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.crypto import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    IndexedModel,
)
from civitas.matters.models import Matter, Urgency
from civitas.org.models import Unit


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    HOTLINE = "hotline", _("Hotline")
    GRID = "grid", _("Grid worker")
    API = "api", _("API")
    CSV = "csv", _("Bulk import")
    OPEN311 = "open311", _("Open311")
    REPLAY = "replay", _("Historical replay")


class Kind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    HELP = "help", _("Request for help")
    CONSULTATION = "consultation", _("Consultation")
    SUGGESTION = "suggestion", _("Suggestion")
    REPORT = "report", _("Report of a problem")
    PRAISE = "praise", _("Praise")


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRIAGE = "triage", _("Awaiting triage")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Accepted")
    WAITING_RESIDENT = "waiting_resident", _("Waiting for the resident")
    SUSPENDED = "suspended", _("Suspended")
    RETURNED = "returned", _("Returned by the unit")
    RESOLVED = "resolved", _("Resolved")
    REVIEW = "review", _("Under review by the centre")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = frozenset(
    {
        Status.RECEIVED,
        Status.TRIAGE,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.WAITING_RESIDENT,
        Status.SUSPENDED,
        Status.RETURNED,
        Status.REVIEW,
    }
)


class LocateMethod(models.TextChoices):
    POINT = "point", _("Map point")
    ADDRESS = "address", _("Address")
    TEXT = "text", _("Place named in the text")
    MANUAL = "manual", _("Set by a dispatcher")
    NONE = "none", _("Not located")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basically_satisfied", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class Appeal(models.Model):
    """One resident's appeal and the case it becomes.

    ``version`` grows with every transition: a form sends the version it was rendered from,
    and a move against a stale version is refused (someone else acted first).
    """

    ticket = models.CharField(_("ticket"), max_length=32, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices, default=Kind.COMPLAINT)
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("what happened"))
    matter = models.ForeignKey(
        Matter,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
        verbose_name=_("matter"),
    )
    matter_confidence = models.FloatField(_("classification confidence"), null=True, blank=True)
    matter_method = models.CharField(_("classified by"), max_length=20, blank=True)
    matter_model = models.CharField(_("model version"), max_length=80, blank=True)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
        verbose_name=_("jurisdiction"),
    )
    jurisdiction_path = models.CharField(max_length=400, blank=True, db_index=True, editable=False)
    locate_method = models.CharField(
        _("located by"), max_length=10, choices=LocateMethod.choices, default=LocateMethod.NONE
    )
    locate_confidence = models.FloatField(_("location confidence"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )
    lead_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_appeals",
        verbose_name=_("lead unit"),
    )
    first_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="first_received",
        verbose_name=_("first receiver"),
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals",
        verbose_name=_("resident account"),
    )
    submitted_by = models.CharField(_("entered by"), max_length=120, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    duplicate_candidate = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("possible duplicate of"),
    )
    duplicate_score = models.FloatField(_("duplicate score"), null=True, blank=True)
    duplicate_reason = models.CharField(_("why a duplicate"), max_length=300, blank=True)
    route_method = models.CharField(_("routed by"), max_length=20, blank=True)
    route_confidence = models.FloatField(_("routing confidence"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    respond_due = models.DateTimeField(_("respond by"), null=True, blank=True)
    resolve_due = models.DateTimeField(_("resolve by"), null=True, blank=True, db_index=True)
    escalated_at = models.DateTimeField(_("escalated (督办)"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    return_count = models.PositiveSmallIntegerField(_("times returned"), default=0)
    arbitrated = models.BooleanField(_("arbitrated (binding)"), default=False)
    external_id = models.CharField(_("external id"), max_length=64, blank=True, db_index=True)
    version = models.PositiveIntegerField(default=1)
    # Set from the one clock on every save (not auto_now), so frozen and replayed times agree.
    updated_at = models.DateTimeField(_("updated"), default=clock.now, editable=False)
    # Retention (civitas.appeals.retention): when personal data was removed, and a hold that
    # keeps a case as it is (litigation, a petition) however old it is.
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    legal_hold_reason = models.CharField(_("why held"), max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        indexes = [
            models.Index(fields=["lead_unit", "status"]),
            models.Index(fields=["city", "status", "received_at"]),
            models.Index(fields=["matter", "status"]),
            models.Index(fields=["city", "updated_at"]),
            # Open work only (a few per cent of the rows): the queues, soonest due first, and
            # their counts, without reading the closed history (docs/PERFORMANCE.md).
            models.Index(
                fields=["resolve_due", "received_at"],
                name="appeal_open_due",
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
            ),
            models.Index(
                fields=["lead_unit", "resolve_due"],
                name="appeal_open_unit_due",
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
            ),
            # Closed cases not yet anonymised, oldest first (the retention job's query).
            models.Index(
                fields=["closed_at"],
                condition=models.Q(anonymised_at__isnull=True),
                name="appeal_retention_due",
            ),
        ]

    def __str__(self) -> str:
        return self.ticket

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.updated_at = clock.now()
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class Contact(IndexedModel):
    """The appellant's personal data, kept apart so that only those who need it see it."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="contact")
    # Encrypted at rest (civitas.kit.crypto); phone_digest finds the same phone (repeat callers).
    name = EncryptedCharField(_("name"), max_length=120, blank=True)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    phone_digest = BlindIndexField(source="phone", kind="phone")
    email = EncryptedEmailField(_("e-mail"), blank=True)
    on_behalf_of = EncryptedCharField(_("on behalf of"), max_length=200, blank=True)
    wants_notifications = models.BooleanField(_("notify me"), default=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"contact of {self.appeal_id}"


class Assignment(models.Model):
    """A unit's part in a case: the lead, or a co-handler with its own part and status."""

    class Role(models.TextChoices):
        LEAD = "lead", _("Lead")
        CO = "co", _("Co-handler")

    class State(models.TextChoices):
        DISPATCHED = "dispatched", _("Dispatched")
        ACCEPTED = "accepted", _("Accepted")
        DONE = "done", _("Done")
        RETURNED = "returned", _("Returned")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="assignments")
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("unit")
    )
    role = models.CharField(_("role"), max_length=5, choices=Role.choices)
    part = models.CharField(_("their part"), max_length=300, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.DISPATCHED
    )
    dispatched_at = models.DateTimeField(_("dispatched"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    return_until = models.DateTimeField(_("may return until"), null=True, blank=True)
    binding = models.BooleanField(_("arbitrated (may not return)"), default=False)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["appeal", "-role", "dispatched_at"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.unit_id} ({self.role})"


class Event(models.Model):
    """The case timeline. Public events are shown to the resident; internal ones are not."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("by"), max_length=120)
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("unit"),
    )
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    public = models.BooleanField(_("visible to the resident"), default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["appeal", "at", "id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.action}"


class Request(models.Model):
    """Extension (延期) and suspension requests awaiting a leader's or the centre's decision."""

    class Kind(models.TextChoices):
        EXTENSION = "extension", _("Extension")
        SUSPENSION = "suspension", _("Suspension")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="requests")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    days = models.PositiveSmallIntegerField(_("extra working days"), null=True, blank=True)
    requested_by = models.CharField(max_length=120)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=120, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("extension or suspension request")
        verbose_name_plural = _("extension and suspension requests")

    def __str__(self) -> str:
        return f"{self.kind} {self.state}"


class Summons(models.Model):
    """Whistle and report (吹哨报到): a department summoned to a case must report in time."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="summonses")
    by_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("summoned by")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="summonses", verbose_name=_("department")
    )
    summoned_at = models.DateTimeField(_("summoned"))
    due_at = models.DateTimeField(_("report by"))
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    reported_by = models.CharField(max_length=120, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["appeal", "summoned_at"]
        verbose_name = _("summons")
        verbose_name_plural = _("summonses")

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.unit_id}"

    @property
    def late(self) -> bool:
        return self.reported_at is not None and self.reported_at > self.due_at


class Rating(models.Model):
    """The resident's verdict after resolution (one per round; reopen starts a new round)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="ratings")
    round = models.PositiveSmallIntegerField(default=1)
    responded = models.BooleanField(_("was it responded to"))
    solved = models.BooleanField(_("is it solved"))
    satisfaction = models.CharField(_("satisfaction"), max_length=20, choices=Satisfaction.choices)
    comment = models.TextField(_("comment"), blank=True)
    by_callback = models.BooleanField(_("recorded by a callback operator"), default=False)
    recorded_by = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField()
    unit = models.ForeignKey(Unit, null=True, on_delete=models.PROTECT, related_name="ratings")

    class Meta:
        ordering = ["appeal", "round"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["appeal", "round"], name="uniq_rating_round"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} #{self.round} {self.satisfaction}"


class Attachment(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="appeals/%Y/%m/")
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="photo")  # photo | evidence
    uploaded_by = models.CharField(max_length=120, blank=True)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["appeal", "uploaded_at"]

    def __str__(self) -> str:
        return self.file.name


class IdempotencyKey(models.Model):
    """A client's key for a submission: a retry returns the first appeal, never a second."""

    client = models.CharField(max_length=120)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="uniq_idempotency_key"),
        ]

    def __str__(self) -> str:
        return self.key


class TicketCounter(models.Model):
    """Per city and day, the last ticket number handed out (locked while incremented)."""

    city = models.CharField(max_length=40)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["city", "day"], name="uniq_ticket_day")]

    def __str__(self) -> str:
        return f"{self.city} {self.day} {self.last}"
