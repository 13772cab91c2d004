from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One link of the append-only, hash-chained audit log.

    ``seq`` is dense (1, 2, 3, ...) so that a removed or inserted entry breaks the sequence;
    ``entry_hash`` is an HMAC over the entry's content and ``prev_hash``.
    """

    seq = models.BigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("actor"), max_length=120)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=80)
    summary = models.JSONField(_("before/after summary"), default=dict)
    reason = models.TextField(_("reason"), blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    entry_hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """A single row holding the chain's tip; locked while appending so writers serialise."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"#{self.last_seq}"


class CalendarDay(models.Model):
    """An exception to the Monday-Friday week of one city's business calendar."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (no work)")
        WORKDAY = "workday", _("Make-up working day")

    calendar = models.CharField(_("calendar"), max_length=40, db_index=True)
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120, blank=True)

    class Meta:
        ordering = ["calendar", "day"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "day"], name="uniq_calendar_day"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar} {self.day} {self.kind}"


class OutboxMessage(models.Model):
    """A notification waiting to be sent, sent, or given up after several attempts."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=20)
    recipient = models.CharField(_("recipient"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    topic = models.CharField(_("topic"), max_length=80, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outbox")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.subject}"


class ScheduledRun(models.Model):
    """One period of a periodic job, claimed by the scheduler that inserted this row first.

    The unique (name, period_start) pair is what makes a job run once per period however many
    schedulers run: the insert and the queued task commit together, and a second scheduler's
    insert fails on the constraint.
    """

    name = models.CharField(_("job"), max_length=80)
    period_start = models.DateTimeField(_("period start"))
    claimed_at = models.DateTimeField(_("claimed"))
    claimed_by = models.CharField(_("claimed by"), max_length=80, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), null=True)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        ordering = ["-period_start", "name"]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [
            models.UniqueConstraint(fields=["name", "period_start"], name="uniq_scheduled_run"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.period_start:%Y-%m-%d %H:%M}"


class WorkerBeat(models.Model):
    """A running ``civitas worker`` process, seen alive at ``seen_at``.

    Each process beats under an id of its own (its name plus a random suffix, so a restarted
    worker never inherits the tasks of the one that died). A task left RUNNING by a worker not
    seen within CIVITAS_WORKER_LEASE_SECONDS is queued again (see civitas.kit.tasks).
    """

    worker_id = models.CharField(_("worker id"), max_length=64, unique=True)
    host = models.CharField(_("host"), max_length=120, blank=True)
    pid = models.PositiveIntegerField(_("process id"), default=0)
    started_at = models.DateTimeField(_("started"))
    seen_at = models.DateTimeField(_("last seen"), db_index=True)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    tasks_run = models.PositiveIntegerField(_("tasks run"), default=0)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return self.worker_id
