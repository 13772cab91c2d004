"""Background work on PostgreSQL: queue throughput and wake-up latency, with and without the
broker.

    .venv/bin/python bench/worker_bench.py [--tasks 400] [--workers 1,2,4] [--samples 10]

On a fresh database ``civitas_bench_workers`` (shared PostgreSQL on 5432, dropped at the end)
and a private Redis on port 6391 (started and stopped here), for each broker mode (off: idle
workers poll every ``--interval`` seconds, default 5; on: CIVITAS_BROKER_URL) and each worker
count:

1. start that many ``civitas worker --no-scheduler`` processes and wait until all beat;
2. throughput: queue ``--tasks`` no-op tasks in one transaction, time from the commit until
   the last one is SUCCESSFUL (tasks/s) and the workers' CPU seconds;
3. wake-up latency (idle workers): ``--samples`` times, queue one task and read
   ``started_at - enqueued_at`` (time to claim) and ``finished_at - enqueued_at`` from its row.

Prints a table and one JSON line per run. The machine is shared: compare the two modes of the
same run, not runs on different days.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
CIVITAS = str(ROOT / ".venv" / "bin" / "civitas")
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB = "civitas_bench_workers"
REDIS_PORT = 6391

from cluster import cpu_seconds, pg_admin, start_redis  # noqa: E402


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def worker_env(broker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CIVITAS_DEBUG"}
    env |= {
        "DATABASE_URL": f"{PG}/{DB}",
        "CIVITAS_DEBUG": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "CIVITAS_ENCRYPTION_KEYS": fernet_key(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CIVITAS_BROKER_URL": broker,
        "CIVITAS_BROKER_CHANNEL": "civitas-bench:tasks",
        "PYTHONPATH": str(BENCH),
        "PYTHONUNBUFFERED": "1",
    }
    return env


def start_workers(
    n: int, broker: str, interval: float, logs: Path
) -> list[subprocess.Popen[bytes]]:
    from civitas.kit.models import WorkerBeat

    WorkerBeat.objects.all().delete()
    procs = []
    for i in range(n):
        out = open(logs / f"worker-{i}.log", "ab")  # noqa: SIM115 - the child's
        procs.append(
            subprocess.Popen(
                [
                    CIVITAS,
                    "worker",
                    "--no-scheduler",
                    "--interval",
                    str(interval),
                    "--worker-id",
                    f"bench-{i}",
                ],
                env=worker_env(broker),
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 60
    while WorkerBeat.objects.filter(stopped_at=None).count() < n:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop_workers(procs)
            raise SystemExit(f"workers did not start: see {logs}")
        time.sleep(0.2)
    time.sleep(interval + 0.5)  # every worker has passed its first round and idles
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_done(ids: list[Any], timeout: float = 300) -> None:
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    while DBTaskResult.objects.filter(pk__in=ids, status="SUCCESSFUL").count() < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit("tasks did not finish in time")
        time.sleep(0.02)


def throughput(n: int) -> dict[str, float]:
    import probe
    from django.db import transaction

    with transaction.atomic():
        ids = [probe.noop.enqueue().id for _ in range(n)]
    started = time.perf_counter()  # from the commit
    wait_done(ids)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "tasks_per_s": round(n / wall, 1)}


def latency(samples: int, interval: float) -> dict[str, float]:
    import probe
    from django_tasks_db.models import DBTaskResult

    claim, done = [], []
    rng = random.Random(7)
    for _ in range(samples):
        time.sleep(rng.uniform(0.2, interval))  # land anywhere in the workers' idle wait
        tid = probe.noop.enqueue().id
        wait_done([tid], timeout=interval * 3 + 10)
        row = DBTaskResult.objects.get(pk=tid)
        claim.append((row.started_at - row.enqueued_at).total_seconds() * 1000)
        done.append((row.finished_at - row.enqueued_at).total_seconds() * 1000)
    return {
        "claim_p50_ms": round(statistics.median(claim), 1),
        "claim_max_ms": round(max(claim), 1),
        "done_p50_ms": round(statistics.median(done), 1),
        "done_max_ms": round(max(done), 1),
    }


def bare_commits(n: int = 300) -> float:
    """Transactions per second of one INSERT + COMMIT on the same database, for scale: a task
    costs two commits (its claim and its outcome)."""
    import psycopg

    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, at timestamptz)"
        )
        started = time.perf_counter()
        for _ in range(n):
            with conn.transaction():
                conn.execute("INSERT INTO bench_bare (at) VALUES (now())")
        wall = time.perf_counter() - started
        conn.execute("DROP TABLE bench_bare")
    return round(n / wall, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",")]

    logs = Path(f"/tmp/civitas-worker-bench-{os.getpid()}")
    logs.mkdir(parents=True, exist_ok=True)
    redis = start_redis(REDIS_PORT)
    pg_admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    pg_admin(f'CREATE DATABASE "{DB}"')
    os.environ |= {"DATABASE_URL": f"{PG}/{DB}", "CIVITAS_DEBUG": "1"}
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    rows: list[dict[str, Any]] = []
    bare = 0.0
    try:
        import django

        django.setup()
        logging.disable(logging.INFO)
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        broker_url = f"redis://127.0.0.1:{REDIS_PORT}/0"
        bare = bare_commits()
        print(json.dumps({"bare_insert_commit_per_s": bare}), flush=True)
        for mode, broker in (("polling", ""), ("broker", broker_url)):
            settings.CIVITAS_BROKER_URL = broker  # this process queues: it publishes
            settings.CIVITAS_BROKER_CHANNEL = "civitas-bench:tasks"
            for n in counts:
                procs = start_workers(n, broker, args.interval, logs)
                cpu0 = sum(cpu_seconds(p.pid) for p in procs)
                try:
                    tp = throughput(args.tasks)
                    cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
                    lat = latency(args.samples, args.interval)
                finally:
                    stop_workers(procs)
                row = {
                    "mode": mode,
                    "workers": n,
                    "tasks": args.tasks,
                    **tp,
                    "worker_cpu_s": round(cpu, 2),
                    **lat,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        pg_admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        redis.terminate()
        redis.wait(10)
    print()
    print(
        f"{'mode':8} {'workers':>7} {'tasks/s':>8} {'wall s':>7} {'cpu s':>6} "
        f"{'claim p50':>10} {'claim max':>10} {'done p50':>9} {'done max':>9}"
    )
    for r in rows:
        print(
            f"{r['mode']:8} {r['workers']:>7} {r['tasks_per_s']:>8} {r['wall_s']:>7} "
            f"{r['worker_cpu_s']:>6} {r['claim_p50_ms']:>8}ms {r['claim_max_ms']:>8}ms "
            f"{r['done_p50_ms']:>7}ms {r['done_max_ms']:>7}ms"
        )
    print(f"bare INSERT+COMMIT on the same database: {bare} per second (one connection)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")


if __name__ == "__main__":
    main()
