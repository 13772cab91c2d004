"""A real ``civitas worker`` killed with SIGKILL in the middle of a task: a second worker
finishes the task once its lease has run out (PostgreSQL; about 15 seconds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django_tasks import task
from django_tasks_db.models import DBTaskResult

ROOT = Path(__file__).resolve().parents[2]


@task()
def marked(key: str, seconds: float) -> str:
    """Writes 'start' (committed at once), sleeps, then writes 'done': a kill during the sleep
    leaves a start without a done."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO test_worker_kill_marks (key, what, pid) VALUES (%s, 'start', %s)",
            [key, os.getpid()],
        )
    time.sleep(seconds)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO test_worker_kill_marks (key, what, pid) VALUES (%s, 'done', %s)",
            [key, os.getpid()],
        )
    return key


def _marks() -> list[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, what, pid FROM test_worker_kill_marks ORDER BY id")
        return [tuple(r) for r in cursor.fetchall()]  # type: ignore[misc]


@pytest.fixture
def marks_table() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS test_worker_kill_marks"
            " (id serial PRIMARY KEY, key text, what text, pid int)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS test_worker_kill_marks")


def _worker(name: str) -> subprocess.Popen[bytes]:
    db = connection.settings_dict
    env = dict(os.environ)
    env |= {
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CIVITAS_DEBUG": "1",
        "CIVITAS_WORKER_LEASE_SECONDS": "2",
        "CIVITAS_BROKER_URL": "",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civitas",
            "worker",
            "--no-scheduler",
            "--interval",
            "0.2",
            "--worker-id",
            name,
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_task_of_a_killed_worker_is_finished_by_another(marks_table: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes share the test database on PostgreSQL only")
    result = marked.enqueue("k1", 2.5)
    first = _worker("first")
    second = None
    try:
        _until(lambda: any(m[1] == "start" for m in _marks()), 20)
        assert _marks()[0][2] == first.pid
        first.send_signal(signal.SIGKILL)  # mid-task: started, not done
        first.wait(5)
        assert [m[1] for m in _marks()] == ["start"]
        row = DBTaskResult.objects.get(pk=result.id)
        assert row.status == "RUNNING"
        second = _worker("second")
        _until(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL", 25)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    row = DBTaskResult.objects.get(pk=result.id)
    assert [w.split("~")[0] for w in row.worker_ids] == ["first", "second"]
    marks = _marks()
    assert [m[1] for m in marks] == ["start", "start", "done"]
    assert marks[2][2] == second.pid  # type: ignore[union-attr]
