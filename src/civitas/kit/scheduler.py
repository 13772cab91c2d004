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
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from civitas.kit import clock
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


def execute(run_id: int) -> Any:
    """Run the job of a claimed period and record the outcome (called by the queued task)."""
    run = ScheduledRun.objects.get(pk=run_id)
    j = _registry.get(run.name)
    ScheduledRun.objects.filter(pk=run_id).update(started_at=clock.now())
    try:
        if j is None:
            raise LookupError(f"no job named {run.name!r} is registered in this process")
        result = import_string(j.target)()
    except Exception as exc:
        ScheduledRun.objects.filter(pk=run_id).update(
            finished_at=clock.now(),
            ok=False,
            outcome="".join(traceback.format_exception_only(exc)).strip()[:2000],
        )
        log.exception("scheduled job %s failed", run.name)
        raise
    ScheduledRun.objects.filter(pk=run_id).update(
        finished_at=clock.now(), ok=True, outcome=_describe(result)
    )
    return _describe(result)


def _describe(result: Any) -> str:
    if result is None:
        return ""
    return str(result)[:2000]


def prune(*, keep_days: int = 30) -> dict[str, int]:
    """Forget scheduler rows and finished task results older than ``keep_days``."""
    from django_tasks_db.models import DBTaskResult

    cutoff = clock.now() - timedelta(days=keep_days)
    with transaction.atomic():
        runs, _ = ScheduledRun.objects.filter(period_start__lt=cutoff).delete()
        results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return {"scheduled_runs": runs, "task_results": results}


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
