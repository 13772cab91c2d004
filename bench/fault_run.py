"""Faults during load: nothing acknowledged is lost or doubled, no job is lost or run twice.

    .venv/bin/python bench/fault_run.py [--seconds 120] [--clients 6]

Loopback only, bounded in time (about 5 minutes with the set-up). Run as root (it starts a
private PostgreSQL cluster as the postgres user).

1. A private PostgreSQL cluster on port 5441 (initdb under /tmp, so restarting it harms
   nobody) and a private Redis on 6391 (broker and shared cache), both started here.
2. With bench/cluster.py: a fresh database, the demo city, an API key with appeals:submit;
   2 × ``civitas serve`` (gunicorn, 2 workers each, ports 8620-8621) and 3 × ``civitas
   worker`` with CIVITAS_BROKER_URL, a lease of 5 s, and the probe app (bench/probe.py: the
   periodic job ``probe.tick`` every 5 s).
3. Client threads submit appeals for ``--seconds``, half through ``POST /api/appeals`` (JSON)
   and half through ``POST /open311/v2/requests.json``, each with a unique Idempotency-Key,
   retried with the SAME key (on the other server) after a connection error, a timeout or a
   5xx, until acknowledged (201/200 with a ticket) or 60 s have passed.
4. Meanwhile three waves of 100 ``probe.record`` tasks (each sleeps up to 1 s, so kills land
   mid-task) and, on a schedule, the faults: kill -9 a gunicorn worker, kill -9 a background
   worker while it runs tasks (restarted), kill -9 a whole serve master (restarted), restart
   PostgreSQL, restart Redis, kill -9 another background worker.
5. Afterwards, the checks: every acknowledged appeal exists exactly once (by Idempotency-Key
   and by ticket); appeals nobody acknowledged exist only for requests whose answer was lost
   (listed apart); every probe task has exactly one effect and finished SUCCESSFUL; no period
   of ``probe.tick`` ran twice; ``civitas audit verify`` passes. A table, then exit 1 on any
   loss or duplicate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from cluster import Cluster, start_redis  # noqa: E402
from intake_bench import TEXTS  # noqa: E402

PG_PORT = 5441
PG_DIR = Path("/tmp/civitas-workers-pg")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG = f"postgresql://postgres@127.0.0.1:{PG_PORT}"
REDIS_PORT = 6391
PORTS = [8620, 8621]
HEADERS = {"X-Forwarded-Proto": "https"}
T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {text}", flush=True)


# -- private services ---------------------------------------------------------------------------


def as_postgres(*args: str) -> None:
    subprocess.run(["su", "postgres", "-c", " ".join(args)], check=True, capture_output=True)


def pg_start() -> None:
    as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(PG_DIR),
        "-w",
        "-l",
        str(PG_DIR / "log.txt"),
        "-o",
        f"'-p {PG_PORT} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200'",
        "start",
    )


def pg_stop(mode: str = "fast") -> None:
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(PG_DIR), "-w", "-m", mode, "stop")


def pg_up() -> None:
    if PG_DIR.exists():
        subprocess.run(
            ["su", "postgres", "-c", f"{PG_BIN / 'pg_ctl'} -D {PG_DIR} -m immediate stop"],
            capture_output=True,
        )
        shutil.rmtree(PG_DIR)
    PG_DIR.mkdir(parents=True)
    shutil.chown(PG_DIR, "postgres", "postgres")
    as_postgres(
        str(PG_BIN / "initdb"), "-D", str(PG_DIR), "-U", "postgres", "--auth=trust", "-E", "UTF8"
    )
    pg_start()


def redis_start() -> subprocess.Popen[bytes]:
    return start_redis(REDIS_PORT)


# -- the clients --------------------------------------------------------------------------------


class Clients:
    def __init__(self, key: str, spots: list[tuple[str, float, float]], codes: list[str]) -> None:
        self.key, self.spots, self.codes = key, spots, codes
        self.lock = threading.Lock()
        self.acked: list[dict[str, Any]] = []  # kind, idem, ticket, tries
        self.lost: list[dict[str, Any]] = []  # never acknowledged
        self.errors: Counter[str] = Counter()
        self.stop = threading.Event()

    def _post(self, port: int, kind: str, body: bytes, idem: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            if kind == "api":
                headers = HEADERS | {
                    "Content-Type": "application/json",
                    "X-Api-Key": self.key,
                    "Idempotency-Key": idem,
                }
                conn.request("POST", "/api/appeals", body=body, headers=headers)
            else:
                headers = HEADERS | {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Idempotency-Key": idem,
                }
                conn.request("POST", "/open311/v2/requests.json", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status in (200, 201):
                answer = json.loads(data)
                ticket = answer["ticket"] if kind == "api" else answer[0]["service_request_id"]
                return response.status, str(ticket)
            return response.status, data[:200].decode(errors="replace")
        finally:
            conn.close()

    def one(self, rng: random.Random, n: int) -> None:
        kind = "api" if n % 2 == 0 else "open311"
        place, lat, lon = self.spots[n % len(self.spots)]
        text = rng.choice(TEXTS).format(place=place) + f" (#{n})"
        if kind == "api":
            body = json.dumps(
                {
                    "city": "DC",
                    "text": text,
                    "lat": lat,
                    "lon": lon,
                    "contact": {"name": "Fault Run", "phone": "13800000000"},
                }
            ).encode()
        else:
            body = urllib.parse.urlencode(
                {
                    "api_key": self.key,
                    "service_code": rng.choice(self.codes),
                    "lat": lat,
                    "long": lon,
                    "description": text,
                    "first_name": "Fault",
                    "phone": "13800000000",
                }
            ).encode()
        idem = f"fault-{uuid.uuid4()}"
        deadline = time.monotonic() + 60
        tries = 0
        port = PORTS[n % 2]
        while time.monotonic() < deadline:
            tries += 1
            try:
                status, answer = self._post(port, kind, body, idem)
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.errors[type(exc).__name__] += 1
                status, answer = 0, ""
            if status in (200, 201):
                with self.lock:
                    self.acked.append(
                        {"kind": kind, "idem": idem, "ticket": answer, "tries": tries}
                    )
                return
            if 400 <= status < 500 and status != 429:
                with self.lock:
                    self.errors[f"{status} {answer[:80]}"] += 1
                    self.lost.append({"kind": kind, "idem": idem, "refused": status})
                return
            if status:
                with self.lock:
                    self.errors[str(status)] += 1
            port = PORTS[(PORTS.index(port) + 1) % 2]  # the other server
            time.sleep(min(2.0, 0.1 * 2 ** min(tries, 5)))
        with self.lock:
            self.lost.append({"kind": kind, "idem": idem, "refused": 0})

    def run(self, clients: int) -> list[threading.Thread]:
        counter = iter(range(10**9))
        lock = threading.Lock()

        def loop(i: int) -> None:
            rng = random.Random(i)
            while not self.stop.is_set():
                with lock:
                    n = next(counter)
                self.one(rng, n)

        threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
        for t in threads:
            t.start()
        return threads


# -- the probe tasks ----------------------------------------------------------------------------


def django_up(cluster: Cluster) -> None:
    os.environ |= {
        "DATABASE_URL": cluster.database_url,
        "DJANGO_SETTINGS_MODULE": "probe_settings",
        "CIVITAS_DEBUG": "1",
        "CIVITAS_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CIVITAS_CACHE_URL": "",
    }
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)


def enqueue_wave(wave: int, n: int, seconds: float) -> list[str]:
    """Queue ``n`` probe tasks in one transaction, retried until committed (a retry after a
    lost commit answer first looks whether the wave is there)."""
    import probe
    from django.db import InterfaceError, OperationalError, connection, transaction
    from django_tasks_db.models import DBTaskResult

    keys = [f"w{wave}-{i}" for i in range(n)]
    rng = random.Random(wave)
    for _ in range(60):
        try:
            if DBTaskResult.objects.filter(args_kwargs__args__0=keys[0]).exists():
                return keys
            with transaction.atomic():
                for k in keys:
                    probe.record.enqueue(k, round(rng.uniform(0, seconds), 2))
            return keys
        except (OperationalError, InterfaceError):
            connection.close()
            time.sleep(1)
    raise SystemExit(f"wave {wave} could not be queued")


# -- checks -------------------------------------------------------------------------------------


def query(cluster: Cluster, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(cluster.database_url) as conn:
        return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


def check(cluster: Cluster, clients: Clients, waves: list[str], since_id: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    acked = clients.acked
    tickets = Counter(a["ticket"] for a in acked)
    idems = Counter(a["idem"] for a in acked)
    rows = query(
        cluster,
        "SELECT a.id, a.ticket, k.key FROM appeals_appeal a "
        "LEFT JOIN appeals_idempotencykey k ON k.appeal_id = a.id WHERE a.id > %s",
        [since_id],
    )
    by_ticket = Counter(r[1] for r in rows)
    by_idem = Counter(r[2] for r in rows if r[2])
    ticket_of_idem = {r[2]: r[1] for r in rows if r[2]}
    out["acknowledged"] = len(acked)
    out["acknowledged twice (same key, two tickets)"] = sum(
        1 for k in idems if idems[k] > 1 and len({a["ticket"] for a in acked if a["idem"] == k}) > 1
    )
    out["acknowledged but missing"] = sum(1 for a in acked if by_ticket[a["ticket"]] == 0)
    out["acknowledged, stored twice"] = sum(
        1 for a in acked if by_idem[a["idem"]] > 1 or by_ticket[a["ticket"]] > 1
    )
    out["acknowledged, key mismatch"] = sum(
        1 for a in acked if ticket_of_idem.get(a["idem"]) != a["ticket"]
    )
    acked_tickets = set(tickets)
    lost_idems = {x["idem"] for x in clients.lost}
    unacked = [r for r in rows if r[1] not in acked_tickets]
    out["stored, answer lost (reported apart)"] = sum(1 for r in unacked if r[2] in lost_idems)
    out["stored, never asked for"] = sum(1 for r in unacked if r[2] not in lost_idems)
    out["requests never acknowledged"] = len(clients.lost)
    out["appeals stored"] = len(rows)

    effects = dict(query(cluster, "SELECT key, count(*) FROM probe_effects GROUP BY key"))
    attempts = dict(query(cluster, "SELECT key, count(*) FROM probe_attempts GROUP BY key"))
    out["probe tasks queued"] = len(waves)
    out["probe tasks lost (no effect)"] = sum(1 for k in waves if effects.get(k, 0) == 0)
    out["probe tasks with two effects"] = sum(1 for k in waves if effects.get(k, 0) > 1)
    out["probe tasks run again (attempts > 1)"] = sum(1 for k in waves if attempts.get(k, 0) > 1)
    statuses = dict(
        query(
            cluster,
            "SELECT status, count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = 'probe.record' GROUP BY status",
        )
    )
    out["probe task rows not SUCCESSFUL"] = sum(v for k, v in statuses.items() if k != "SUCCESSFUL")
    periods = query(
        cluster,
        "SELECT period_start, count(*) FROM probe_periods GROUP BY period_start",
    )
    out["probe.tick periods run"] = len(periods)
    out["probe.tick periods run twice"] = sum(1 for _, n in periods if n > 1)
    runs = query(
        cluster,
        "SELECT count(*) FILTER (WHERE ok), count(*) FILTER (WHERE finished_at IS NULL), count(*) "
        "FROM kit_scheduledrun WHERE name = 'probe.tick'",
    )[0]
    out["probe.tick runs claimed / ok / unfinished"] = f"{runs[2]} / {runs[0]} / {runs[1]}"
    others = query(
        cluster,
        "SELECT status, count(*) FROM django_tasks_database_dbtaskresult "
        "GROUP BY status ORDER BY 1",
    )
    out["all task rows by status"] = ", ".join(f"{s.lower()} {n}" for s, n in others)
    verify = subprocess.run(
        [str(BENCH.parent / ".venv" / "bin" / "civitas"), "audit", "verify"],
        env=cluster.env,
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    out["civitas audit verify"] = (
        "ok" if verify.returncode == 0 else f"FAILED: {verify.stdout.strip()[-200:]}"
    )
    out["audit verify line"] = (verify.stdout.strip().splitlines() or ["-"])[-1][:120]
    return out


BAD = (
    "acknowledged twice (same key, two tickets)",
    "acknowledged but missing",
    "acknowledged, stored twice",
    "acknowledged, key mismatch",
    "stored, never asked for",
    "probe tasks lost (no effect)",
    "probe tasks with two effects",
    "probe task rows not SUCCESSFUL",
    "probe.tick periods run twice",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' and workers' logs"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the private PostgreSQL cluster runs as the postgres user")
    say(f"private PostgreSQL on {PG_PORT} ({PG_DIR}), Redis on {REDIS_PORT}")
    pg_up()
    redis = redis_start()
    env = {
        "DJANGO_SETTINGS_MODULE": "probe_settings",
        "PYTHONPATH": str(BENCH),
        "CIVITAS_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "CIVITAS_CACHE_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
        "CIVITAS_WORKER_LEASE_SECONDS": "5",
        "PROBE_PERIOD": "5",
    }
    cluster = Cluster(
        "faults",
        servers=2,
        ports=PORTS,
        web_workers=2,
        workers=3,
        train=False,
        keep_logs=args.keep_logs,
        pg=PG,
        extra_env=env,
        quiet=False,
    )
    code = 1
    try:
        cluster.prepare()
        django_up(cluster)  # this process queues the probe tasks
        import psycopg
        from probe import TABLES

        with psycopg.connect(cluster.database_url, autocommit=True) as conn:
            conn.execute(TABLES)  # type: ignore[arg-type]
        for i in range(len(PORTS)):  # as Cluster.start, once the probe's tables exist
            cluster.start_server(i, wait=False)
        for j in range(3):
            cluster.start_worker(j)
        for i in range(len(PORTS)):
            cluster.wait_ready(i)
        say("cluster up; preparing the clients")
        spots = json.loads(
            cluster.shell(
                "import json, random\n"
                "from shapely.geometry import shape, Point\n"
                "from civitas.geo.models import Jurisdiction\n"
                "rng = random.Random(7); out = []\n"
                "js = list(Jurisdiction.objects.filter(level__code='community').order_by('code'))\n"
                "while len(out) < 40:\n"
                "    j = rng.choice(js); g = shape(j.boundary); x0, y0, x1, y1 = g.bounds\n"
                "    x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)\n"
                "    if g.contains(Point(x, y)):\n"
                "        out.append((j.name_en, round(y, 6), round(x, 6)))\n"
                "print(json.dumps(out))\n"
            )
        )
        conn_ = http.client.HTTPConnection("127.0.0.1", PORTS[0], timeout=30)
        conn_.request("GET", "/open311/v2/services.json", headers=HEADERS)
        codes = [
            s["service_code"] for s in json.loads(conn_.getresponse().read()) if not s["metadata"]
        ]
        since_id = query(cluster, "SELECT coalesce(max(id), 0) FROM appeals_appeal")[0][0]

        clients = Clients(cluster.api_key, spots, codes)
        waves: list[str] = []
        faults: list[str] = []

        def worker_busy(j: int) -> bool:
            return bool(
                query(
                    cluster,
                    "SELECT 1 FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING' "
                    "AND worker_ids->>-1 LIKE %s",
                    [f"faults-w{j}~%"],
                )
            )

        def kill_worker_mid_task(j: int) -> None:
            for _ in range(50):  # wait until it holds a task
                if worker_busy(j):
                    break
                time.sleep(0.1)
            busy = worker_busy(j)
            cluster.kill_worker(j)
            faults.append(f"kill -9 background worker {j} ({'mid-task' if busy else 'idle'})")
            time.sleep(2)
            cluster.start_worker(j)

        def restart_pg() -> None:
            pg_stop("fast")
            time.sleep(3)
            pg_start()
            faults.append("PostgreSQL restarted (fast shutdown, down 3 s)")

        def restart_redis() -> None:
            nonlocal redis
            redis.kill()
            redis.wait()
            time.sleep(3)
            redis = redis_start()
            faults.append("Redis restarted (killed, down 3 s)")

        def kill_gunicorn_worker() -> None:
            pid = cluster.kill_server_worker(0)
            faults.append(f"kill -9 gunicorn worker {pid} of server 0")

        def kill_master() -> None:
            cluster.kill_server(1)
            faults.append("kill -9 the whole serve 1 (master and workers)")
            time.sleep(2)
            cluster.start_server(1)

        s = args.seconds
        schedule: list[tuple[float, str, Any]] = [
            (0.02 * s, "wave 1", lambda: waves.extend(enqueue_wave(1, 100, 1.0))),
            (0.10 * s, "gunicorn worker", kill_gunicorn_worker),
            (0.15 * s, "background worker 1", lambda: kill_worker_mid_task(1)),
            (0.25 * s, "wave 2", lambda: waves.extend(enqueue_wave(2, 100, 1.0))),
            (0.27 * s, "background worker 2", lambda: kill_worker_mid_task(2)),
            (0.35 * s, "serve master", kill_master),
            (0.50 * s, "PostgreSQL", restart_pg),
            (0.60 * s, "wave 3", lambda: waves.extend(enqueue_wave(3, 100, 1.0))),
            (0.62 * s, "background worker 0", lambda: kill_worker_mid_task(0)),
            (0.75 * s, "Redis", restart_redis),
        ]
        started = time.monotonic()
        threads = clients.run(args.clients)
        for at, name, action in schedule:
            time.sleep(max(0.0, started + at - time.monotonic()))
            say(f"fault: {name}")
            try:
                action()
            except Exception as exc:
                faults.append(f"{name}: FAILED TO INJECT {type(exc).__name__}: {exc}")
                say(f"  could not inject {name}: {exc}")
        time.sleep(max(0.0, started + s - time.monotonic()))
        clients.stop.set()
        say("load stopped; waiting for clients' last retries")
        for t in threads:
            t.join(90)
        say("draining the queue")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = query(
                cluster,
                "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                "WHERE task_path = 'probe.record' AND status IN ('READY', 'RUNNING')",
            )[0][0]
            if not left:
                break
            time.sleep(1)
        time.sleep(6)  # one more period of probe.tick
        cluster.stop_worker(0)
        cluster.stop_worker(1)
        cluster.stop_worker(2)
        result = check(cluster, clients, waves, since_id)
        elapsed = time.monotonic() - started
        print()
        print(
            f"Fault run: {args.seconds:.0f} s of load, {args.clients} clients, "
            f"2 serve × 2 gunicorn workers, 3 background workers, lease 5 s "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, shared)"
        )
        print("Faults injected:")
        for f in faults:
            print(f"  - {f}")
        rate = len(clients.acked) / elapsed
        print(f"Client errors on the way (retried): {dict(clients.errors.most_common(8))}")
        print(
            f"Retries: {sum(a['tries'] - 1 for a in clients.acked)}; "
            f"acknowledged {rate:.1f} appeals/s over {elapsed:.0f} s"
        )
        width = max(len(k) for k in result)
        for k, v in result.items():
            flag = "  <-- FAIL" if k in BAD and v else ""
            print(f"  {k:<{width}}  {v}{flag}")
        failed = [k for k in BAD if result[k]]
        if result["civitas audit verify"] != "ok":
            failed.append("civitas audit verify")
        if result["probe tasks queued"] != 300:
            failed.append("probe waves")
        print("RESULT:", "PASS" if not failed else f"FAIL ({', '.join(failed)})")
        print(json.dumps({"faults": faults, **{k: str(v) for k, v in result.items()}}))
        code = 0 if not failed else 1
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110 - Django may not be set up
            pass
        cluster.stop()
        redis.kill()
        redis.wait()
        try:
            pg_stop("fast")
        except Exception as exc:
            print(f"could not stop the private PostgreSQL: {exc}", file=sys.stderr)
        shutil.rmtree(PG_DIR, ignore_errors=True)
        say(f"logs in {cluster.logs()}")
    return code


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
