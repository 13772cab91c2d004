"""What the retention of every kind of record shares: the period, the cutoff, the batches.

A layer that anonymises its own records (``appeals.retention``, ``mediation.retention``)
names its setting and its queryset of due rows and supplies one batch's work; this module
turns the setting into a cutoff, walks the due rows in primary-key order, one batch (one
transaction, done by the layer) at a time, adds up the counts and says what was done in one
line. A legal hold's reason is checked the same way everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from civitas.kit import clock
from civitas.kit.errors import InvalidInput

ACTOR = "system:retention"
POINT_DECIMALS = 3  # about 110 m of latitude: the area stays, the doorstep goes
REASON_MAX = 300


@dataclass
class Outcome:
    """What one run did (or, dry, would do) to one kind of record."""

    kind: str  # "appeals", "disputes": also the key of the batch counts that count them
    setting: str  # the period's setting, named when retention is off
    cutoff: datetime | None
    dry_run: bool
    due: int = 0
    anonymised: int = 0
    batches: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        if self.cutoff is None:
            return _("%(kind)s: retention is off (%(setting)s=0)") % {
                "kind": self.kind,
                "setting": self.setting,
            }
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()) if v)
        values = {
            "kind": self.kind,
            "day": f"{timezone.localtime(self.cutoff):%Y-%m-%d}",
            "n": self.due if self.dry_run else self.anonymised,
            "batches": self.batches,
        }
        if self.dry_run:
            line = _("%(kind)s closed before %(day)s: %(n)d would be anonymised") % values
        else:
            line = _("%(kind)s closed before %(day)s: %(n)d anonymised in %(batches)d batches") % (
                values
            )
        return line + (f" ({parts})" if parts else "")


def period_days(setting: str, default: int) -> int:
    """The retention period in days from ``setting``; 0 (or less) means never."""
    return max(int(getattr(settings, setting, default)), 0)


def cutoff(setting: str, default: int, before: datetime | None = None) -> datetime | None:
    """Records closed before this moment are due: ``before`` when given, else now minus the
    period; None when retention is off."""
    if before is not None:
        return before
    days = period_days(setting, default)
    return None if days == 0 else clock.now() - timedelta(days=days)


def run(
    out: Outcome,
    due: Callable[[datetime], models.QuerySet[Any]],
    batch: Callable[[list[int], datetime], Counter[str]],
    dry_counts: Callable[[models.QuerySet[Any]], dict[str, int]],
    *,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Outcome:
    """Count the records ``due(cutoff)`` gives, then (unless dry) call ``batch`` with their
    ids, ``batch_size`` at a time in key order, adding up what the batches count
    (``out.kind`` counts the records anonymised). A dry run adds ``dry_counts(ids)``."""
    if out.cutoff is None:
        return out
    size = batch_size or int(getattr(settings, "CIVITAS_RETENTION_BATCH", 200))
    if size < 1:
        raise InvalidInput(
            _("the batch size must be 1 or more (it is %(n)d)") % {"n": size},
            details={"field": "batch"},
        )
    pending = due(out.cutoff)
    out.due = pending.count()
    if on_total:
        on_total(out.due)
    if out.dry_run:
        out.counts.update(dry_counts(pending.values("pk")))
        return out
    last_pk = 0
    while True:
        page = pending.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)
        ids = list(page[:size])
        if not ids:
            return out
        last_pk = ids[-1]
        counts = batch(ids, out.cutoff)
        out.anonymised += counts.pop(out.kind, 0)
        out.counts.update(counts)
        out.batches += 1
        if progress:
            progress(len(ids))


def hold_reason(reason: str | None) -> str:
    """The reason for setting or lifting a legal hold, checked: required, at most 300 chars."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("write why the hold is set or lifted (e.g. the court case or petition number)"),
            details={"field": "reason"},
        )
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("the reason is at most 300 characters"), details={"field": "reason"})
    return reason


def rounded(value: float | None) -> float | None:
    """A coordinate kept to about 100 m."""
    return None if value is None else round(value, POINT_DECIMALS)
