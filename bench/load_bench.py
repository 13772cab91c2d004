"""Open-loop load on intake (JSON API and Open311) on PostgreSQL, beside a bare INSERT+COMMIT.

    .venv/bin/python bench/load_bench.py --quick --out /tmp/load-quick.json     # 2-4 minutes
    .venv/bin/python bench/load_bench.py --out /tmp/load.json                   # steps
    .venv/bin/python bench/load_bench.py --no-steps --sustain-seconds 600 --out /tmp/sustain.json

1. Starts a cluster (bench/cluster.py): a fresh PostgreSQL database on 127.0.0.1:5432, the
   demo city with its trained classifier, ``--servers`` × ``civitas serve`` (``--web-workers``
   gunicorn workers of 4 threads each, production settings), one ``civitas worker``; Redis
   db 15 for the shared rate-limit counters (the Open311 limits raised out of the way).
2. For each endpoint (``POST /api/appeals`` as JSON, ``POST /open311/v2/requests.json`` as a
   form), sends requests at fixed rates (``--rates``, each for ``--step-seconds``): open loop,
   the i-th request is due at t0 + i/rate whatever happened to the earlier ones, and its
   latency is measured from that due time (so a stalled server is not hidden by a client that
   waits: no coordinated omission). The client is asyncio + httpx with at most ``--pool``
   connections; requests not yet sent when ``--max-backlog`` are waiting count as errors
   ("shed"). A series stops after the first step whose errors exceed ``--max-errors`` or
   whose p99 exceeds ``--max-p99-ms``.
3. After each series, on the same database, a bare INSERT+COMMIT loop: ``--web-workers`` × 4
   threads (the server's concurrency), each with its own psycopg connection in autocommit,
   insert single rows into a table made ``LIKE appeals_appeal INCLUDING ALL`` (the same
   columns and indexes), for ``--bare-seconds``; the ratio is our best step's throughput to
   the bare loop's rows/s.
4. Optionally (``--sustain-seconds``) a long run at ``--sustain-rate`` (default: ten times
   Beijing's busiest day, see BEIJING below), half API and half Open311, with the CPU seconds
   of the server processes, the worker, the database backends and this client.

Descriptions are real citizens' messages from the shared data (the Changsha message board,
``changsha/messages_with_votes.csv``, ``detail`` and ``title``), read at run time (--data DIR,
CIVITAS_DATA, or ../shared/data); map points are random points inside the demo city's
communities. Loopback only; every step is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _common import data_dir, machine, require
from cluster import HTTPS, ROOT, Cluster, cpu_seconds, snapshot

# Beijing 12345 took 21.4 million appeals in 2023 (shared/docs/DOMAIN.md, "Scale"): 58,630 a
# day on average. No figure for its busiest day is given anywhere in the shared material, so
# the busiest day is taken as the average times NYC 311's peak-to-average ratio from the same
# paragraph (a record day of 276,827 against about 98,000 a day: 2.82). The Boston 2015 data
# gives a lower ratio (busiest day 719 against 344 a day: 2.09), so 2.82 is the cautious one.
BEIJING_YEAR = 21_400_000
PEAK_TO_MEAN = 276_827 / 98_000
BEIJING_BUSIEST_DAY = BEIJING_YEAR / 365 * PEAK_TO_MEAN  # ≈ 165,600 appeals
SUSTAIN_RATE = 10 * BEIJING_BUSIEST_DAY / 86_400  # ≈ 19.2 appeals/s

API = "/api/appeals"
OPEN311 = "/open311/v2/requests.json"


# -- payloads -----------------------------------------------------------------------------------


def messages(data: Path) -> list[tuple[str, str]]:
    """(title, detail) of the real messages, read at run time (never stored in the repo)."""
    path = data / "changsha" / "messages_with_votes.csv"
    require(path)
    out = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text = (row.get("detail") or "").strip()
            if len(text) >= 10:
                out.append(((row.get("title") or "").strip()[:200], text[:4000]))
    if not out:
        sys.exit(f"{path}: no messages with a detail")
    return out


POINTS = """
import json, random
from shapely.geometry import shape, Point
from civitas.geo.models import Jurisdiction
rng = random.Random(7); out = []
js = list(Jurisdiction.objects.filter(level__code='community').order_by('code'))
while len(out) < 500:
    j = rng.choice(js); g = shape(j.boundary); x0, y0, x1, y1 = g.bounds
    x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
    if g.contains(Point(x, y)): out.append((round(y, 6), round(x, 6)))
