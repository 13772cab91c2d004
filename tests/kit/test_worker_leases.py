"""Workers: leases and re-delivery, a re-delivered scheduled run, racing workers, the broker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from civitas.kit import broker, clock, logctx, scheduler, tasks
from civitas.kit.models import ScheduledRun, WorkerBeat

RAN: list[str] = []
_lock = threading.Lock()


@task()
def note(key: str) -> str:
    with _lock:
        RAN.append(key)
    return key


@task()
def note_context() -> dict[str, str]:
    return logctx.current()  # what every log line of the task carries


def counting_job() -> int:
    with _lock:
        RAN.append("job")
    return len(RAN)


def context_job() -> dict[str, str]:
    return logctx.current()  # what every log line of the job carries


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    RAN.clear()
    yield
    RAN.clear()


@pytest.fixture
def only_counting_job() -> Iterator[None]:
    saved = dict(scheduler._registry)
    scheduler._registry.clear()
    scheduler.register("test.count", 60, "tests.kit.test_worker_leases.counting_job")
    yield
    scheduler._registry.clear()
    scheduler._registry.update(saved)


def _claimed_by(worker_id: str, *, seen_ago: float | None, started_ago: float = 0) -> Any:
    """A task RUNNING under ``worker_id``, whose beat was last seen ``seen_ago`` s ago (None:
    the worker never beat)."""
    result = note.enqueue("lost")
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker_id)
    now = timezone.now()
    if started_ago:
        DBTaskResult.objects.filter(pk=row.pk).update(
            started_at=now - timedelta(seconds=started_ago)
        )
    if seen_ago is not None:
        WorkerBeat.objects.create(
            worker_id=worker_id,
            started_at=now - timedelta(seconds=seen_ago + 10),
            seen_at=now - timedelta(seconds=seen_ago),
        )
    return row


@pytest.fixture
def lease(settings: Any) -> None:
    settings.CIVITAS_WORKER_LEASE_SECONDS = 60
    settings.CIVITAS_WORKER_MAX_ATTEMPTS = 3


@pytest.mark.django_db
@pytest.mark.usefixtures("lease")
class TestLeases:
    def test_a_task_of_a_dead_worker_is_requeued_and_finished_by_another(self) -> None:
        row = _claimed_by("dead~0001", seen_ago=120)
        assert tasks.requeue_stale() == {"requeued": 1, "given_up": 0}
        row.refresh_from_db()
        assert row.status == "READY"
        assert tasks.run_ready(worker_id="alive~0002") == 1
        row.refresh_from_db()
        assert row.status == "SUCCESSFUL"
        assert row.worker_ids == ["dead~0001", "alive~0002"]  # two attempts
        assert RAN == ["lost"]

    def test_lines_logged_by_a_task_carry_its_id(self) -> None:
        result = note_context.enqueue()
        assert tasks.run_ready(worker_id="w~log") == 1
        result.refresh()
        assert result.return_value == {"task_id": str(result.id), "task": "note_context"}
        assert logctx.current() == {}

    def test_a_task_of_a_live_worker_stays_with_it(self) -> None:
        row = _claimed_by("busy~0001", seen_ago=3, started_ago=600)  # a long task, still beating
        assert tasks.requeue_stale() == {"requeued": 0, "given_up": 0}
        row.refresh_from_db()
        assert row.status == "RUNNING"
        assert tasks.run_ready(worker_id="other~0002") == 0

    def test_a_stopped_worker_holds_nothing(self) -> None:
        row = _claimed_by("gone~0001", seen_ago=1)
        WorkerBeat.objects.filter(worker_id="gone~0001").update(stopped_at=timezone.now())
        assert tasks.requeue_stale()["requeued"] == 1
        row.refresh_from_db()
        assert row.status == "READY"

    def test_a_worker_that_never_beat_is_judged_by_the_start_of_its_task(self) -> None:
        fresh = _claimed_by("old-runner", seen_ago=None, started_ago=5)
        assert tasks.requeue_stale()["requeued"] == 0
        DBTaskResult.objects.filter(pk=fresh.pk).update(
            started_at=timezone.now() - timedelta(seconds=61)
        )
        assert tasks.requeue_stale()["requeued"] == 1

    def test_given_up_after_the_last_attempt_and_listed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        row = _claimed_by("w~1", seen_ago=300)
        DBTaskResult.objects.filter(pk=row.pk).update(worker_ids=["w~a", "w~b", "w~1"])
        assert tasks.requeue_stale() == {"requeued": 0, "given_up": 1}
        row.refresh_from_db()
        assert row.status == "FAILED"
        assert row.exception_class_path == "civitas.kit.tasks.WorkerLost"
        assert "attempt 3 of 3" in row.traceback
        assert RAN == []  # never run by the sweep itself
        call_command("worker", "--list")
        out = capsys.readouterr().out
        assert f"failed {row.pk} note" in out
        assert "after 3 attempt(s)" in out
        assert "w~1\tlost" in out

    def test_an_outcome_is_dropped_when_the_task_was_taken_over(self) -> None:
        row = _claimed_by("slow~0001", seen_ago=120)
        tasks.requeue_stale()
        DBTaskResult.objects.get(pk=row.pk).claim("new~0002")
        # the first worker comes back and tries to record its outcome: refused
        assert tasks._record(row, "slow~0001", True, "late") is False
        held = DBTaskResult.objects.get(pk=row.pk)
        assert (held.status, held.worker_ids) == ("RUNNING", ["slow~0001", "new~0002"])
        assert tasks._record(held, "new~0002", True, "done") is True
        assert DBTaskResult.objects.get(pk=row.pk).return_value == "done"

    def test_worker_ids_differ_for_the_same_name(self) -> None:
        a, b = tasks.new_worker_id("host:1"), tasks.new_worker_id("host:1")
        assert a != b and a.startswith("host:1~") and len(a) <= 64


@pytest.mark.django_db(transaction=True)
class TestHeartbeat:
    def test_a_heartbeat_keeps_the_lease_while_the_main_thread_is_busy(self) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("the heartbeat thread needs its own connection (PostgreSQL)")
        heart = tasks.Heartbeat("beating~0001", interval=0.05).start()
        try:
            first = WorkerBeat.objects.get(worker_id="beating~0001").seen_at
            time.sleep(0.4)  # the main thread "runs a task"
            later = WorkerBeat.objects.get(worker_id="beating~0001").seen_at
        finally:
            heart.stop()
        assert later > first
        assert WorkerBeat.objects.get(worker_id="beating~0001").stopped_at is not None


T0 = datetime(2025, 3, 7, 2, 30, 15, tzinfo=UTC)


@pytest.mark.django_db
class TestRedeliveredRun:
    def test_a_finished_run_delivered_again_does_not_run_twice(
        self, only_counting_job: None
    ) -> None:
        with clock.frozen(T0):
            assert scheduler.tick(worker="s1") == ["test.count"]
        assert tasks.run_ready(worker_id="w~1") == 1
        assert RAN == ["job"]
        run = ScheduledRun.objects.get(name="test.count")
        assert run.ok is True
        # the same run delivered again (its first worker was declared lost after finishing)
        again = tasks.run_job.enqueue(run.pk)
        assert tasks.run_ready(worker_id="w~2") == 1
        assert RAN == ["job"]
        assert "already finished" in DBTaskResult.objects.get(pk=again.id).return_value

    def test_lines_logged_by_a_job_carry_its_name_and_run(self) -> None:
        saved = dict(scheduler._registry)
        scheduler._registry.clear()
        scheduler.register("test.context", 60, "tests.kit.test_worker_leases.context_job")
        try:
            with clock.frozen(T0):
                assert scheduler.tick(worker="s1") == ["test.context"]
            run = ScheduledRun.objects.get(name="test.context")
            assert scheduler.execute(run.pk)
        finally:
            scheduler._registry.clear()
            scheduler._registry.update(saved)
        run.refresh_from_db()
        assert "'job': 'test.context'" in run.outcome and f"'run_id': '{run.pk}'" in run.outcome

    def test_a_run_whose_worker_died_mid_job_runs_again(self, only_counting_job: None) -> None:
        with clock.frozen(T0):
            scheduler.tick(worker="s1")
        run = ScheduledRun.objects.get(name="test.count")
        ScheduledRun.objects.filter(pk=run.pk).update(started_at=T0)  # begun, never finished
        row = DBTaskResult.objects.get()
        row.claim("dead~1")
        WorkerBeat.objects.create(
            worker_id="dead~1", started_at=T0, seen_at=timezone.now() - timedelta(hours=1)
        )
        assert tasks.requeue_stale()["requeued"] == 1
        assert tasks.run_ready(worker_id="w~2") == 1
        assert RAN == ["job"]
        run.refresh_from_db()
        assert run.ok is True and run.finished_at is not None
        assert DBTaskResult.objects.get().worker_ids == ["dead~1", "w~2"]

    def test_a_run_in_progress_elsewhere_is_skipped(self, only_counting_job: None) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("the session lock of a run is a PostgreSQL advisory lock")
        with clock.frozen(T0):
            scheduler.tick(worker="s1")
        run = ScheduledRun.objects.get(name="test.count")
        held = threading.Event()
        release = threading.Event()

        def other_worker() -> None:  # holds the run's lock as a running job would
            try:
                assert scheduler._hold(run.pk)
                held.set()
                release.wait(10)
                scheduler._release(run.pk)
            finally:
                connection.close()

        t = threading.Thread(target=other_worker)
        t.start()
        held.wait(10)
        try:
            assert "runs elsewhere" in scheduler.execute(run.pk)
        finally:
            release.set()
            t.join()
        assert RAN == []
        scheduler.execute(run.pk)  # the lock released: this delivery runs the job
        assert RAN == ["job"]


@pytest.mark.django_db(transaction=True)
class TestRacingWorkers:
    def test_two_workers_run_fifty_tasks_each_exactly_once(self) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("racing workers need row locks with SKIP LOCKED (PostgreSQL)")
        keys = [f"t{i}" for i in range(50)]
        for k in keys:
            note.enqueue(k)
        barrier = threading.Barrier(2)
        ran: dict[str, int] = {}
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            try:
                barrier.wait(10)
                ran[name] = tasks.run_ready(worker_id=name)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=worker, args=(f"racer~{n}",)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert sorted(RAN) == sorted(keys)  # each exactly once
        assert sum(ran.values()) == 50
        assert min(ran.values()) > 0, ran  # both took part
        assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 50
        assert all(len(w) == 1 for w in DBTaskResult.objects.values_list("worker_ids", flat=True))


def _redis_up() -> bool:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


@pytest.fixture
def channel() -> str:
    return f"civitas-test:{uuid.uuid4().hex}"


@pytest.mark.django_db(transaction=True)  # real commits (and the worker closes connections)
class TestBroker:
    def test_a_queued_task_wakes_an_idle_worker_after_commit(self, channel: str) -> None:
        if not _redis_up():
            pytest.skip("Redis on 127.0.0.1:6379 is not running")
        with override_settings(
            CIVITAS_BROKER_URL="redis://127.0.0.1:6379/0", CIVITAS_BROKER_CHANNEL=channel
        ):
            listener = broker.Listener()
            assert listener.connect()
            try:
                with transaction.atomic():
                    note.enqueue("woken")
                    # not yet committed: nobody is woken
                    assert listener.wait(0.3) is False
                started = time.monotonic()
                assert listener.wait(5) is True
                assert time.monotonic() - started < 1.0
                assert tasks.run_ready(worker_id="w~1") == 1
                assert RAN == ["woken"]
                # an unrelated channel wakes nobody
                with override_settings(CIVITAS_BROKER_CHANNEL=channel + ":other"):
                    assert broker.wake() is True
                assert listener.wait(0.3) is False
            finally:
                listener.close()

    def test_a_closed_broker_port_leaves_the_worker_polling(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with override_settings(CIVITAS_BROKER_URL="redis://127.0.0.1:1/0"):
            broker._publisher.down_until = 0.0
            with transaction.atomic():
                note.enqueue("polled")  # the wake-up after the commit fails quietly
            assert broker._publisher.down is True
            assert broker.wake() is False  # left alone for a while: no new attempt
            listener = broker.Listener()
            assert listener.connect() is False
            started = time.monotonic()
            assert listener.wait(0.5) is False
            assert 0.4 <= time.monotonic() - started < 2.0
            assert listener.failures == 1  # the reconnect waits out its backoff, no spinning
            call_command("worker", "--once", "--no-scheduler")
            assert RAN == ["polled"]
            said = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
            # once by the publisher (whatever the number of wake-ups), once by each listener:
            # this test's and the worker's
            assert sum("workers will poll" in m for m in said) == 1
            assert sum("polling the database" in m for m in said) == 2
        broker._publisher.down_until = 0.0
        broker._publisher.down = False
