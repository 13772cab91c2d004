"""What the retention of every kind of record shares: the period, the cutoff, the batches.

A layer that anonymises its own records (``appeals.retention``, ``mediation.retention``)
describes them in a :class:`Sweep` (its setting, its due rows, how one row is scrubbed); this
module turns the setting into a cutoff, walks the due rows in primary-key order, one batch (one
transaction with the rows locked and one audit entry) at a time, adds up the counts and says
what was done in one line. A legal hold's reason is checked the same way everywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civitas.kit import audit, clock
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


# fn(rows, labels) -> counts: a higher layer's part of anonymising these rows (called inside
# the batch's transaction); labels maps each row's id to its {name: label}.
Step = Callable[[list[Any], dict[int, dict[str, str]]], dict[str, int]]


@dataclass(frozen=True)
class Sweep:
    """One kind of record under retention: what is due, how one row is scrubbed (returning
    the {name: label} it used), what a dry run counts, and the higher layers' steps."""

    kind: str  # "appeals": the Outcome's name and the key counting the rows anonymised
    setting: str
    default_days: int
    action: str  # the audit action of a batch
    object_type: str
    due: Callable[[datetime], models.QuerySet[Any]]
    scrub: Callable[[Any, datetime, Counter[str]], dict[str, str]]
    dry_counts: Callable[[models.QuerySet[Any]], dict[str, int]]
    steps: Mapping[str, Step]  # the layer's registry, read at each batch
    related: tuple[str, ...] = ()  # select_related for scrub

    def run(
        self,
        *,
        before: datetime | None = None,
        dry_run: bool = False,
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
    ) -> Outcome:
        """Count the due rows, then (unless dry) anonymise them ``batch_size`` at a time in
        key order, one transaction each, adding up what the batches count."""
        out = Outcome(
            self.kind, self.setting, cutoff(self.setting, self.default_days, before), dry_run
        )
        if out.cutoff is None:
            return out
        size = batch_size or int(getattr(settings, "CIVITAS_RETENTION_BATCH", 200))
        if size < 1:
            raise InvalidInput(
                _("the batch size must be 1 or more (it is %(n)d)") % {"n": size},
                details={"field": "batch"},
            )
        pending = self.due(out.cutoff)
        out.due = pending.count()
        if on_total:
            on_total(out.due)
        if out.dry_run:
            out.counts.update(self.dry_counts(pending.values("pk")))
            return out
        last_pk = 0
        while True:
            page = pending.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)
            ids = list(page[:size])
            if not ids:
                return out
            last_pk = ids[-1]
            counts = self.batch(ids, out.cutoff)
            out.anonymised += counts.pop(self.kind, 0)
            out.counts.update(counts)
            out.batches += 1
            if progress:
                progress(len(ids))

    def batch(self, ids: list[int], cutoff: datetime) -> Counter[str]:
        """One transaction: the rows locked and checked again (a hold set or a case reopened
        since the count is respected), scrubbed, the steps run, one audit entry (counts)."""
        counts: Counter[str] = Counter()
        with transaction.atomic():
            rows = list(
                self.due(cutoff)
                .select_for_update(of=("self",), no_key=True)
                .filter(pk__in=ids)
                .select_related(*self.related)
                .order_by("pk")
            )
            if not rows:
                return counts
            now = clock.now()
            labels: dict[int, dict[str, str]] = {}
            with translation.override(settings.LANGUAGE_CODE):
                for row in rows:
                    labels[row.pk] = self.scrub(row, now, counts)
                for step in self.steps.values():
                    counts.update(step(rows, labels))
            counts[self.kind] = len(rows)
            audit.record(
                actor=ACTOR,
                action=self.action,
                object_type=self.object_type,
                object_id=f"{rows[0].pk}..{rows[-1].pk}",
                reason="retention period passed",
                extra={"cutoff": cutoff.isoformat(), "counts": dict(sorted(counts.items()))},
            )
        return counts


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


def set_hold(
    model: type[models.Model],
    pk: int,
    *,
    actor: Any,
    hold: bool,
    reason: str,
    allowed: Callable[[Any], None],
    anonymised: Callable[[Any], str],
    action: str,
) -> Any:
    """Set (or lift) the legal hold of one row with a reason, in one transaction with its
    audit entry (``action`` or ``action_lifted``). ``allowed(row)`` raises when the actor may
    not; ``anonymised(row)`` is the message when a row already anonymised is to be held."""
    reason = hold_reason(reason)
    with transaction.atomic():
        row: Any = model._default_manager.select_for_update(of=("self",), no_key=True).get(pk=pk)
        allowed(row)
        if row.anonymised_at is not None and hold:
            raise InvalidInput(anonymised(row), details={"field": "hold"})
        before = row.legal_hold
        row.legal_hold, row.legal_hold_reason = hold, (reason if hold else "")
        row.updated_at = clock.now()
        row.save(update_fields=["legal_hold", "legal_hold_reason", "updated_at"])
        audit.record(
            actor=actor,
            action=action if hold else f"{action}_lifted",
            object_type=model._meta.model_name or "",
            object_id=row.pk,
            before={"legal_hold": before},
            after={"legal_hold": hold},
            reason=reason,
        )
    return row


def rounded(value: float | None) -> float | None:
    """A coordinate kept to about 100 m."""
    return None if value is None else round(value, POINT_DECIMALS)
