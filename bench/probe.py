"""Tasks and a periodic job for bench/worker_bench.py and bench/fault_run.py.

Workers import this module by its task path (``probe.noop``), so they run with ``bench/`` on
PYTHONPATH. For the fault run, ``probe_settings`` also installs ``ProbeConfig``, which
registers the periodic job ``probe.tick`` (every PROBE_PERIOD seconds, default 5).

``record(key, seconds)`` counts every attempt in ``probe_attempts`` and writes its effect in
``probe_effects`` once per key, as a real idempotent job would (it checks under a lock before
writing): ``probe_effects`` must end with exactly one row per queued key. ``tick`` writes
one ``probe_periods`` row per run, with the run's period, so a period run twice shows as two
rows. The tables are made by ``make_tables()`` (raw SQL, PostgreSQL).
"""

from __future__ import annotations

import os
import time

from django.apps import AppConfig
from django.db import connection, transaction
from django_tasks import task

TABLES = """
CREATE TABLE IF NOT EXISTS probe_attempts (
    id bigserial PRIMARY KEY, key text NOT NULL, pid int NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS probe_effects (
    id bigserial PRIMARY KEY, key text NOT NULL, pid int NOT NULL, at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS probe_periods (
    id bigserial PRIMARY KEY, run_id bigint, period_start timestamptz, pid int NOT NULL,
    at timestamptz DEFAULT now());
"""


def make_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(TABLES)


@task()
def noop() -> None:
    """Nothing: for measuring the queue itself."""


@task()
def record(key: str, seconds: float = 0.0) -> str:
    with connection.cursor() as cursor:  # autocommit: an attempt killed later still counts
        cursor.execute("INSERT INTO probe_attempts (key, pid) VALUES (%s, %s)", [key, os.getpid()])
    if seconds:
        time.sleep(seconds)  # a kill -9 here leaves an attempt without an effect
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
        cursor.execute("SELECT count(*) FROM probe_effects WHERE key = %s", [key])
        if cursor.fetchone()[0]:
            return f"{key}: already done"
        cursor.execute("INSERT INTO probe_effects (key, pid) VALUES (%s, %s)", [key, os.getpid()])
    return key


def tick() -> str:
    """The periodic probe: one row per run, with the run's own period."""
    from civitas.kit import scheduler

    run = scheduler.current()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO probe_periods (run_id, period_start, pid) VALUES (%s, %s, %s)",
            [run.pk if run else None, run.period_start if run else None, os.getpid()],
        )
    return "ticked"


class ProbeConfig(AppConfig):
    name = "probe"
    label = "probe"

    def ready(self) -> None:
        from civitas.kit import scheduler

        scheduler.register("probe.tick", int(os.environ.get("PROBE_PERIOD", "5")), "probe.tick")
