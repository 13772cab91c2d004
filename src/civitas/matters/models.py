from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.kit.bilingual import BilingualName


class Urgency(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class Matter(BilingualName, models.Model):
    """A node of the matters catalogue (at least three levels; leaves are what is appealed).

    ``deadlines`` maps urgency to response and resolution limits, written as durations:
    ``{"urgent": {"respond": "2h", "resolve": "24h"}, "normal": {"respond": "24h",
    "resolve": "15wd"}}`` (h = hours, d = calendar days, wd = working days).
    ``responsible`` maps a level code to the department type that acts at that level,
    e.g. ``{"district": "housing", "street": "street_office"}``.
    """

    catalogue = models.CharField(
        _("catalogue"),
        max_length=40,
        db_index=True,
        help_text=_("The city (root jurisdiction code) it belongs to."),
    )
    code = models.CharField(_("code"), max_length=60, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(_("path"), max_length=400, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    urgency_default = models.CharField(
        _("default urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    deadlines = models.JSONField(_("deadlines"), default=dict, blank=True)
    responsible = models.JSONField(
        _("responsible department type per level"), default=dict, blank=True
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("matter")
        verbose_name_plural = _("matters")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_leaf(self) -> bool:
        return not self.children.exists()
