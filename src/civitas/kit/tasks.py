"""Background tasks of the kit, and running queued tasks inside ``civitas worker``.

Tasks go through Django's task interface (the ``django-tasks`` backport); the default backend
keeps them in the database (``django-tasks-db``), so a task queued inside a transaction is
committed or rolled back with it.
"""

from __future__ import annotations

import logging

from django.db.utils import OperationalError
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def run_job(run_id: int) -> str:
    """Run the periodic job of a claimed period (see civitas.kit.scheduler)."""
    from civitas.kit import scheduler

    return scheduler.execute(run_id)


def run_ready(*, worker_id: str, backend_name: str = "default", limit: int | None = None) -> int:
    """Run queued tasks of the database backend until none is ready (or ``limit`` ran);
    return how many ran. Each task is claimed under a row lock (SKIP LOCKED on PostgreSQL,
    an exclusive transaction on SQLite), so concurrent workers never run one task twice.
    Does nothing for other backends (the immediate backend runs tasks when they are queued).
    """
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

    if not isinstance(task_backends[backend_name], DatabaseBackend):
        return 0
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend_name,
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id[:64],
        excluded_queue_names=[],
    )
    ran = 0
    while limit is None or ran < limit:
        ready = DBTaskResult.objects.ready().filter(backend_name=backend_name)
        try:
            with exclusive_transaction(ready.db):
                found = ready.get_locked()
                if found is not None:
                    found.claim(worker.worker_id)
        except OperationalError as exc:
            if not is_locked_database_exception(exc):
                raise
            break  # SQLite is busy: try again on the next round
        if found is None:
            break
        worker.run_task(found)
        ran += 1
    return ran
