"""Periodic jobs that run once per period, however many workers run.

Apps register their jobs from ``AppConfig.ready()``::

    scheduler.register("appeals.deadlines", 60, "civitas.appeals.tasks.check_deadlines")

Every ``civitas worker`` calls ``tick()`` a few times a minute. For each job it computes the
start of the current period and inserts ``ScheduledRun(name, period_start)``; the row is unique,
so exactly one scheduler succeeds, and that one queues the job as a django-tasks task in the
same transaction (with the database backend the claim and the queued task commit together: a
crash between them loses nothing and runs nothing twice). Whichever worker picks the task up
runs the job's callable and records the outcome on the row.

Periods that divide a day are aligned to local midnight in ``TIME_ZONE`` (hourly jobs at :00,
daily jobs at 00:00 local time); longer periods are aligned to the Unix epoch. A period in
which no worker ran is not caught up: a job that must cover every day (roll-ups) works out
what it has not done yet itself.

A job's callable takes no arguments; it is an entry point, so it opens its own transactions.
``CIVITAS_SCHEDULE = {"name": seconds}`` changes a period, 0 switches a job off.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.module_loading import import_string

from civitas.kit import broker as _broker  # noqa: F401 - connects the wake-up on enqueue
from civitas.kit import clock, logctx
from civitas.kit.models import ScheduledRun

log = logging.getLogger(__name__)
DAY = 86400


@dataclass(frozen=True)
class Job:
    name: str
    period: int  # seconds
    target: str  # dotted path of a callable taking no arguments


_registry: dict[str, Job] = {}


def register(name: str, period_seconds: int, dotted_callable: str) -> Job:
    """Declare a periodic job (call from ``AppConfig.ready()``; registering again is harmless)."""
    if not name or len(name) > 80:
        raise ValueError("a job name is 1 to 80 characters")
    if int(period_seconds) != period_seconds or period_seconds < 1:
        raise ValueError(f"{name}: the period is a whole number of seconds, at least 1")
    if "." not in dotted_callable:
        raise ValueError(f"{name}: give the callable as a dotted path, e.g. 'pkg.module.func'")
    job = Job(name, int(period_seconds), dotted_callable)
    existing = _registry.get(name)
    if existing is not None and existing != job:
        raise ValueError(f"job {name!r} is already registered as {existing}")
    _registry[name] = job
    return job


def jobs() -> list[Job]:
    """The registered jobs with the periods of ``CIVITAS_SCHEDULE`` applied (0: off)."""
    overrides: dict[str, int] = getattr(settings, "CIVITAS_SCHEDULE", {}) or {}
    out = []
    for job in sorted(_registry.values(), key=lambda j: j.name):
        period = int(overrides.get(job.name, job.period))
        if period > 0:
            out.append(Job(job.name, period, job.target))
    return out


def job(name: str) -> Job | None:
    return _registry.get(name)


def period_start(period: int, now: datetime) -> datetime:
    """The start (aware, UTC) of the period of ``period`` seconds that contains ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if DAY % period == 0:
        zone = ZoneInfo(settings.TIME_ZONE)
        midnight = datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
        elapsed = (now - midnight).total_seconds()
        start = midnight + timedelta(seconds=math.floor(elapsed / period) * period)
    else:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        elapsed = (now - epoch).total_seconds()
        start = epoch + timedelta(seconds=math.floor(elapsed / period) * period)
    return start.astimezone(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def tick(*, now: datetime | None = None, worker: str = "") -> list[str]:
    """Claim and queue every job whose current period nobody has claimed yet; return their
    names. Safe to call from any number of processes at once."""
    now = now or clock.now()
    claimed = []
    for j in jobs():
        start = period_start(j.period, now)
        if ScheduledRun.objects.filter(name=j.name, period_start=start).exists():
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(
                    name=j.name,
                    period_start=start,
                    claimed_at=clock.now(),
                    claimed_by=(worker or worker_name())[:80],
                )
                _queue(run.pk)
        except IntegrityError:
            continue  # another scheduler claimed this period first
        claimed.append(j.name)
    return claimed


def _queue(run_id: int) -> None:
    from django_tasks_db.backend import DatabaseBackend

    from civitas.kit import tasks

    if isinstance(tasks.run_job.get_backend(), DatabaseBackend):
        tasks.run_job.enqueue(run_id)  # committed together with the claim
    else:
        transaction.on_commit(lambda: tasks.run_job.enqueue(run_id))


_current: ContextVar[ScheduledRun | None] = ContextVar("civitas_scheduled_run", default=None)


def current() -> ScheduledRun | None:
    """The ScheduledRun whose job is running in this context (None outside a job)."""
    return _current.get()


def execute(run_id: int) -> Any:
    """Run the job of a claimed period and record the outcome (called by the queued task).

    A task can be delivered again (its worker was lost, see civitas.kit.tasks), so the run is
    claimed first: under a row lock, a finished run is skipped; on PostgreSQL a session lock
    on the run is held while the job runs, so a second delivery while the first still runs
    (a worker cut off from the database for longer than its lease) skips as well. A run whose
    worker died before it finished runs again: jobs work out what is still to do.
    """
    with transaction.atomic():
        run = ScheduledRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return f"skipped: run {run_id} no longer exists"
        if run.finished_at is not None:
            return f"skipped: {run.name} of {run.period_start:%Y-%m-%d %H:%M} already finished"
        if not _hold(run_id):
            return f"skipped: {run.name} of {run.period_start:%Y-%m-%d %H:%M} runs elsewhere"
        run.started_at = clock.now()
        run.save(update_fields=["started_at"])
    j = _registry.get(run.name)
    token = _current.set(run)
    try:
        if j is None:
            raise LookupError(f"no job named {run.name!r} is registered in this process")
        with logctx.bind(job=run.name, run_id=run.pk):
            result = import_string(j.target)()
    except Exception as exc:
        ScheduledRun.objects.filter(pk=run_id).update(
            finished_at=clock.now(),
            ok=False,
            outcome="".join(traceback.format_exception_only(exc)).strip()[:2000],
        )
        log.exception("scheduled job %s failed", run.name)
        raise
    finally:
        _current.reset(token)
        _release(run_id)
    ScheduledRun.objects.filter(pk=run_id).update(
        finished_at=clock.now(), ok=True, outcome=_describe(result)
    )
    return _describe(result)


_LOCK_SPACE = 0x5C4E  # first key of the advisory locks on scheduled runs


def _hold(run_id: int) -> bool:
    """Take the session lock of a run (PostgreSQL); True when taken or not needed."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_SPACE, run_id % 2**31])
        return bool(cursor.fetchone()[0])


def _release(run_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_SPACE, run_id % 2**31])
    except Exception as exc:  # the connection is gone, and the lock with it
        log.warning("could not release the lock of scheduled run %s: %s", run_id, exc)


def _describe(result: Any) -> str:
    if result is None:
        return ""
    return str(result)[:2000]


def prune(*, keep_days: int = 30) -> dict[str, int]:
    """Forget scheduler rows, finished task results and the heartbeats of workers gone for
    longer than ``keep_days``."""
    from django_tasks_db.models import DBTaskResult

    from civitas.kit.models import WorkerBeat

    cutoff = clock.now() - timedelta(days=keep_days)
    with transaction.atomic():
        runs, _ = ScheduledRun.objects.filter(period_start__lt=cutoff).delete()
        results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
        beats, _ = WorkerBeat.objects.filter(seen_at__lt=cutoff).delete()
    return {"scheduled_runs": runs, "task_results": results, "workers": beats}


def status() -> list[dict[str, Any]]:
    """Each job with its period and its latest run."""
    out = []
    for j in jobs():
        last = ScheduledRun.objects.filter(name=j.name).order_by("-period_start").first()
        out.append(
            {
                "name": j.name,
                "period": j.period,
                "target": j.target,
                "last_period": last.period_start if last else None,
                "finished_at": last.finished_at if last else None,
                "ok": last.ok if last else None,
                "outcome": last.outcome if last else "",
            }
        )
    return out
