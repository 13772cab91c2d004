from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.geo.models import Jurisdiction, Level
from civitas.kit.bilingual import BilingualName
from civitas.matters.models import Matter
from civitas.matters.vocabulary import DepartmentType


class UnitKind(models.TextChoices):
    CENTRE = "centre", _("Service/command centre (12345)")
    GOVERNMENT = "government", _("Government office")
    DEPARTMENT = "department", _("Functional department")
    COMMUNITY_COMMITTEE = "community_committee", _("Community committee")
    MEDIATION_COMMITTEE = "mediation_committee", _("Mediation committee")
    PARTY_ORG = "party_org", _("Party organisation")
    SOCIAL_ORG = "social_org", _("Social organisation")
    ENTERPRISE = "enterprise", _("Enterprise")
    VOLUNTEER_TEAM = "volunteer_team", _("Volunteer team")
    GRID_TEAM = "grid_team", _("Grid team")


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")
    DISPATCHER = "dispatcher", _("Dispatcher")
    UNIT_HANDLER = "unit_handler", _("Unit handler")
    UNIT_LEADER = "unit_leader", _("Unit leader")
    GRID_WORKER = "grid_worker", _("Grid worker")
    MEDIATOR = "mediator", _("Mediator")
    ANALYST = "analyst", _("Analyst")
    DATA_STEWARD = "data_steward", _("Data steward")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


class User(AbstractUser):
    """A person who signs in. Contact details are personal data: shown only where needed."""

    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def audit_label(self) -> str:
        return f"user:{self.pk}:{self.username}"

    def __str__(self) -> str:
        return self.display_name or self.username


class Unit(BilingualName, models.Model):
    code = models.CharField(_("code"), max_length=60, unique=True)
    city = models.CharField(
        _("city"), max_length=40, db_index=True, help_text=_("Root jurisdiction code of the city.")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=UnitKind.choices)
    department_type = models.CharField(
        _("department type"), max_length=30, blank=True, choices=DepartmentType.choices
    )
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="units", verbose_name=_("jurisdiction")
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    phone = models.CharField(_("duty phone"), max_length=40, blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        indexes = [models.Index(fields=["kind", "department_type"])]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role, in a unit (staff) or on their own (residents)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("person")
    )
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("unit"),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="uniq_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit or '-'}"


class ResponsibilityRule(models.Model):
    """An entry of the responsibility list (权责清单).

    For a matter (or a whole branch of the catalogue) at a level, optionally only inside a
    jurisdiction's subtree, the responsible party is a unit type or one named unit.
    ``city_coordinates`` reserves the matter to the city centre for coordination.
    """

    city = models.CharField(_("city"), max_length=40, db_index=True)
    matter = models.ForeignKey(
        Matter, on_delete=models.PROTECT, related_name="rules", verbose_name=_("matter")
    )
    level = models.ForeignKey(
        Level, on_delete=models.PROTECT, related_name="rules", verbose_name=_("level")
    )
    jurisdiction = models.ForeignKey(
        Jurisdiction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name=_("only within"),
    )
    unit_type = models.CharField(
        _("responsible department type"), max_length=30, blank=True, choices=DepartmentType.choices
    )
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name=_("responsible unit"),
    )
    city_coordinates = models.BooleanField(_("reserved to the city centre"), default=False)
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["city", "matter__path", "level__rank"]
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibility list")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(unit_type="") | models.Q(unit__isnull=False),
                name="rule_names_type_or_unit",
            ),
        ]

    def __str__(self) -> str:
        who = self.unit.name if self.unit else self.get_unit_type_display()
        return f"{self.matter.name} @ {self.level.name}: {who}"


class ResponsibilityRevision(models.Model):
    """Who changed a responsibility entry, when, why, and what it said afterwards."""

    rule = models.ForeignKey(ResponsibilityRule, on_delete=models.PROTECT, related_name="revisions")
    version = models.PositiveIntegerField(_("version"))
    actor = models.CharField(_("changed by"), max_length=120)
    at = models.DateTimeField(_("changed at"))
    reason = models.TextField(_("reason"))
    snapshot = models.JSONField(_("entry after the change"))

    class Meta:
        ordering = ["rule", "version"]
        verbose_name = _("responsibility revision")
        verbose_name_plural = _("responsibility revisions")
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="uniq_rule_version"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class ApiKey(models.Model):
    """A machine client's key: only its SHA-256 is stored; it acts within its unit's scope."""

    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
        verbose_name=_("acts for unit"),
    )
    created_by = models.CharField(_("created by"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def audit_label(self) -> str:
        return f"apikey:{self.pk}:{self.name}"
