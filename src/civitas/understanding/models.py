"""Versions of the learned models: a file, its checksum, what it learned from, its scores."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ModelKind(models.TextChoices):
    CLASSIFIER = "classifier", _("Matter classifier")
    ROUTER = "router", _("Routing from history")


class ModelVersion(models.Model):
    """One trained model. At most one version per kind and city is active; rolling back
    activates an earlier one. The file is verified against ``sha256`` before it is loaded."""

    kind = models.CharField(_("kind"), max_length=20, choices=ModelKind.choices)
    city = models.CharField(_("city"), max_length=40)
    version = models.PositiveIntegerField(_("version"))
    file = models.CharField(_("file"), max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    summary = models.JSONField(_("training data"), default=dict)
    scores = models.JSONField(_("scores"), default=dict)
    active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(_("trained"))
    created_by = models.CharField(_("trained by"), max_length=120)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["kind", "city", "-version"]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "city", "version"], name="model_version_unique"
            ),
            models.UniqueConstraint(
                fields=["kind", "city"],
                condition=models.Q(active=True),
                name="one_active_model",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.city}-{self.kind}-v{self.version}"
