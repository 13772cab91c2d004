"""Prometheus metrics: requests by route, and business gauges computed when scraped.

Request metrics are counted in the process that served the request. Under gunicorn with
several workers, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``civitas serve``) makes each worker write
its counts to files there, and a scrape of any worker adds up all of them. prometheus_client
chooses its mode when the first metric is made, so metrics are made on first use, never at
import.

Business gauges (open appeals by status, overdue appeals, queued and running tasks, outbox
messages pending or failed, the age of each scheduled job's last run) are read from the
database by the process answering the scrape, with short indexed queries under a statement
timeout, so they never disagree between workers. (The scheduled jobs' label is ``name``:
Prometheus keeps ``job`` for its own scrape jobs.)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUERY_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_lock = threading.Lock()
_made: dict[str, Any] = {}


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def _metrics() -> dict[str, Any]:
    if _made:
        return _made
    with _lock:
        if not _made:
            from prometheus_client import Counter, Histogram

            _made["requests"] = Counter(
                "civitas_http_requests",
                "HTTP requests answered, by method, route pattern and status class.",
                ["method", "route", "status"],
                registry=None,
            )
            _made["duration"] = Histogram(
                "civitas_http_request_duration_seconds",
                "Time to answer a request (until the response is handed to the server).",
                ["method", "route"],
                buckets=BUCKETS,
                registry=None,
            )
            _made["queries"] = Histogram(
                "civitas_http_request_db_queries",
                "Database queries made while answering a request.",
                ["route"],
                buckets=QUERY_BUCKETS,
                registry=None,
            )
    return _made


def observe(method: str, route: str, status: int, seconds: float, queries: int | None) -> None:
    m = _metrics()
    method = method if method in METHODS else "OTHER"
    m["requests"].labels(method, route, f"{status // 100}xx").inc()
    m["duration"].labels(method, route).observe(seconds)
    if queries is not None:
        m["queries"].labels(route).observe(queries)


@contextmanager
def _folder_lock(path: str, *, exclusive: bool) -> Iterator[None]:
    """Scrapes read the folder under a shared lock; merging a dead worker's files takes it
    exclusively, so a scrape never sees a file half merged or vanish under it."""
    with open(os.path.join(path, ".lock"), "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def exposition() -> tuple[bytes, str]:
    """The text a scrape receives, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    path = multiprocess_dir()
    requests = CollectorRegistry(auto_describe=False)
    if path:
        MultiProcessCollector(requests, path=path)
        with _folder_lock(path, exclusive=False):
            text = generate_latest(requests)
    else:
        for metric in _metrics().values():
            requests.register(metric)
        text = generate_latest(requests)
    business = CollectorRegistry(auto_describe=False)
    business.register(BusinessCollector())
    return text + generate_latest(business), CONTENT_TYPE_LATEST


def merge_dead_worker(pid: int) -> None:
    """Fold the counts of a worker that exited into ``*_archive.db`` and delete its files.

    gunicorn replaces each worker after ``--max-requests``; without this every replaced worker
    would leave files that each scrape reads for as long as the server runs. Counters and
    histograms add up across files, so the totals a scrape sees do not change. Called by
    ``civitas serve``'s master when a worker exits.
    """
    path = multiprocess_dir()
    if not path:
        return
    from prometheus_client.mmap_dict import MmapedDict

    with _folder_lock(path, exclusive=True):
        for kind in ("counter", "histogram"):
            dead = os.path.join(path, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            archive = MmapedDict(os.path.join(path, f"{kind}_archive.db"))
            try:
                for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(dead):
                    before, _ = archive.read_value(key)
                    archive.write_value(key, before + value, timestamp)
            finally:
                archive.close()
            os.unlink(dead)


class BusinessCollector:
    """Gauges read from the database at scrape time."""

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("civitas_database_up", "Whether the scrape could read the database.")
        try:
            families = list(_business())
        except Exception as exc:  # the database is down or slow: say so, keep the rest
            log.warning("metrics: business gauges unavailable: %s", type(exc).__name__)
            connection.close_if_unusable_or_obsolete()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


def _business() -> Iterator[Any]:
    from django_tasks_db.models import DBTaskResult
    from prometheus_client.core import GaugeMetricFamily

    from civitas.appeals.models import OPEN_STATUSES, Appeal
    from civitas.kit import clock, scheduler
    from civitas.kit.models import OutboxMessage, ScheduledRun, WorkerBeat

    now = clock.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET LOCAL statement_timeout = 2000")

        by_status = dict(
            Appeal.objects.filter(status__in=sorted(OPEN_STATUSES))
            .order_by()
            .values_list("status")
            .annotate(n=_count())
            .values_list("status", "n")
        )
        appeals = GaugeMetricFamily(
            "civitas_appeals_open", "Open appeals by status.", labels=["status"]
        )
        for status in sorted(OPEN_STATUSES):
            appeals.add_metric([str(status)], by_status.get(status, 0))

        overdue = GaugeMetricFamily(
            "civitas_appeals_overdue", "Open appeals past their resolve-by time."
        )
        overdue.add_metric(
            [],
            Appeal.objects.filter(status__in=sorted(OPEN_STATUSES), resolve_due__lt=now).count(),
        )

        task_counts = dict(
            DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
            .order_by()
            .values_list("status")
            .annotate(n=_count())
            .values_list("status", "n")
        )
        tasks = GaugeMetricFamily(
            "civitas_tasks", "Background tasks queued (ready) or running.", labels=["status"]
        )
        for task_status in ("READY", "RUNNING"):
            tasks.add_metric([task_status.lower()], task_counts.get(task_status, 0))

        outbox_counts = dict(
            OutboxMessage.objects.filter(state__in=["pending", "failed"])
            .order_by()
            .values_list("state")
            .annotate(n=_count())
            .values_list("state", "n")
        )
        outbox = GaugeMetricFamily(
            "civitas_outbox_messages", "Notifications waiting or given up.", labels=["state"]
        )
        for state in ("pending", "failed"):
            outbox.add_metric([state], outbox_counts.get(state, 0))

        workers = GaugeMetricFamily(
            "civitas_workers_alive", "Background workers seen in the last two minutes."
        )
        workers.add_metric(
            [],
            WorkerBeat.objects.filter(
                stopped_at__isnull=True, seen_at__gte=now - _minutes(2)
            ).count(),
        )

        period = GaugeMetricFamily(
            "civitas_scheduled_job_period_seconds", "Each scheduled job's period.", labels=["name"]
        )
        age = GaugeMetricFamily(
            "civitas_scheduled_job_last_finished_age_seconds",
            "Seconds since each scheduled job last finished a run (absent: never).",
            labels=["name"],
        )
        failed = GaugeMetricFamily(
            "civitas_scheduled_job_last_failed",
            "1 when a job's last finished run failed.",
            labels=["name"],
        )
        for job in scheduler.jobs():
            period.add_metric([job.name], job.period)
            last = (
                ScheduledRun.objects.filter(name=job.name, finished_at__isnull=False)
                .order_by("-period_start")
                .values_list("finished_at", "ok")
                .first()
            )
            if last is not None and last[0] is not None:
                age.add_metric([job.name], max(0.0, (now - last[0]).total_seconds()))
                failed.add_metric([job.name], 0 if last[1] else 1)
    yield from (appeals, overdue, tasks, outbox, workers, period, age, failed)


def _count() -> Count:
    return Count("*")


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
