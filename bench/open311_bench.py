"""Open311 GeoReport v2 through real HTTP: POST requests per second, and read latencies.

    .venv/bin/python bench/open311_bench.py [--seconds 20] [--clients 8] [--workers 3]
                                            [--history 50000] [--backends sqlite,postgresql]

For each database (a temporary SQLite file; a temporary PostgreSQL database on
127.0.0.1:5432, dropped afterwards) it:
1. migrates it, imports the demo city, trains its classifier and makes an API key with
   appeals:submit (as bench/intake_bench.py does);
2. starts ``civitas serve`` (gunicorn, production settings) with the rate limits raised out of
   the way, and drives ``POST /open311/v2/requests.json`` (form-encoded, a service code from
   ``services.json``, a map point, contact fields) from client threads for ``--seconds``: every
   request takes the full intake path (locate, duplicates, route, dispatch, audit);
3. adds ``--history`` appeals received over the last 90 days in bulk (so that the default
   ``requests`` window holds a realistic amount), then times GET ``requests.json`` and
   ``requests.xml`` (the default: the most recent 90 days, the first 1,000), a filtered query
   (one service code, status open), ``requests/<id>.xml``, ``services.xml`` and
   ``servicerequestupdates.json``, each 40 times from one client;
4. prints requests/s and latency percentiles, and one JSON line per database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import emit, temp_dir
from intake_bench import (
    CIVITAS,
    TEXTS,
    base_env,
    free_port,
    points,
    postgres_database,
    prepare,
    run,
    serve,
    stop,
)

HEADERS = {"X-Forwarded-Proto": "https"}
MAX_REQUESTS = 200_000

# Run inside `civitas shell`: BENCH_HISTORY appeals over the last 90 days, in bulk.
HISTORY = """
import os, random, secrets
from datetime import timedelta
from django.db import transaction
from civitas.appeals.models import Appeal, Status
from civitas.kit import clock
rows = int(os.environ["BENCH_HISTORY"])
template = list(Appeal.objects.filter(matter__isnull=False)[:200])
rng = random.Random(11)
now = clock.now()
statuses = [Status.DISPATCHED, Status.ACCEPTED, Status.RESOLVED, Status.CLOSED]
batch = []
for i in range(rows):
    t = rng.choice(template)
    at = now - timedelta(seconds=rng.uniform(0, 89 * 86400))
    batch.append(Appeal(
        ticket=f"DC-H-{i:08d}", token_hash=secrets.token_hex(32), city=t.city,
        channel=t.channel, kind=t.kind, title=t.title, text=t.text, matter=t.matter,
        lat=t.lat, lon=t.lon, address=t.address, jurisdiction=t.jurisdiction,
        jurisdiction_path=t.jurisdiction_path, status=rng.choice(statuses),
        lead_unit=t.lead_unit, received_at=at, resolve_due=at + timedelta(days=5),
    ))
    if len(batch) == 2000:
        with transaction.atomic():
            Appeal.objects.bulk_create(batch)
        batch = []
with transaction.atomic():
    Appeal.objects.bulk_create(batch)
print(Appeal.objects.count())
"""


def service_codes(port: int) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/open311/v2/services.json", headers=HEADERS)
    services = json.loads(conn.getresponse().read())
    conn.close()
    return [s["service_code"] for s in services if not s["metadata"]]


def post_load(
    port: int,
    key: str,
    codes: list[str],
    spots: list[tuple[str, float, float]],
    clients: int,
    seconds: float,
) -> dict[str, Any]:
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(MAX_REQUESTS))

    def client(worker: int) -> None:
        rng = random.Random(worker)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = HEADERS | {"Content-Type": "application/x-www-form-urlencoded"}
        while time.monotonic() < stop_at:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            place, lat, lon = spots[n % len(spots)]
            body = urllib.parse.urlencode(
                {
                    "api_key": key,
                    "service_code": rng.choice(codes),
                    "lat": lat,
                    "long": lon,
                    "description": rng.choice(TEXTS).format(place=place),
                    "first_name": "Bench",
                    "phone": "13800000000",
                }
            )
            started = time.perf_counter()
            try:
                conn.request("POST", "/open311/v2/requests.json", body=body, headers=headers)
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
    return {
        "created": len(latencies),
        "per_s": round(len(latencies) / wall, 1),
        **percentiles(latencies),
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    values = sorted(values)
    if not values:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "mean_ms": None}

    def pct(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))], 1)

    return {
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(values), 1),
    }


def busiest_code(port: int) -> str:
    """The service code most frequent in the default window (so the filter finds records)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/open311/v2/requests.json", headers=HEADERS)
    records = json.loads(conn.getresponse().read())
    conn.close()
    counts: dict[str, int] = {}
    for r in records:
        counts[r["service_code"]] = counts.get(r["service_code"], 0) + 1
    return max(counts, key=lambda c: counts[c])