print(json.dumps(out))
"""


class Payloads:
    def __init__(self, texts: list[tuple[str, str]], spots: list[Any], codes: list[str], key: str):
        self.texts, self.spots, self.codes, self.key = texts, spots, codes, key
        self.rng = random.Random(12345)

    def request(self, kind: str) -> dict[str, Any]:
        title, text = self.rng.choice(self.texts)
        lat, lon = self.rng.choice(self.spots)
        phone = f"138{self.rng.randrange(10**8):08d}"
        if kind == "api":
            body = {
                "city": "DC",
                "text": text,
                "title": title,
                "lat": lat,
                "lon": lon,
                "contact": {"name": "Load Bench", "phone": phone},
            }
            return {
                "url": API,
                "json": body,
                "headers": HTTPS | {"X-Api-Key": self.key, "Idempotency-Key": str(uuid.uuid4())},
            }
        form = {
            "service_code": self.rng.choice(self.codes),
            "lat": str(lat),
            "long": str(lon),
            "description": text,
            "first_name": "Load",
            "last_name": "Bench",
            "phone": phone,
        }
        return {"url": OPEN311, "data": form, "headers": HTTPS | {"X-Api-Key": self.key}}


# -- the open-loop client ------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))], 1)


async def open_loop(
    base_urls: list[str],
    payloads: Payloads,
    kinds: list[str],
    rate: float,
    seconds: float,
    pool: int,
    max_backlog: int,
) -> dict[str, Any]:
    """Send ``rate`` requests a second for ``seconds``; latency from each request's due time."""
    n = max(1, int(rate * seconds))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    backlog = 0
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    timeout = httpx.Timeout(30.0, pool=60.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:

        async def one(i: int, due: float) -> None:
            nonlocal backlog
            req = payloads.request(kinds[i % len(kinds)])
            url = base_urls[i % len(base_urls)] + req.pop("url")
            try:
                response = await client.post(url, **req)
                code = str(response.status_code)
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            finally:
                backlog -= 1
            elapsed = (time.perf_counter() - due) * 1000
            statuses[code] = statuses.get(code, 0) + 1
            if code in ("200", "201"):
                latencies.append(elapsed)

        tasks = []
        t0 = time.perf_counter() + 0.05
        for i in range(n):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if backlog >= max_backlog:
                statuses["shed"] = statuses.get("shed", 0) + 1
                continue
            backlog += 1
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
    ok = len(latencies)
    errors = n - ok
    return {
        "rate": rate,
        "sent": n,
        "ok": ok,
        "errors": errors,
        "error_rate": round(errors / n, 4),
        "wall_s": round(wall, 1),
        "throughput": round(ok / wall, 1),
        "p50_ms": pct(latencies, 0.50),
        "p95_ms": pct(latencies, 0.95),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": round(max(latencies), 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "statuses": dict(sorted(statuses.items())),
    }


# -- CPU accounting ------------------------------------------------------------------------------


class Cpu:
    """CPU seconds used by the cluster's processes, the database backends and this client."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(f"{self.cluster.pg}/postgres", autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.cluster.db_name]
            ).fetchall()
        return [int(r[0]) for r in rows]

    def sample(self) -> dict[str, Any]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "at": time.perf_counter(),
            "app": {p: cpu_seconds(p) for p in self.cluster.all_pids()},
            "db": {p: cpu_seconds(p) for p in self.backends()},
            "client": me.ru_utime + me.ru_stime,
            "load": os.getloadavg(),
        }

    @staticmethod
    def used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        def delta(kind: str) -> float:
            # Processes that started during the interval count from zero.
            return sum(v - before[kind].get(p, 0.0) for p, v in after[kind].items())

        wall = after["at"] - before["at"]
        app, db = delta("app"), delta("db")
        client = after["client"] - before["client"]
        return {
            "wall_s": round(wall, 1),
            "cpu_app_s": round(app, 1),
            "cpu_db_s": round(db, 1),
            "cpu_client_s": round(client, 1),
            "cores_busy_app_db": round((app + db) / wall, 2) if wall else None,
            "loadavg_1m_before": round(before["load"][0], 2),
            "loadavg_1m_after": round(after["load"][0], 2),
        }


# -- the bare INSERT+COMMIT loop -----------------------------------------------------------------


def bare_loop(cluster: Cluster, threads: int, seconds: float) -> dict[str, Any]:
    """Single-row INSERT+COMMIT into a copy of appeals_appeal, ``threads`` connections."""
    import psycopg

    url = cluster.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare")
        conn.execute("CREATE TABLE bench_bare (LIKE appeals_appeal INCLUDING ALL)")
        cur = conn.execute("SELECT * FROM appeals_appeal ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
        if row is None:
            raise RuntimeError("no appeal to copy the shape of: the load made none")
        names = [d.name for d in cur.description or []]
    template = dict(zip(names, row, strict=True))
    template.pop("id")
    for name, value in template.items():
        if isinstance(value, (dict, list)):
            template[name] = psycopg.types.json.Jsonb(value)
    cols = list(template)
    sql = (
        f"INSERT INTO bench_bare ({', '.join(cols)}) "  # noqa: S608 - our own column names
        f"VALUES ({', '.join(['%s'] * len(cols))})"
    )
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(threads + 1)

    def worker(t: int) -> None:
        rng = random.Random(t)
        with psycopg.connect(url, autocommit=True) as conn:
            start.wait()
            i = 0
            while time.monotonic() < stop_at:
                values = dict(template)
                values["ticket"] = f"B{t:02d}-{i:09d}"
                values["token_hash"] = f"{t:02d}{i:010d}{rng.getrandbits(128):032x}"
                began = time.perf_counter()
                conn.execute(sql, list(values.values()))  # autocommit: INSERT + COMMIT
                latencies[t].append((time.perf_counter() - began) * 1000)
                i += 1
            counts[t] = i

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    start.wait()
    began = time.perf_counter()
    for th in pool:
        th.join()
    wall = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_bare")
    every = [x for lat in latencies for x in lat]
    return {
        "threads": threads,
        "rows": sum(counts),
        "wall_s": round(wall, 1),
        "rows_per_s": round(sum(counts) / wall, 1),
        "p50_ms": pct(every, 0.5),
        "p99_ms": pct(every, 0.99),
    }


# -- the audit chain's head lock -----------------------------------------------------------------

# Run in `civitas shell` on the cluster's database: BENCH_THREADS threads, each with its own
# connection, commit small transactions for BENCH_SECONDS: one INSERT, with or without an
# audit.record() (which locks the chain's head row until the commit), and with 0 or
# BENCH_HOLD_MS of further work inside the transaction after it (a sleep: what intake does
# after recording, routing and dispatching, with the head row still locked).
AUDIT_MICRO = """
import json, os, threading, time
from django.db import connection, connections, transaction
from civitas.kit import audit
threads, seconds = int(os.environ["BENCH_THREADS"]), float(os.environ["BENCH_SECONDS"])
with connection.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS bench_audit (id bigserial PRIMARY KEY, note text)")
def case(with_audit, hold):
    counts = [0] * threads
    stop = time.monotonic() + seconds
    def work(t):
        n = 0
        while time.monotonic() < stop:
            with transaction.atomic():
                with connection.cursor() as c:
                    c.execute("INSERT INTO bench_audit (note) VALUES (%s)", ["bench"])
                if with_audit:
                    audit.record(actor="bench", action="bench.micro", object_type="bench",
                                 object_id=f"{t}-{n}")
                if hold:
                    time.sleep(hold)
            n += 1
        counts[t] = n
        connections.close_all()
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    [th.start() for th in pool]; [th.join() for th in pool]
    return round(sum(counts) / (time.perf_counter() - began), 1)
hold = float(os.environ["BENCH_HOLD_MS"]) / 1000
out = {f"{'audit' if a else 'plain'}_hold{int(h * 1000)}ms_per_s": case(a, h)
       for h in (0.0, hold) for a in (False, True)}
with connection.cursor() as c:
    c.execute("DROP TABLE bench_audit")
out["audit_chain_ok"] = audit.verify().ok
print(json.dumps(out))
"""


def audit_micro(cluster: Cluster, threads: int, seconds: float, hold_ms: float) -> dict[str, Any]:
    env = {"BENCH_THREADS": str(threads), "BENCH_SECONDS": str(seconds)}
    env["BENCH_HOLD_MS"] = str(hold_ms)
    out: dict[str, Any] = json.loads(cluster.shell(AUDIT_MICRO, env=env))
    return {"threads": threads, "seconds_each": seconds, "hold_ms": hold_ms, **out}


# -- the run -------------------------------------------------------------------------------------


def series(
    cluster: Cluster, payloads: Payloads, kind: str, args: argparse.Namespace, cpu: Cpu
) -> list[dict[str, Any]]:
    steps = []
    urls = [cluster.url(i) for i in range(args.servers)]
    for rate in args.rates:
        before = cpu.sample()
        step = asyncio.run(
            open_loop(urls, payloads, [kind], rate, args.step_seconds, args.pool, args.max_backlog)
        )
        step["cpu"] = Cpu.used(before, cpu.sample())
        steps.append(step)
        print(row(kind, step), flush=True)
        if step["error_rate"] > args.max_errors or (step["p99_ms"] or 1e9) > args.max_p99_ms:
            break
        time.sleep(2)  # let the queue drain before the next step
    return steps


HEADER = (
    f"{'endpoint':<9} {'rate/s':>7} {'sent':>6} {'ok/s':>7} {'err%':>6} "
    f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'app+db cores':>12} {'load1':>6}"
)


def row(kind: str, s: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return f"{v:8.0f}" if v is not None else f"{'-':>8}"

    return (
        f"{kind:<9} {s['rate']:>7g} {s['sent']:>6} {s['throughput']:>7.1f} "
        f"{100 * s['error_rate']:>6.1f} {ms(s['p50_ms'])} {ms(s['p95_ms'])} {ms(s['p99_ms'])} "
        f"{s['cpu']['cores_busy_app_db']:>12} {s['cpu']['loadavg_1m_after']:>6}"
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about two minutes")
    parser.add_argument("--rates", default="5,10,20,40,80,160,320")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--endpoints", default="api,open311")
    parser.add_argument("--no-steps", action="store_true", help="only the sustained run")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--pool", type=int, default=64, help="client connections at most")
    parser.add_argument("--max-backlog", type=int, default=2000)
    parser.add_argument("--max-errors", type=float, default=0.01)
    parser.add_argument("--max-p99-ms", type=float, default=2000.0)
    parser.add_argument("--bare-seconds", type=float, default=15.0)
    parser.add_argument("--audit-seconds", type=float, default=10.0, help="0: no micro-bench")
    parser.add_argument("--audit-hold-ms", type=float, default=20.0)
    parser.add_argument("--sustain-rate", type=float, default=SUSTAIN_RATE)
    parser.add_argument("--sustain-seconds", type=float, default=0.0)
    parser.add_argument("--no-train", action="store_true", help="keyword classifier only")
    parser.add_argument(
        "--snapshot",
        metavar="REF",
        default="",
        help="run the code of this commit (e.g. HEAD), unpacked apart, not the working tree's",
    )
    parser.add_argument("--src", type=Path, default=None, help="run the code in this src folder")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.step_seconds, args.bare_seconds = "5,10", 8.0, 5.0
        args.audit_seconds = min(args.audit_seconds, 3.0)
        args.sustain_seconds = args.sustain_seconds or 10.0
        args.no_train = True
    args.rates = [float(r) for r in str(args.rates).split(",") if r.strip()]
    if not 0 < args.step_seconds <= 120 or not 0 <= args.sustain_seconds <= 1200:
        sys.exit("keep it bounded: --step-seconds in (0, 120], --sustain-seconds in [0, 1200]")
    if not args.rates or max(args.rates) > 2000:
        sys.exit("--rates: comma-separated rates per second, at most 2000")
    return args


def main() -> None:
    args = parse()
    data = args.data or data_dir([])
    texts = messages(data)
    results: dict[str, Any] = {
        "bench": "load",
        "machine": machine() | {"loadavg_start": os.getloadavg()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "beijing": {
            "year": BEIJING_YEAR,
            "peak_to_mean": round(PEAK_TO_MEAN, 3),
            "busiest_day": round(BEIJING_BUSIEST_DAY),
            "ten_times_per_s": round(SUSTAIN_RATE, 2),
        },
        "series": {},
        "bare": {},
    }
    started = time.monotonic()
    src = args.src
    if args.snapshot:
        src = snapshot(Path(tempfile.mkdtemp(prefix="civitas-load-src-")), args.snapshot)
        results["snapshot"] = subprocess.run(
            ["git", "rev-parse", args.snapshot], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    cluster = Cluster(
        "load",
        servers=args.servers,
        web_workers=args.web_workers,
        workers=1,
        train=not args.no_train,
        quiet=False,
        src=src,
    )
    with cluster:
        spots = [tuple(p) for p in json.loads(cluster.shell(POINTS))]
        services = httpx.get(cluster.url(0) + "/open311/v2/services.json", headers=HTTPS).json()
        codes = [s["service_code"] for s in services if not s.get("metadata")]
        payloads = Payloads(texts, spots, codes, cluster.api_key)
        cpu = Cpu(cluster)
        results["texts"] = len(texts)
        # Warm-up: every gunicorn worker loads the classifier and fills its caches.
        asyncio.run(open_loop([cluster.url(0)], payloads, ["api", "open311"], 4, 4, 8, 100))
        threads = args.web_workers * 4 * args.servers
        if not args.no_steps:
            print(HEADER, flush=True)
            for kind in [k.strip() for k in args.endpoints.split(",") if k.strip()]:
                steps = series(cluster, payloads, kind, args, cpu)
                bare = bare_loop(cluster, threads, args.bare_seconds)
                best = max(s["throughput"] for s in steps)
                bare["ratio_ours_to_bare"] = round(best / bare["rows_per_s"], 4)
                results["series"][kind] = steps
                results["bare"][kind] = bare
                print(
                    f"  bare INSERT+COMMIT ({threads} connections): {bare['rows_per_s']} rows/s, "
                    f"p50 {bare['p50_ms']} ms; {kind} best {best}/s = "
                    f"{100 * bare['ratio_ours_to_bare']:.2f}% of it",
                    flush=True,
                )
        if args.audit_seconds:
            micro = audit_micro(cluster, threads, args.audit_seconds, args.audit_hold_ms)
            results["audit_micro"] = micro
            print(f"audit head lock micro-bench ({threads} threads): {json.dumps(micro)}")
        if args.sustain_seconds:
            print(
                f"sustained: {args.sustain_rate:.2f}/s for {args.sustain_seconds:.0f} s, "
                "half API, half Open311",
                flush=True,
            )
            before = cpu.sample()
            urls = [cluster.url(i) for i in range(args.servers)]
            run = asyncio.run(
                open_loop(
                    urls,
                    payloads,
                    ["api", "open311"],
                    args.sustain_rate,
                    args.sustain_seconds,
                    args.pool,
                    args.max_backlog,
                )
            )
            run["cpu"] = Cpu.used(before, cpu.sample())
            results["sustained"] = run
            print(HEADER)
            print(row("mixed", run), flush=True)
            print(f"  CPU: {json.dumps(run['cpu'])}", flush=True)
        counts = cluster.shell(
            "from civitas.appeals.models import Appeal\n"
            "from civitas.kit import audit\n"
            "r = audit.verify()\n"
            "print(Appeal.objects.count(), r.ok, r.checked)"
        ).split()
        results["appeals_in_db"] = int(counts[0])
        results["audit_chain_ok"] = counts[1] == "True"
        results["audit_entries"] = int(counts[2])
    if args.snapshot and src is not None:
        shutil.rmtree(src.parent, ignore_errors=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    print(
        f"{results['appeals_in_db']} appeals in the database; audit chain "
        f"{'verifies' if results['audit_chain_ok'] else 'BROKEN'} ({results['audit_entries']} "
        f"entries); {results['elapsed_s']} s; loadavg {results['machine']['loadavg_start']} -> "
        f"{results['machine']['loadavg_end']}"
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        print(f"results: {args.out}")


if __name__ == "__main__":
    main()
