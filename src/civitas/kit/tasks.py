"""Background tasks of the kit, and running queued tasks inside ``civitas worker``.

Tasks go through Django's task interface (the ``django-tasks`` backport); the default backend
keeps them in the database (``django-tasks-db``), so a task queued inside a transaction is
committed or rolled back with it.

Claims, leases and re-delivery
------------------------------
A worker claims a task under a row lock (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL,
an exclusive transaction on SQLite), marks it RUNNING with its own id appended to the task's
``worker_ids`` and commits; no other worker sees it again. The outcome is recorded only if
the task is still RUNNING under that worker's id (a fence: a worker whose task was taken over
does not overwrite the new attempt).

Every worker process keeps a ``WorkerBeat`` row fresh from a background thread (its own
database connection, so a long task keeps beating). A RUNNING task whose worker has not been
seen for ``CIVITAS_WORKER_LEASE_SECONDS`` (default 60) was lost with its worker (``kill -9``,
a machine gone): ``requeue_stale()``, which every worker calls a few times a minute, puts it
back in the queue. The number of claims is the attempt count; after
``CIVITAS_WORKER_MAX_ATTEMPTS`` (default 3) the task is failed with ``WorkerLost`` instead, so
a task that kills its worker cannot take down the pool for ever.

Re-delivery means a task may run again after a crash, so every task is idempotent: the
scheduler's ``run_job`` claims its ScheduledRun row and skips a finished one, the outbox
claims each message, Open311's ``create_pending`` each pending request, the hub's
``load_batch`` refuses a batch already loaded, and a repeated ``train_now`` adds a model
version that is kept only if it scores better.

Leases use the real time (``django.utils.timezone.now``), not ``civitas.kit.clock``, which
tests freeze for the periods of the schedule.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.utils import OperationalError
from django.utils import timezone
from django_tasks import task

from civitas.kit import logctx

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
MAX_ATTEMPTS = 3


class WorkerLost(Exception):
    """The worker running a task stopped answering (killed, or its machine gone)."""


@task()
def run_job(run_id: int) -> str:
    """Run the periodic job of a claimed period (see civitas.kit.scheduler)."""
    from civitas.kit import scheduler

    return scheduler.execute(run_id)


def lease_seconds() -> float:
    return float(getattr(settings, "CIVITAS_WORKER_LEASE_SECONDS", LEASE_SECONDS))


def max_attempts() -> int:
    return max(1, int(getattr(settings, "CIVITAS_WORKER_MAX_ATTEMPTS", MAX_ATTEMPTS)))


def beat_seconds() -> float:
    """How often a worker says it is alive: a quarter of the lease, at most every 5 s."""
    return max(0.2, min(5.0, lease_seconds() / 4))


def new_worker_id(name: str = "") -> str:
    """An id for one worker process: its name (host:pid by default) and a random suffix, so a
    worker restarted under the same name does not pass for the one that died."""
    base = (name or f"{socket.gethostname()}:{os.getpid()}")[:50]
    return f"{base}~{secrets.token_hex(4)}"


# -- heartbeat ---------------------------------------------------------------------------------


class Heartbeat:
    """Keeps this worker's WorkerBeat row fresh from a daemon thread with its own connection."""

    def __init__(self, worker_id: str, interval: float | None = None) -> None:
        self.worker_id = worker_id
        self.interval = beat_seconds() if interval is None else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.started_at = timezone.now()

    def beat(self) -> None:
        from civitas.kit.models import WorkerBeat

        now = timezone.now()
        if not WorkerBeat.objects.filter(worker_id=self.worker_id).update(
            seen_at=now, stopped_at=None
        ):
            WorkerBeat.objects.update_or_create(
                worker_id=self.worker_id,
                defaults={
                    "host": socket.gethostname()[:120],
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "seen_at": now,
                    "stopped_at": None,
                },
            )

    def start(self) -> Heartbeat:
        try:
            self.beat()  # at once, so that the first claim is covered
        except Exception as exc:  # the thread tries again
            log.warning("worker %s: first heartbeat failed: %s", self.worker_id, exc)
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat {self.worker_id}", daemon=True
        )
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception as exc:  # the database may be restarting
                    if not self._failing:
                        log.warning("worker %s: heartbeat failed: %s", self.worker_id, exc)
                    self._failing = True
                    connection.close()
                else:
                    if self._failing:
                        log.warning("worker %s: heartbeat recovered", self.worker_id)
                    self._failing = False
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop beating and mark the worker stopped (it holds no task any more)."""
        from civitas.kit.models import WorkerBeat

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            WorkerBeat.objects.filter(worker_id=self.worker_id).update(stopped_at=timezone.now())
        except Exception as exc:
            log.warning("worker %s: could not record its stop: %s", self.worker_id, exc)

    def count(self, ran: int) -> None:
        from civitas.kit.models import WorkerBeat

        if ran:
            WorkerBeat.objects.filter(worker_id=self.worker_id).update(
                tasks_run=F("tasks_run") + ran
            )


# -- re-delivery -------------------------------------------------------------------------------


def requeue_stale(*, backend_name: str = "default") -> dict[str, int]:
    """Queue again every RUNNING task whose worker has not been seen within the lease (fail
    it with WorkerLost after the last attempt); return how many were requeued and given up.
    Safe to call from any number of workers at once."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from civitas.kit import broker
    from civitas.kit.models import WorkerBeat

    now = timezone.now()
    cutoff = now - timedelta(seconds=lease_seconds())
    counts = {"requeued": 0, "given_up": 0}
    with transaction.atomic():
        running = list(
            DBTaskResult.objects.select_for_update(skip_locked=True)
            .filter(status=TaskResultStatus.RUNNING, backend_name=backend_name)
            .order_by("started_at")
        )
        if not running:
            return counts
        holders = {w for r in running for w in r.worker_ids[-1:]}
        beats = {
            b.worker_id: b
            for b in WorkerBeat.objects.filter(worker_id__in=holders).only(
                "worker_id", "seen_at", "stopped_at"
            )
        }
        for row in running:
            holder = row.worker_ids[-1] if row.worker_ids else ""
            beat = beats.get(holder)
            if beat is not None:
                lost = beat.stopped_at is not None or beat.seen_at < cutoff
            else:  # a worker that never beat (an old one, or another runner): by its start
                lost = row.started_at is None or row.started_at < cutoff
            if not lost:
                continue
            attempts = len(row.worker_ids)
            if attempts >= max_attempts():
                row.status = TaskResultStatus.FAILED
                row.finished_at = now
                row.return_value = None
                row.exception_class_path = f"{WorkerLost.__module__}.{WorkerLost.__qualname__}"
                row.traceback = (
                    f"WorkerLost: worker {holder or '?'} stopped answering while running this "
                    f"task (attempt {attempts} of {max_attempts()}); given up. Run it again "
                    "once the cause is found (see the worker's log)."
                )
                row.save(
                    update_fields=[
                        "status",
                        "finished_at",
                        "return_value",
                        "exception_class_path",
                        "traceback",
                    ]
                )
                counts["given_up"] += 1
                log.error(
                    "task %s (%s) given up after %d attempts: worker %s lost",
                    row.pk,
                    row.task_path,
                    attempts,
                    holder,
                )
            else:
                row.status = TaskResultStatus.READY
                row.save(update_fields=["status"])
                counts["requeued"] += 1
                log.warning(
                    "task %s (%s) requeued (attempt %d of %d): worker %s lost",
                    row.pk,
                    row.task_path,
                    attempts,
                    max_attempts(),
                    holder,
                )
        if counts["requeued"]:
            transaction.on_commit(broker.wake)
    return counts


