"""Open311 GeoReport v2: what the city publishes as services, what clients sent, and the work
handed to outside systems that speak the standard.

Services are the matters of the catalogue (leaves, unless a listing says otherwise); their
definitions are the attributes configured here per matter. A request submitted through
Open311 becomes an ordinary appeal; what only Open311 carries (attribute answers, a media
URL, the client's device and account ids) is kept beside it in ``RequestDetail``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.appeals.models import Appeal
from civitas.kit.bilingual import in_active_language
from civitas.matters.models import Matter
from civitas.org.models import ApiKey, Unit


class Datatype(models.TextChoices):
    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE = "singlevaluelist", _("One choice from a list")
    MULTI = "multivaluelist", _("Several choices from a list")


LIST_DATATYPES = frozenset({Datatype.SINGLE, Datatype.MULTI})


class ServiceType(models.TextChoices):
    REALTIME = "realtime", _("Real time (a request id at once)")
    BATCH = "batch", _("Batch (a token first, the id later)")
    BLACKBOX = "blackbox", _("Black box (no status afterwards)")


class ServiceListing(models.Model):
    """How one matter appears in ``services``. Without a row a leaf matter is listed with its
    parent's name as group; a row can hide a matter, list a branch, or set group and type."""

    matter = models.OneToOneField(
        Matter, on_delete=models.CASCADE, related_name="open311", verbose_name=_("matter")
    )
    listed = models.BooleanField(_("listed as a service"), default=True)
    group = models.CharField(_("group"), max_length=120, blank=True)
    type = models.CharField(
        _("type"), max_length=10, choices=ServiceType.choices, default=ServiceType.REALTIME
    )
    description_en = models.CharField(_("description (English)"), max_length=500, blank=True)
    description_zh = models.CharField(_("description (Chinese)"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("Open311 service listing")
        verbose_name_plural = _("Open311 service listings")

    def __str__(self) -> str:
        return self.matter.code


class ServiceAttribute(models.Model):
    """One question of a service definition (GeoReport v2 ``attribute``)."""

    matter = models.ForeignKey(
        Matter,
        on_delete=models.CASCADE,
        related_name="open311_attributes",
        verbose_name=_("matter"),
    )
    code = models.CharField(_("code"), max_length=60)
    variable = models.BooleanField(
        _("asks for a value"), default=True, help_text=_("Off for information shown only.")
    )
    datatype = models.CharField(_("datatype"), max_length=20, choices=Datatype.choices)
    required = models.BooleanField(_("required"), default=False)
    datatype_description = models.CharField(_("datatype description"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    description_en = models.CharField(_("question (English)"), max_length=500)
    description_zh = models.CharField(_("question (Chinese)"), max_length=500, blank=True)
    # [{"key": "k", "name_en": "…", "name_zh": "…"}] for the list datatypes
    values = models.JSONField(_("values"), default=list, blank=True)

    class Meta:
        ordering = ["matter", "order", "code"]
        verbose_name = _("Open311 service attribute")
        verbose_name_plural = _("Open311 service attributes")
        constraints = [
            models.UniqueConstraint(fields=["matter", "code"], name="uniq_open311_attribute"),
        ]

    def __str__(self) -> str:
        return f"{self.matter_id}:{self.code}"

    @property
    def description(self) -> str:
        return in_active_language(self.description_en, self.description_zh or self.description_en)

    def value_items(self) -> list[tuple[str, str]]:
        """(key, name in the active language) of each allowed value."""
        return [
            (
                str(v.get("key", "")),
                in_active_language(
                    str(v.get("name_en") or v.get("name") or v.get("key", "")),
                    str(v.get("name_zh") or v.get("name_en") or v.get("name") or v.get("key", "")),
                ),
            )
            for v in self.values or []
        ]


class RequestDetail(models.Model):
    """What an Open311 client sent beyond the appeal itself."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="open311")
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attributes = models.JSONField(_("answers"), default=dict, blank=True)
    media_url = models.URLField(_("media URL"), max_length=1000, blank=True)
    address_id = models.CharField(_("address id"), max_length=60, blank=True)
    zipcode = models.CharField(_("postal code"), max_length=20, blank=True)
    device_id = models.CharField(_("device id"), max_length=120, blank=True)
    account_id = models.CharField(_("account id"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("Open311 request detail")
        verbose_name_plural = _("Open311 request details")

    def __str__(self) -> str:
        return f"open311 {self.appeal_id}"


class PendingRequest(models.Model):
    """A request accepted with a token and created later by background work (deferred
    creation). The payload, which holds contact details, is emptied once it is processed."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Created")
        FAILED = "failed", _("Refused")

    token = models.CharField(max_length=64, unique=True)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    city = models.CharField(max_length=40)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    appeal = models.ForeignKey(
        Appeal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return self.token


class ExternalSystem(models.Model):
    """An outside organisation's Open311 endpoint: cases led by ``unit`` are sent there."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XML = "xml", "XML"

    unit = models.OneToOneField(
        Unit, on_delete=models.PROTECT, related_name="open311_system", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=120)
    endpoint = models.URLField(
        _("endpoint"), max_length=500, help_text=_("Base URL, e.g. https://example.org/open311/v2")
    )
    api_key = models.CharField(_("API key"), max_length=200)
    jurisdiction_id = models.CharField(_("jurisdiction id"), max_length=120, blank=True)
    format = models.CharField(
        _("format"), max_length=4, choices=Format.choices, default=Format.JSON
    )
    # {"<our matter code>": "<their service_code>"}; default_service_code for the rest
    service_codes = models.JSONField(_("service codes by matter"), default=dict, blank=True)
    default_service_code = models.CharField(_("default service code"), max_length=60, blank=True)
    share_contact = models.BooleanField(
        _("send the resident's contact details"),
        default=False,
        help_text=_("Only when the outside organisation must reach the resident itself."),
    )
    poll_seconds = models.PositiveIntegerField(_("poll every (seconds)"), default=300)
    timeout_seconds = models.FloatField(_("timeout (seconds)"), default=10.0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("outside Open311 system")
        verbose_name_plural = _("outside Open311 systems")

    def __str__(self) -> str:
        return self.name


class Handoff(models.Model):
    """One case handed to an outside system: sent with retries, then polled for status."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        WAITING_ID = "waiting_id", _("Sent; waiting for their id")
        SENT = "sent", _("Sent; following their status")
        CLOSED = "closed", _("Closed by them")
        CANCELLED = "cancelled", _("No longer theirs")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="handoffs")
    system = models.ForeignKey(ExternalSystem, on_delete=models.PROTECT, related_name="handoffs")
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.QUEUED, db_index=True
    )
    external_id = models.CharField(_("their request id"), max_length=120, blank=True)
    token = models.CharField(_("their token"), max_length=120, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts in a row"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    external_status = models.CharField(_("their status"), max_length=40, blank=True)
    external_notes = models.TextField(_("their notes"), blank=True)
    external_updated = models.CharField(_("their last update"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("handoff")
        verbose_name_plural = _("handoffs")
        constraints = [
            models.UniqueConstraint(fields=["appeal", "system"], name="uniq_handoff"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} → {self.system_id} ({self.state})"
