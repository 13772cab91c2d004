"""Appeals submitted per second through the JSON API, beside a bare INSERT+COMMIT loop.

    .venv/bin/python bench/intake_bench.py [--seconds 20] [--clients 8] [--workers 3]
                                           [--backends sqlite,postgresql]

For each database (a temporary SQLite file; a temporary PostgreSQL database created on
127.0.0.1:5432 and dropped afterwards) it:
1. migrates it, imports the demo city (Harbour City), trains its classifier and makes an API
   key with appeals:submit;
2. starts ``civitas serve`` (gunicorn, several workers, production settings: DEBUG off) on a
   free loopback port;
3. drives ``POST /api/appeals`` from a pool of client threads (http.client, keep-alive, on
   127.0.0.1 only; bounded by time and count) with texts and map points of the demo city, so
   each request takes the full path: validate, locate, classify (the learned classifier,
   trained from the catalogue at step 1), find duplicates, route and dispatch, audit, commit;
   records each request's latency;
4. stops the server and, on the same database, times a bare loop of single-row
   INSERT + COMMIT from one Python connection (Django's cursor, autocommit);
5. prints appeals/s, latency p50/p95/p99, how the appeals ended up (dispatched or held),
   the bare rows/s and the ratio, and one JSON line per database.

The server sends ``X-Forwarded-Proto: https`` as a TLS-terminating proxy would (production
settings redirect plain HTTP).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import ROOT, emit, temp_dir
from cryptography.fernet import Fernet

CIVITAS = str(ROOT / ".venv" / "bin" / "civitas")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MAX_REQUESTS = 200_000  # a hard bound beside the time limit

TEXTS = [
    "The lift in building 3 of {place} is out of service again; an old man was stuck in the lift.",
    "{place}路口的垃圾桶四天没有清运，垃圾堆成山，气味很大。",
    "Street vendors block the pavement outside the market in {place} every evening.",
    "{place}河边步道有三盏路灯一周不亮了，晚上照明很差。",
    "There is a deep pothole on the road at the entrance of {place}.",
    "{place}门口下水道堵塞，每次下雨污水都漫到人行道上。",
    "Cooking fumes from the restaurant downstairs in {place} come into our windows.",
    "{place}每天晚上消防车道两边违停，乱停车堵住了出口。",
]


# Run inside `civitas shell` on the benchmark's database (rows from BENCH_BARE_ROWS).
BARE_LOOP = """
import json, os, time
from collections import Counter
from django.db import connection
from civitas.appeals.models import Appeal
from civitas.kit.models import AuditEntry
rows = int(os.environ["BENCH_BARE_ROWS"])
c = connection.cursor()
c.execute("CREATE TABLE bench_bare (id integer PRIMARY KEY, at varchar(40), note varchar(200))")
t = time.perf_counter()
for i in range(rows):  # autocommit: each INSERT is its own transaction
    c.execute("INSERT INTO bench_bare VALUES (%s, %s, %s)", [i, str(time.time()), "bare"])
elapsed = time.perf_counter() - t
c.execute("DROP TABLE bench_bare")
print(json.dumps({
    "bare_rows": rows,
    "bare_s": elapsed,
    "statuses": Counter(Appeal.objects.values_list("status", flat=True)),
    "audit_entries": AuditEntry.objects.filter(action="appeal.receive").count(),
    "located": Appeal.objects.filter(jurisdiction__isnull=False).count(),
    "classified": Appeal.objects.filter(matter__isnull=False).count(),
}))
"""


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(database_url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CIVITAS_DEBUG"}
    env |= {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "CIVITAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # [crypto]
        "CIVITAS_VAR": str(tmp / "var"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def prepare(env: dict[str, str], pack: Path) -> str:
    """Migrate, import the demo city, train its classifier (from the catalogue alone: the
    database holds no appeals yet), return an API key that may submit appeals."""
    run([CIVITAS, "migrate", "-v0"], env)
    run([CIVITAS, "city", "import", str(pack)], env)
    run([CIVITAS, "model", "train", "--city", "DC"], env)
    out = run([CIVITAS, "apikey", "create", "bench", "--scope", "appeals:submit"], env)
    return out.strip().splitlines()[-1].strip()


def points(env: dict[str, str], n: int) -> list[tuple[str, float, float]]:
    """(community name, lat, lon) inside the demo city's communities, from the database."""
    code = (
        "import json, random\n"
        "from shapely.geometry import shape, Point\n"
        "from civitas.geo.models import Jurisdiction\n"
        "rng = random.Random(7); out = []\n"
        "js = list(Jurisdiction.objects.filter(level__code='community').order_by('code'))\n"
        f"while len(out) < {n}:\n"
        "    j = rng.choice(js); g = shape(j.boundary); x0, y0, x1, y1 = g.bounds\n"
        "    x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)\n"
        "    if g.contains(Point(x, y)): out.append((j.name_en, round(y, 6), round(x, 6)))\n"
        "print(json.dumps(out))\n"
    )
    last = run([CIVITAS, "shell", "-c", code], env).strip().splitlines()[-1]
    return [(str(name), float(lat), float(lon)) for name, lat, lon in json.loads(last)]