# -- running -----------------------------------------------------------------------------------


@dataclass
class _Unrecorded:
    """Outcomes that could not be written (the database went away): written next round."""

    items: list[tuple[Any, bool, Any]] = field(default_factory=list)


_unrecorded: dict[str, _Unrecorded] = {}


def run_ready(*, worker_id: str, backend_name: str = "default", limit: int | None = None) -> int:
    """Run queued tasks of the database backend until none is ready (or ``limit`` ran);
    return how many ran. Each task is claimed under a row lock (SKIP LOCKED on PostgreSQL,
    an exclusive transaction on SQLite), so concurrent workers never run one task twice.
    Does nothing for other backends (the immediate backend runs tasks when they are queued).
    """
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

    if not isinstance(task_backends[backend_name], DatabaseBackend):
        return 0
    worker_id = worker_id[:64]
    _record_pending(worker_id)
    ran = 0
    while limit is None or ran < limit:
        ready = DBTaskResult.objects.ready().filter(backend_name=backend_name)
        try:
            with exclusive_transaction(ready.db):
                found = ready.get_locked()
                if found is not None:
                    found.claim(worker_id)
        except OperationalError as exc:
            if not is_locked_database_exception(exc):
                raise
            break  # SQLite is busy: try again on the next round
        if found is None:
            break
        _run(found, worker_id)
        ran += 1
    return ran


