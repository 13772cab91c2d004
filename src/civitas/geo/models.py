from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.kit.bilingual import BilingualName


class Level(BilingualName, models.Model):
    """A level of the jurisdiction tree (city, district, street, community, grid, ...).

    ``rank`` orders levels from the root (0). An ``overlay`` level (Boston's neighbourhoods)
    hangs under the city but does not nest with the others; locate() reports it apart.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    rank = models.PositiveSmallIntegerField(_("rank"))
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    overlay = models.BooleanField(_("overlay layer"), default=False)

    class Meta:
        ordering = ["overlay", "rank"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return self.name


class Jurisdiction(BilingualName, models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    level = models.ForeignKey(
        Level, on_delete=models.PROTECT, related_name="jurisdictions", verbose_name=_("level")
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(
        _("path"),
        max_length=400,
        db_index=True,
        editable=False,
        help_text=_("Codes from the root, '/'-separated, for subtree queries."),
    )
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    name_en = models.CharField(_("name (English)"), max_length=160)
    name_zh = models.CharField(_("name (Chinese)"), max_length=160)
    aliases = models.JSONField(_("aliases"), default=list, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    centroid_lat = models.FloatField(_("centroid latitude"), null=True, blank=True)
    centroid_lon = models.FloatField(_("centroid longitude"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def root_code(self) -> str:
        return self.path.strip("/").split("/")[0]

    def ancestor_codes(self) -> list[str]:
        return self.path.strip("/").split("/")[:-1]

    def subtree(self) -> models.QuerySet[Jurisdiction]:
        return Jurisdiction.objects.filter(path__startswith=self.path)

    def as_feature(self, **properties: Any) -> dict[str, Any]:
        """The boundary as a GeoJSON feature named by code (what the maps join figures on),
        labelled in the active language."""
        return {
            "type": "Feature",
            "geometry": self.boundary,
            "properties": {"name": self.code, "label": self.name, **properties},
        }