def serve(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [CIVITAS, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-collectstatic"]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/docs", headers={"X-Forwarded-Proto": "https"})
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.3)
    stop(server)
    sys.exit("civitas serve did not answer within 60 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group, started here
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def load(
    port: int, key: str, spots: list[tuple[str, float, float]], clients: int, seconds: float
) -> dict[str, Any]:
    """Submit appeals from ``clients`` threads for ``seconds``; latencies in milliseconds."""
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(MAX_REQUESTS))

    def client(worker: int) -> None:
        rng = random.Random(worker)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {
            "Content-Type": "application/json",
            "X-Api-Key": key,
            "X-Forwarded-Proto": "https",
        }
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            place, lat, lon = spots[n % len(spots)]
            body = json.dumps(
                {
                    "city": "DC",
                    "text": rng.choice(TEXTS).format(place=place),
                    "lat": lat,
                    "lon": lon,
                    "contact": {"name": "Bench", "phone": "13800000000"},
                }
            )
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/appeals", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                code = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                code = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[code] = statuses.get(code, 0) + 1
                if code == 201:
                    latencies.append(elapsed)
        conn.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(client, range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "created": len(latencies),
        "wall_s": round(wall, 2),
        "per_s": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50) if latencies else None,
        "p95_ms": pct(0.95) if latencies else None,
        "p99_ms": pct(0.99) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def bare_and_outcome(env: dict[str, str], rows: int) -> dict[str, Any]:
    """The bare single-row INSERT+COMMIT loop on the same database, and how appeals ended."""
    env = env | {"BENCH_BARE_ROWS": str(rows)}
    return dict(json.loads(run([CIVITAS, "shell", "-c", BARE_LOOP], env).strip().splitlines()[-1]))


def postgres_database(name: str, create: bool) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_backend(backend: str, tmp: Path, pack: Path, args: argparse.Namespace) -> dict[str, Any]:
    pg_name = f"civitas_bench_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'intake.sqlite3'}"
    else:
        postgres_database(pg_name, create=True)
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    try:
        env = base_env(url, tmp / backend)
        key = prepare(env, pack)
        spots = points(env, 500)
        port = free_port()
        server = serve(env, port, args.workers)
        try:
            load(port, key, spots, args.clients, min(3.0, args.seconds))  # warm-up
            measured = load(port, key, spots, args.clients, args.seconds)
        finally:
            stop(server)
        after = bare_and_outcome(env, args.bare_rows)
    finally:
        if backend == "postgresql":
            postgres_database(pg_name, create=False)
    bare_per_s = after["bare_rows"] / after["bare_s"]
    return {
        "backend": backend,
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "workers": args.workers,
        "clients": args.clients,
        **measured,
        "bare_insert_commit_per_s": round(bare_per_s),
        "ratio_bare_to_api": round(bare_per_s / measured["per_s"], 1)
        if measured["per_s"]
        else None,
        "appeals_in_db": sum(after["statuses"].values()),
        "statuses": after["statuses"],
        "located": after["located"],
        "classified": after["classified"],
        "receive_audit_entries": after["audit_entries"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--bare-rows", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if not 0 < args.seconds <= 300 or not 0 < args.clients <= 64:
        sys.exit("keep it bounded: --seconds in (0, 300], --clients in (0, 64]")
    with temp_dir() as tmp:
        pack = tmp / "demo-pack"
        run([CIVITAS, "city", "build", "demo", "--out", str(pack)], base_env("sqlite://", tmp))
        for backend in args.backends.split(","):
            r = one_backend(backend.strip(), tmp, pack, args)
            print(
                f"\n{r['backend']}: {r['created']} appeals in {r['wall_s']} s through POST "
                f"/api/appeals = {r['per_s']} appeals/s ({r['workers']} gunicorn workers, "
                f"{r['clients']} clients)"
            )
            print(
                f"  latency p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms; "
                f"HTTP {r['http_statuses']}"
            )
            print(
                f"  in the database: {r['appeals_in_db']} appeals {r['statuses']}, "
                f"{r['located']} located, {r['classified']} classified, "
                f"{r['receive_audit_entries']} receive audit entries"
            )
            print(
                f"  bare single-row INSERT+COMMIT: {r['bare_insert_commit_per_s']} rows/s; "
                f"ratio bare/API = {r['ratio_bare_to_api']}"
            )
            emit("intake", r)


if __name__ == "__main__":
    main()
