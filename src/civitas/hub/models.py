"""The data-sharing hub (数据共享交换): a catalogue of departments' datasets, their records,
and controlled, logged access to them.

A :class:`Dataset` is owned by a unit. Its schema is versioned (:class:`SchemaVersion` with
:class:`Field` rows: a type, a sensitivity class and an optional standard key role). Records
arrive in a :class:`Batch` that is applied whole or not at all; a rejected batch keeps its bad
rows in the quarantine (:class:`QuarantineRow`) for the steward to fix. Each :class:`Record`
carries the standard keys derived on the way in (area, point, pseudonymous person key,
enterprise code, date) in columns of its own, so filters and joins use indexes.

Access is denied by default. A consumer unit holds a :class:`Grant` (fields, area, purpose,
legal basis, expiry) decided by the owner; every read through a grant is an
:class:`AccessLog` row and an entry in the audit chain.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction
from civitas.kit import clock
from civitas.kit.bilingual import in_active_language
from civitas.org.models import ApiKey, Unit, User


class Domain(models.TextChoices):
    GOVERNMENT_AFFAIRS = "government_affairs", _("Government affairs")
    HEALTH = "health", _("Health")
    TRAFFIC = "traffic", _("Traffic")
    PUBLIC_SECURITY = "public_security", _("Public security")
    ENVIRONMENT = "environment", _("Environmental protection")
    MARKET_SUPERVISION = "market_supervision", _("Market supervision")
    COMMUNITY = "community", _("Community management")
    OTHER = "other", _("Other")


class Frequency(models.TextChoices):
    REALTIME = "realtime", _("Real time")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")
    IRREGULAR = "irregular", _("Irregular")


class Sharing(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("Shared unconditionally")
    CONDITIONAL = "conditional", _("Shared on conditions")
    NOT_SHAREABLE = "not_shareable", _("Not shareable")


class FieldType(models.TextChoices):
    STRING = "string", _("Text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    BOOLEAN = "boolean", _("Yes/no")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")


class Sensitivity(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal")
    SENSITIVE = "sensitive", _("Sensitive")
    SECRET = "secret", _("Secret")


class KeyRole(models.TextChoices):
    NONE = "", _("None")
    GRID_CODE = "grid_code", _("Grid or community code")
    ADDRESS = "address", _("Address")
    CREDIT_CODE = "credit_code", _("Unified social credit code")
    PERSON_ID = "person_id", _("Identity card number")
    PHONE = "phone", _("Phone number")
    DATE = "date", _("Date of the event")
    LATITUDE = "latitude", _("Latitude")
    LONGITUDE = "longitude", _("Longitude")


class ProfileRole(models.TextChoices):
    """What a dataset adds to the profile of a grid or street (一格一档), beside its records."""

    NONE = "", _("Records only")
    POPULATION = "population", _("Population (sum of a field)")
    ENTERPRISES = "enterprises", _("Enterprises (distinct credit codes)")


class Dataset(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    city = models.CharField(_("city"), max_length=40, db_index=True)
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="datasets", verbose_name=_("owner")
    )
    # The area the data covers (the owner's by default); grants may narrow it further.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="+", verbose_name=_("area covered")
    )
    jurisdiction_path = models.CharField(max_length=400, db_index=True)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    domain = models.CharField(_("domain"), max_length=30, choices=Domain.choices)
    frequency = models.CharField(_("update frequency"), max_length=12, choices=Frequency.choices)
    sharing = models.CharField(_("sharing type"), max_length=16, choices=Sharing.choices)
    # The current schema; None until the first version is saved.
    schema = models.ForeignKey(
        "SchemaVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current schema"),
    )
    profile_role = models.CharField(
        _("in the area profile"), max_length=12, choices=ProfileRole.choices, blank=True
    )
    profile_field = models.CharField(_("profile field"), max_length=60, blank=True)
    # Records with a date and a point feed the risk detectors beside appeals.
    feeds_risk = models.BooleanField(_("feeds the risk detectors"), default=False)
    record_count = models.PositiveIntegerField(_("records"), default=0)
    last_loaded_at = models.DateTimeField(_("last loaded"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return f"{self.code} {self.title_en}"

    @property
    def title(self) -> str:
        return in_active_language(self.title_en, self.title_zh)

    @property
    def description(self) -> str:
        return in_active_language(self.description_en, self.description_zh)


class SchemaVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="schemas")
    number = models.PositiveIntegerField(_("version"))
    note = models.TextField(_("what changed"), blank=True)
    created_by = models.CharField(_("created by"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="hub_schema_number")
        ]
        verbose_name = _("schema version")
        verbose_name_plural = _("schema versions")

    def __str__(self) -> str:
        return f"{self.dataset.code} v{self.number}"


class Field(models.Model):
    schema = models.ForeignKey(SchemaVersion, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(_("position"))
    # The column name in files and the key in records and API answers: [a-z][a-z0-9_]*.
    name = models.CharField(_("name"), max_length=60)
    label_en = models.CharField(_("label (English)"), max_length=120)
    label_zh = models.CharField(_("label (Chinese)"), max_length=120)
    type = models.CharField(_("type"), max_length=10, choices=FieldType.choices)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=10, choices=Sensitivity.choices, default=Sensitivity.INTERNAL
    )
    key_role = models.CharField(
        _("standard key"), max_length=12, choices=KeyRole.choices, blank=True
    )
    required = models.BooleanField(_("required"), default=False)
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)

    class Meta:
        ordering = ["schema", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "name"], name="hub_field_name"),
        ]
        verbose_name = _("field")
        verbose_name_plural = _("fields")

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return in_active_language(self.label_en, self.label_zh)


class BatchSource(models.TextChoices):
    CSV = "csv", _("CSV file")
    XLSX = "xlsx", _("Excel workbook")
    JSON = "json", _("JSON file")
    API = "api", _("Pushed through the API")


class BatchMode(models.TextChoices):
    APPEND = "append", _("Add to the records")
    REPLACE = "replace", _("Replace all records")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    LOADING = "loading", _("Checking and loading")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected (nothing loaded)")
    FAILED = "failed", _("Failed (nothing loaded)")
    DISCARDED = "discarded", _("Discarded")


class Batch(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField(_("batch"))
    schema = models.ForeignKey(
        SchemaVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("schema")
    )
    source = models.CharField(_("source"), max_length=6, choices=BatchSource.choices)
    mode = models.CharField(
        _("mode"), max_length=8, choices=BatchMode.choices, default=BatchMode.APPEND
    )
    filename = models.CharField(_("file"), max_length=255, blank=True)
    # The uploaded file (or pushed JSON) kept under CIVITAS_VAR until the batch is applied or
    # discarded, so a rejected batch can be applied again once its bad rows are fixed.
    staged_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(_("rows read"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows loaded"), default=0)
    rows_bad = models.PositiveIntegerField(_("bad rows"), default=0)
    # Counts of problems by field and kind, the first problems in full, and the derived keys'
    # figures (rows located, addresses not found, ...).
    report = models.JSONField(_("report"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.CharField(_("loaded by"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="hub_batch_number")
        ]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")

    def __str__(self) -> str:
        return f"{self.dataset.code} #{self.number}"


class QuarantineStatus(models.TextChoices):
    OPEN = "open", _("To fix")
    FIXED = "fixed", _("Fixed")
    DROPPED = "dropped", _("Left out")


class QuarantineRow(models.Model):
    """A bad row of a rejected batch. Identity numbers are never kept in clear here either:
    a valid one is replaced by its pseudonymous key, an invalid one is dropped."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="quarantine")
    row_number = models.PositiveIntegerField(_("row"))
    values = models.JSONField(_("values as read"), default=dict)
    errors = models.JSONField(_("problems"), default=list)  # [{field, code, message}]
    fixed_values = models.JSONField(_("corrected values"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=QuarantineStatus.choices, default=QuarantineStatus.OPEN
    )
    updated_by = models.CharField(max_length=120, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="hub_quarantine_row")
        ]
        verbose_name = _("quarantined row")
        verbose_name_plural = _("quarantined rows")

    def __str__(self) -> str:
        return f"batch {self.batch_id} row {self.row_number}"


