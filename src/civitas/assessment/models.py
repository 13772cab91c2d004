"""Daily roll-ups of the three rates (and the other three), so that pages never scan appeals.

A row holds, for one unit, one street-level jurisdiction path and one day, the counts of the
cases **received that day** as they stand at the last refresh (a case belongs to the day it
came in; later events — acceptance, resolution, rating — update that day's row). Because a
case's day never changes, refreshing a day is exact: delete its rows, count again.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civitas.org.models import Unit

COUNTERS = (
    "dispatched",
    "responded_on_time",
    "resolved",
    "resolved_on_time",
    "resolved_ever",
    "reopened",
    "returned",
    "rated",
    "solved",
    "satisfied",
    "basic",
    "dissatisfied",
)


class UnitDay(models.Model):
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="assessment_days", verbose_name=_("unit")
    )
    city = models.CharField(_("city"), max_length=40)
    jurisdiction_path = models.CharField(_("jurisdiction path"), max_length=400)
    day = models.DateField(_("day received"))
    dispatched = models.PositiveIntegerField(_("dispatched"), default=0)
    responded_on_time = models.PositiveIntegerField(_("accepted in time"), default=0)
    resolved = models.PositiveIntegerField(_("resolved"), default=0)
    resolved_on_time = models.PositiveIntegerField(_("resolved in time"), default=0)
    resolved_ever = models.PositiveIntegerField(_("resolved at least once"), default=0)
    reopened = models.PositiveIntegerField(_("reopened"), default=0)
    returned = models.PositiveIntegerField(_("returned"), default=0)
    rated = models.PositiveIntegerField(_("rated"), default=0)
    solved = models.PositiveIntegerField(_("rated solved"), default=0)
    satisfied = models.PositiveIntegerField(_("satisfied"), default=0)
    basic = models.PositiveIntegerField(_("basically satisfied"), default=0)
    dissatisfied = models.PositiveIntegerField(_("dissatisfied"), default=0)

    class Meta:
        ordering = ["day", "unit"]
        verbose_name = _("unit day (roll-up)")
        verbose_name_plural = _("unit days (roll-up)")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "jurisdiction_path", "day"], name="uniq_unit_path_day"
            ),
        ]
        indexes = [models.Index(fields=["city", "day"])]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.jurisdiction_path} {self.day}"

    def counts(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in COUNTERS}


class RefreshState(models.Model):
    """Where the last refresh stopped: the highest timeline event id it read, the ids below it
    that were missing (transactions not yet committed then) to look for again, and the
    highest appeal id (bulk loads such as the Boston replay write appeals without events)."""

    name = models.CharField(max_length=40, unique=True)
    event_mark = models.BigIntegerField(default=0)
    appeal_mark = models.BigIntegerField(default=0)
    pending = models.JSONField(default=list, blank=True)
    ran_at = models.DateTimeField(null=True, blank=True)
    days = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.event_mark}"