def reads(port: int, ticket: str, times: int) -> dict[str, Any]:
    code = busiest_code(port)
    paths = {
        "requests.json (default window)": "/open311/v2/requests.json",
        "requests.xml (default window)": "/open311/v2/requests.xml",
        "requests.json?service_code&status=open": (
            f"/open311/v2/requests.json?service_code={code}&status=open"
        ),
        "requests/<id>.xml": f"/open311/v2/requests/{ticket}.xml",
        "services.xml": "/open311/v2/services.xml",
        "servicerequestupdates.json": "/open311/v2/servicerequestupdates.json",
    }
    out: dict[str, Any] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for name, path in paths.items():
        latencies, size, results = [], 0, 0
        for _ in range(times):
            started = time.perf_counter()
            conn.request("GET", path, headers=HEADERS)
            response = conn.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                sys.exit(f"GET {path} answered {response.status}: {body[:300]!r}")
            size = len(body)
            if ".json" in path:
                results = len(json.loads(body))
            elif ".xml" in path and path.startswith("/open311/v2/requests"):
                results = body.count(b"<request>")
        out[name] = {**percentiles(latencies), "bytes": size, "results": results or None}
    conn.close()
    return out


def one_backend(backend: str, tmp: Path, pack: Path, args: argparse.Namespace) -> dict[str, Any]:
    pg_name = f"civitas_bench311_{int(time.time())}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'open311.sqlite3'}"
    else:
        postgres_database(pg_name, create=True)
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    try:
        env = base_env(url, tmp / backend) | {
            "CIVITAS_OPEN311_POST_RATE": "1000000/m",
            "CIVITAS_OPEN311_GET_RATE": "1000000/m",
        }
        key = prepare(env, pack)
        spots = points(env, 500)
        port = free_port()
        server = serve(env, port, args.workers)
        try:
            codes = service_codes(port)
            post_load(port, key, codes, spots, args.clients, min(3.0, args.seconds))  # warm-up
            posted = post_load(port, key, codes, spots, args.clients, args.seconds)
        finally:
            stop(server)
        total = run([CIVITAS, "shell", "-c", HISTORY], env | {"BENCH_HISTORY": str(args.history)})
        server = serve(env, port, args.workers)
        try:
            ticket = "DC-H-00000001"
            read = reads(port, ticket, args.reads)
        finally:
            stop(server)
    finally:
        if backend == "postgresql":
            postgres_database(pg_name, create=False)
    return {
        "backend": backend,
        "workers": args.workers,
        "clients": args.clients,
        "post": posted,
        "appeals_in_db": int(total.strip().splitlines()[-1]),
        "reads": read,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--history", type=int, default=50_000)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if not 0 < args.seconds <= 300 or not 0 < args.clients <= 64 or args.history > 2_000_000:
        sys.exit("keep it bounded: --seconds in (0, 300], --clients in (0, 64], --history ≤ 2M")
    with temp_dir() as tmp:
        pack = tmp / "demo-pack"
        run([CIVITAS, "city", "build", "demo", "--out", str(pack)], base_env("sqlite://", tmp))
        for backend in args.backends.split(","):
            r = one_backend(backend.strip(), tmp, pack, args)
            p = r["post"]
            print(
                f"\n{r['backend']}: POST /open311/v2/requests.json {p['per_s']} requests/s "
                f"({p['created']} created; p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, "
                f"p99 {p['p99_ms']} ms; HTTP {p['http_statuses']})"
            )
            print(f"  reads with {r['appeals_in_db']} appeals in the database:")
            for name, m in r["reads"].items():
                print(
                    f"    {name}: p50 {m['p50_ms']} ms, p95 {m['p95_ms']} ms "
                    f"({m['bytes']} bytes, {m['results']} results)"
                )
            emit("open311", r)


if __name__ == "__main__":
    main()
