"""Periodic jobs run once per period, through the database task queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from civitas.kit import clock, scheduler, tasks
from civitas.kit.models import ScheduledRun

CALLS: list[str] = []
_lock = threading.Lock()


def echo_job() -> dict[str, int]:
    with _lock:
        CALLS.append("echo")
    return {"echoed": len(CALLS)}


def broken_job() -> None:
    raise RuntimeError("the job broke")


@pytest.fixture
def only(request: Any) -> Iterator[None]:
    """Replace the registry with the two test jobs for the duration of a test."""
    saved = dict(scheduler._registry)
    scheduler._registry.clear()
    scheduler.register("test.echo", 60, "tests.kit.test_scheduler.echo_job")
    scheduler.register("test.hourly", 3600, "tests.kit.test_scheduler.echo_job")
    CALLS.clear()
    yield
    scheduler._registry.clear()
    scheduler._registry.update(saved)
    CALLS.clear()


T0 = datetime(2025, 3, 7, 2, 30, 15, tzinfo=UTC)  # 10:30:15 in Shanghai


class TestPeriods:
    @override_settings(TIME_ZONE="Asia/Shanghai")
    def test_periods_that_divide_a_day_align_to_local_midnight(self) -> None:
        assert scheduler.period_start(60, T0) == datetime(2025, 3, 7, 2, 30, tzinfo=UTC)
        assert scheduler.period_start(3600, T0) == datetime(2025, 3, 7, 2, 0, tzinfo=UTC)
        # a day starts at 00:00 in Shanghai, 16:00 UTC the day before
        assert scheduler.period_start(86400, T0) == datetime(2025, 3, 6, 16, 0, tzinfo=UTC)

    @override_settings(TIME_ZONE="America/New_York")
    def test_daily_period_in_a_dst_zone(self) -> None:
        # after spring-forward New York is UTC-4: the day starts at 04:00 UTC
        now = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
        assert scheduler.period_start(86400, now) == datetime(2025, 3, 12, 4, 0, tzinfo=UTC)

    def test_long_periods_align_to_the_epoch(self) -> None:
        week = 7 * 86400
        start = scheduler.period_start(week, T0)
        assert start <= T0 < start + timedelta(seconds=week)
        assert start.timestamp() % week == 0

    def test_naive_now_is_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            scheduler.period_start(60, datetime(2025, 1, 1))


class TestRegistry:
    def test_registering_again_is_harmless_but_a_clash_is_refused(self, only: None) -> None:
        scheduler.register("test.echo", 60, "tests.kit.test_scheduler.echo_job")
        with pytest.raises(ValueError, match="already registered"):
            scheduler.register("test.echo", 120, "tests.kit.test_scheduler.echo_job")

    @pytest.mark.parametrize(
        ("name", "period", "target"),
        [("", 60, "a.b"), ("x", 0, "a.b"), ("x", 1.5, "a.b"), ("x", 60, "nodots")],
    )
    def test_bad_registrations(self, name: str, period: Any, target: str) -> None:
        with pytest.raises(ValueError):
            scheduler.register(name, period, target)

    def test_settings_change_a_period_or_switch_a_job_off(self, only: None) -> None:
        with override_settings(CIVITAS_SCHEDULE={"test.echo": 0, "test.hourly": 7200}):
            assert [(j.name, j.period) for j in scheduler.jobs()] == [("test.hourly", 7200)]

    def test_the_platform_jobs_are_registered(self) -> None:
        names = {j.name for j in scheduler.jobs()}
        assert {"kit.outbox", "kit.prune", "appeals.deadlines", "appeals.auto_close"} <= names
        assert scheduler.job("appeals.deadlines").period == 60  # type: ignore[union-attr]
        assert scheduler.job("appeals.auto_close").period == 3600  # type: ignore[union-attr]


@pytest.mark.django_db
class TestTick:
    def test_a_period_is_claimed_once(self, only: None) -> None:
        assert scheduler.tick(now=T0, worker="a") == ["test.echo", "test.hourly"]
        assert scheduler.tick(now=T0 + timedelta(seconds=30), worker="b") == []
        assert scheduler.tick(now=T0 + timedelta(seconds=60), worker="b") == ["test.echo"]
        assert ScheduledRun.objects.filter(name="test.echo").count() == 2
        assert ScheduledRun.objects.filter(name="test.hourly").count() == 1
        assert DBTaskResult.objects.count() == 3  # queued, not yet run
        assert CALLS == []

    def test_the_database_backend_runs_the_queued_jobs(self, only: None) -> None:
        scheduler.tick(now=T0, worker="a")
        assert tasks.run_ready(worker_id="w1") == 2
        assert tasks.run_ready(worker_id="w1") == 0
        assert CALLS == ["echo", "echo"]
        run = ScheduledRun.objects.get(name="test.echo")
        assert run.ok is True and run.finished_at is not None
        assert run.outcome.startswith("{'echoed'")
        assert DBTaskResult.objects.successful().count() == 2

    def test_a_failing_job_is_recorded(self, only: None) -> None:
        scheduler._registry.clear()
        scheduler.register("test.broken", 60, "tests.kit.test_scheduler.broken_job")
        scheduler.tick(now=T0)
        assert tasks.run_ready(worker_id="w1") == 1
        run = ScheduledRun.objects.get(name="test.broken")
        assert run.ok is False
        assert "the job broke" in run.outcome
        assert DBTaskResult.objects.failed().count() == 1

    def test_a_job_unknown_to_the_runner_fails_cleanly(self, only: None) -> None:
        scheduler.tick(now=T0)
        scheduler._registry.pop("test.hourly")
        tasks.run_ready(worker_id="w1")
        run = ScheduledRun.objects.get(name="test.hourly")
        assert run.ok is False and "no job named" in run.outcome

    def test_status_and_prune(self, only: None) -> None:
        with clock.frozen(T0):
            scheduler.tick()
            tasks.run_ready(worker_id="w1")
        rows = {r["name"]: r for r in scheduler.status()}
        assert rows["test.echo"]["ok"] is True
        with clock.frozen(T0 + timedelta(days=31)):
            pruned = scheduler.prune(keep_days=30)
        assert pruned["scheduled_runs"] == 2
        assert not ScheduledRun.objects.exists()


@pytest.mark.django_db(transaction=True)
class TestWorkerCommand:
    def test_once_queues_and_runs(self, only: None, capsys: pytest.CaptureFixture[str]) -> None:
        call_command("worker", "--once", worker_id="test")
        out = capsys.readouterr().out
        assert "queued test.echo, test.hourly; ran 2 task(s)" in out
        assert CALLS == ["echo", "echo"]
        call_command("worker", "--once", worker_id="test")
        assert len(CALLS) == 2  # same periods: nothing more

    def test_list(self, only: None, capsys: pytest.CaptureFixture[str]) -> None:
        call_command("worker", "--list")
        assert "test.echo\tevery 60s\ttests.kit.test_scheduler.echo_job\tlast never" in (
            capsys.readouterr().out
        )


def _needs_threads() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")


@pytest.mark.django_db(transaction=True)
class TestConcurrentSchedulers:
    def test_two_schedulers_claim_each_period_once(self, only: None) -> None:
        _needs_threads()
        claimed: list[list[str]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(2)

        def run(name: str) -> None:
            try:
                for i in range(20):
                    now = T0 + timedelta(seconds=60 * i)
                    barrier.wait()
                    claimed.append(scheduler.tick(now=now, worker=name))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=run, args=(f"s{n}",)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        names = sorted(n for c in claimed for n in c)
        assert names.count("test.echo") == 20  # 20 minutes, each claimed by exactly one
        assert names.count("test.hourly") == 1
        assert ScheduledRun.objects.count() == 21
        assert DBTaskResult.objects.count() == 21
        by = set(ScheduledRun.objects.values_list("claimed_by", flat=True))
        assert by <= {"s0", "s1"}

        # two workers drain the queue: every task runs once
        ran: list[int] = []

        def work(name: str) -> None:
            try:
                ran.append(tasks.run_ready(worker_id=name))
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(ran) == 21
        assert len(CALLS) == 21
        assert DBTaskResult.objects.successful().count() == 21