def _run(row: Any, worker_id: str) -> None:
    with logctx.bind(task_id=row.pk, task=row.task_path.rsplit(".", 1)[-1]):
        _run_bound(row, worker_id)


def _run_bound(row: Any, worker_id: str) -> None:
    from django_tasks.signals import task_finished, task_started

    ok, value = False, None
    sender: Any = None
    try:
        the_task = row.task
        result = row.task_result
        sender = type(the_task.get_backend())
        task_started.send(sender=sender, task_result=result)
        if the_task.takes_context:
            from django_tasks import TaskContext

            value = the_task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
        else:
            value = the_task.call(*result.args, **result.kwargs)
        json.dumps(value)  # a result that cannot be stored is a failure, said as such
        ok = True
    except BaseException as exc:
        value = exc
        if not isinstance(exc, Exception):
            _record(row, worker_id, ok, value)
            raise
    try:
        _record(row, worker_id, ok, value)
    except Exception as exc:  # the database went away: keep the outcome, write it later
        log.warning("task %s: outcome not recorded yet (%s); retrying", row.pk, exc)
        _unrecorded.setdefault(worker_id, _Unrecorded()).items.append((row.pk, ok, value))
        connection.close()
        return
    if sender is not None:
        try:
            row.refresh_from_db()
            task_finished.send(sender=sender, task_result=row.task_result)
        except Exception:  # noqa: S110 - only the signal's log line is lost
            pass


def _record(row: Any, worker_id: str, ok: bool, value: Any) -> bool:
    """Write the outcome if this worker still holds the task; False if it was taken over."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        held = DBTaskResult.objects.select_for_update().filter(pk=row.pk).first()
        if (
            held is None
            or held.status != TaskResultStatus.RUNNING
            or held.worker_ids[-1:] != [worker_id]
        ):
            log.warning(
                "task %s was taken over by another worker while %s ran it; outcome dropped",
                row.pk,
                worker_id,
            )
            return False
        if ok:
            held.set_successful(value)
        else:
            held.set_failed(value)
    return True


def _record_pending(worker_id: str) -> None:
    pending = _unrecorded.get(worker_id)
    if not pending or not pending.items:
        return
    from django_tasks_db.models import DBTaskResult

    while pending.items:
        pk, ok, value = pending.items[0]
        row = DBTaskResult.objects.filter(pk=pk).first()
        if row is not None:
            _record(row, worker_id, ok, value)
        pending.items.pop(0)


def overview(*, failed: int = 10) -> dict[str, Any]:
    """The workers, the queue by status, the running tasks and the latest failures."""
    from django.db.models import Count
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from civitas.kit.models import WorkerBeat

    cutoff = timezone.now() - timedelta(seconds=lease_seconds())
    workers = [
        {
            "worker_id": b.worker_id,
            "host": b.host,
            "pid": b.pid,
            "started_at": b.started_at,
            "seen_at": b.seen_at,
            "tasks_run": b.tasks_run,
            "state": "stopped" if b.stopped_at else ("alive" if b.seen_at >= cutoff else "lost"),
        }
        for b in WorkerBeat.objects.filter(seen_at__gte=timezone.now() - timedelta(days=1))
    ]
    by_status = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())
    running = [
        {
            "id": str(r.pk),
            "task": r.task_path.rsplit(".", 1)[-1],
            "worker": (r.worker_ids or ["?"])[-1],
            "attempt": len(r.worker_ids),
            "started_at": r.started_at,
        }
        for r in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).order_by(
            "started_at"
        )[:50]
    ]
    failures = [
        {
            "id": str(r.pk),
            "task": r.task_path.rsplit(".", 1)[-1],
            "attempts": len(r.worker_ids),
            "finished_at": r.finished_at,
            "error": (r.traceback.strip().splitlines() or [""])[-1][:160],
        }
        for r in DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).order_by(
            "-finished_at"
        )[:failed]
    ]
    return {"workers": workers, "tasks": by_status, "running": running, "failed": failures}