class Record(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="records")
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="records")
    row_number = models.PositiveIntegerField()
    # The values by field name, converted to JSON types (dates as ISO text); identity numbers
    # replaced by their pseudonymous keys.
    data = models.JSONField(default=dict)
    # Standard keys derived on the way in.
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    jurisdiction_path = models.CharField(max_length=400, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    person_key = models.CharField(max_length=64, blank=True)
    credit_code = models.CharField(max_length=18, blank=True)
    occurred_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["dataset", "jurisdiction_path", "id"], name="hub_rec_area"),
            models.Index(fields=["dataset", "occurred_on"], name="hub_rec_date"),
            models.Index(fields=["person_key"], name="hub_rec_person"),
            models.Index(fields=["credit_code"], name="hub_rec_credit"),
        ]
        verbose_name = _("record")
        verbose_name_plural = _("records")

    def __str__(self) -> str:
        return f"record {self.pk} of dataset {self.dataset_id}"


class GrantStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Grant(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="grants")
    consumer_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="data_grants", verbose_name=_("consumer")
    )
    # Field names granted; clear_fields ⊆ fields are shown without masking.
    fields = models.JSONField(_("fields"), default=list)
    clear_fields = models.JSONField(_("fields in clear"), default=list, blank=True)
    # Rows inside this subtree only; None means the dataset's whole area.
    area = models.ForeignKey(
        Jurisdiction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("area"),
    )
    area_path = models.CharField(max_length=400, blank=True)
    purpose = models.TextField(_("purpose"))
    legal_basis = models.TextField(_("legal basis"))
    expires_at = models.DateTimeField(_("expires"))
    status = models.CharField(
        _("status"), max_length=10, choices=GrantStatus.choices, default=GrantStatus.REQUESTED
    )
    automatic = models.BooleanField(_("granted automatically"), default=False)
    requested_by = models.CharField(_("requested by"), max_length=120)
    requested_at = models.DateTimeField(_("requested"), default=clock.now)
    decided_by = models.CharField(_("decided by"), max_length=120, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # The owner's reason for a refusal or a revocation (and an optional note on approval).
    reason = models.TextField(_("reason"), blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["consumer_unit", "status"], name="hub_grant_consumer")]
        verbose_name = _("grant")
        verbose_name_plural = _("grants")

    def __str__(self) -> str:
        return f"grant {self.pk} {self.dataset_id}→{self.consumer_unit_id}"

    def in_force(self, now: datetime | None = None) -> bool:
        """Approved and not expired: the only state in which a grant gives access."""
        return self.status == GrantStatus.APPROVED and self.expires_at > (now or clock.now())


class AccessChannel(models.TextChoices):
    PAGE = "page", _("Page")
    API = "api", _("API")
    EXPORT = "export", _("Export")
    PROFILE = "profile", _("Area profile")
    OWNER = "owner", _("Owner's own view")


class AccessLog(models.Model):
    at = models.DateTimeField(_("at"), default=clock.now)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="accesses")
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(_("who"), max_length=120)
    channel = models.CharField(_("channel"), max_length=8, choices=AccessChannel.choices)
    purpose = models.TextField(_("purpose"), blank=True)
    # The consumer's own case or file reference for this read (X-Road's "issue").
    case_ref = models.CharField(_("case reference"), max_length=120, blank=True)
    query = models.JSONField(_("query"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows returned"), default=0)
    audit_seq = models.BigIntegerField(_("audit entry"), null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["dataset", "at"], name="hub_access_dataset"),
            models.Index(fields=["grant", "at"], name="hub_access_grant"),
        ]
        verbose_name = _("access")
        verbose_name_plural = _("accesses")

    def __str__(self) -> str:
        return f"{self.actor} read {self.rows} rows of dataset {self.dataset_id}"
