"""Reading shared records through a grant: latency of a granted, masked, area-limited page.

    .venv/bin/python bench/hub_query_bench.py [--rows 1000000] [--repeat 200] [--workers 2]
                                              [--backends sqlite,postgresql]

For each database (a temporary SQLite file; a temporary PostgreSQL database on
127.0.0.1:5432, dropped afterwards) it:
1. migrates it and imports the demo city (Harbour City: 6 districts, their streets,
   communities and grids);
2. makes a market-supervision dataset of ``--rows`` inspections spread over the city's grids
   (each record with its grid's area path, a point, a pseudonymous person key, a credit code,
   a date), written in bulk (COPY on PostgreSQL, executemany on SQLite), then (VACUUM)
   ANALYZE;
3. gives a district's street office a grant limited to one district with six fields, two of
   them masked (a sensitive phone, a secret identity key), and an API key with hub:read;
4. times ``hub.query.read()`` in the process for a page of 100 rows: the first page, deep
   keyset pages (cursors spread over the whole district), a narrower area (one street) and a
   filter on a granted field; every call is a real read (it writes its AccessLog row and its
   audit entry); beside them, the page's query alone (no checks, masking or logging);
5. starts ``civitas serve`` (gunicorn, production settings) and times the same pages through
   ``GET /api/hub/datasets/<code>/records`` with the key (one client, keep-alive);
6. prints p50/p95/p99 for each, and one JSON line per database.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import ROOT, emit, temp_dir
from intake_bench import CIVITAS, base_env, free_port, postgres_database, run, serve, stop

CODE = "bench-inspections"
FIELDS = [
    # name, type, sensitivity, key role
    ("credit_code", "string", "public", "credit_code"),
    ("enterprise", "string", "public", ""),
    ("address", "string", "internal", "address"),
    ("legal_rep_id", "string", "secret", "person_id"),
    ("phone", "string", "sensitive", "phone"),
    ("inspected_on", "date", "internal", "date"),
    ("lat", "decimal", "internal", "latitude"),
    ("lon", "decimal", "internal", "longitude"),
    ("result", "string", "internal", ""),
    ("fine", "decimal", "sensitive", ""),
]
GRANTED = ["credit_code", "enterprise", "legal_rep_id", "phone", "inspected_on", "result"]
RESULTS = ["pass", "pass", "pass", "rectify", "fail"]


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "max_ms": round(ms[-1], 2),
    }


# -- the child: set-up and in-process timings on one database ------------------------------


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from civitas.geo.models import Jurisdiction
    from civitas.hub import grants, keys, query
    from civitas.hub.models import (
        AccessChannel,
        Batch,
        BatchSource,
        BatchStatus,
        Dataset,
        Domain,
        Field,
        Frequency,
        Record,
        SchemaVersion,
        Sharing,
    )
    from civitas.kit import audit, clock
    from civitas.org import services as org_services
    from civitas.org.models import Unit, UnitKind, User

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("city", "import", args.pack, verbosity=0)
    city = Jurisdiction.objects.get(code="DC")
    grids = list(
        Jurisdiction.objects.filter(level__code="grid")
        .order_by("code")
        .values_list("pk", "path", "boundary")
    )
    districts = list(Jurisdiction.objects.filter(level__code="district").order_by("code"))
    setup_s = time.perf_counter() - started

    with transaction.atomic():
        admin = User.objects.create_superuser("bench-admin", "admin@bench.example", "x")
        owner = org_services.save_unit(
            actor="bench",
            code="DC-BENCH-MARKET",
            kind=UnitKind.DEPARTMENT,
            department_type="market_supervision",
            name_en="Market Supervision Bureau (bench)",
            name_zh="市场监督管理局（测试）",
            jurisdiction=city,
        )
        district = districts[0]
        consumer = Unit.objects.filter(kind=UnitKind.GOVERNMENT, jurisdiction=district).first()
        if consumer is None:
            consumer = org_services.save_unit(
                actor="bench",
                code="DC-BENCH-OFFICE",
                kind=UnitKind.GOVERNMENT,
                name_en="District office (bench)",
                name_zh="区政府（测试）",
                jurisdiction=district,
            )
        ds = Dataset.objects.create(
            code=CODE,
            city="DC",
            owner_unit=owner,
            jurisdiction=city,
            jurisdiction_path=city.path,
            title_en="Inspections (bench)",
            title_zh="检查记录（测试）",
            domain=Domain.MARKET_SUPERVISION,
            frequency=Frequency.DAILY,
            sharing=Sharing.CONDITIONAL,
        )
        schema = SchemaVersion.objects.create(dataset=ds, number=1, created_by="bench")
        for i, (name, ftype, sens, role) in enumerate(FIELDS):
            Field.objects.create(
                schema=schema,
                position=i,
                name=name,
                label_en=name,
                label_zh=name,
                type=ftype,
                sensitivity=sens,
                key_role=role,
            )
        ds.schema = schema
        ds.save(update_fields=["schema"])
        batch = Batch.objects.create(
            dataset=ds,
            number=1,
            schema=schema,
            source=BatchSource.API,
            status=BatchStatus.APPLIED,
            rows_total=args.rows,
            rows_loaded=args.rows,
            created_by="bench",
        )

    # The records, in bulk: grids chosen at random, a point near the grid's middle.
    started = time.perf_counter()
    rng = random.Random(17)
    people = [
        keys.person_key(keys.complete_person_id(f"11010519800101{n:03d}")) for n in range(1, 999)
    ]
    centres = []
    for pk, path, boundary in grids:
        ring = (boundary or {}).get("coordinates", [[[0, 0]]])
        while isinstance(ring[0][0], list):
            ring = ring[0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        centres.append((pk, path, sum(ys) / len(ys), sum(xs) / len(xs)))

    def rows() -> Any:
        for n in range(args.rows):
            gpk, gpath, lat, lon = centres[rng.randrange(len(centres))]
            code = keys.complete_credit_code(f"9143010{n:010d}")
            day = f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}"
            data = {
                "credit_code": code,
                "enterprise": f"Shop {n}",
                "address": f"{n % 300} Harbour Road",
                "legal_rep_id": people[n % len(people)],
                "phone": f"138{n:08d}",
                "inspected_on": day,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "result": RESULTS[n % len(RESULTS)],
                "fine": 0.0 if n % 5 else 500.0,
            }
            yield (
                ds.pk,
                batch.pk,
                n + 1,
                json.dumps(data, ensure_ascii=False),
                gpk,
                gpath,
                lat,
                lon,
                data["legal_rep_id"],
                code,
                day,
            )

    columns = (
        "dataset_id, batch_id, row_number, data, jurisdiction_id, jurisdiction_path, lat, lon, "
        "person_key, credit_code, occurred_on"
    )
    table = Record._meta.db_table
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cur:
            raw = cur.cursor if hasattr(cur, "cursor") else cur
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for r in rows():
                    copy.write_row(r)
        with connection.cursor() as cur:  # as autovacuum would leave it: hint bits, statistics
            cur.execute(f"VACUUM ANALYZE {table}")
    else:
        marks = ", ".join(["%s"] * 11)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - our own names
        chunk: list[tuple[Any, ...]] = []
        for r in rows():
            chunk.append(r)
            if len(chunk) == 20000:
                with transaction.atomic(), connection.cursor() as cur:
                    cur.executemany(sql, chunk)
                chunk = []
        with transaction.atomic(), connection.cursor() as cur:
            if chunk:
                cur.executemany(sql, chunk)
            cur.execute("ANALYZE")
    Dataset.objects.filter(pk=ds.pk).update(record_count=args.rows, last_loaded_at=clock.now())
    load_s = time.perf_counter() - started

    with transaction.atomic():
        g = grants.request_grant(
            admin,
            ds,
            consumer=consumer,
            fields=GRANTED,
            area=district,
            purpose="benchmark",
            legal_basis="benchmark",
            expires_at=clock.now() + timedelta(days=30),
        )
        g = grants.approve(admin, g, version=g.version)
        api_key, clear = org_services.create_api_key(
            actor="bench", name="bench reader", scopes=["hub:read"], unit=consumer
        )
    area_q = query.in_area(district.path)
    in_district = Record.objects.filter(area_q, dataset=ds)
    matching = in_district.count()
    ordered = in_district.order_by("jurisdiction_path", "id").values_list("id", flat=True)
    cursors = [ordered[int(matching * f)] for f in (0.1, 0.3, 0.5, 0.7, 0.9, 0.95)]
    street = Jurisdiction.objects.filter(parent=district).order_by("code").first()
    assert street is not None

    def timed(n: int, **kw: Any) -> dict[str, Any]:
        samples = []
        rows_seen = 0
        for i in range(n):
            extra = dict(kw)
            if extra.get("after") == "deep":
                extra["after"] = cursors[i % len(cursors)]
            t = time.perf_counter()
            page = query.read(api_key, ds, grant=g, channel=AccessChannel.API, **extra)
            samples.append(time.perf_counter() - t)
            rows_seen += len(page.rows)
        return {**percentiles(samples), "rows_per_page": rows_seen / n}

    # The plan of a deep page's query, as read() builds it (the index hub_rec_area, no sort).
    start = Record.objects.get(pk=cursors[2]).jurisdiction_path
    plan = (
        query.from_cursor(Record.objects.filter(dataset=ds), district.path, start, cursors[2])
        .order_by("jurisdiction_path", "id")
        .values_list("id", "jurisdiction_path", "data")[:101]
        .explain()
    )

    def bare(n: int, deep: bool) -> dict[str, Any]:
        """The page's query alone, without checks, masking or logging, for comparison."""
        samples = []
        base = Record.objects.filter(dataset=ds)
        for i in range(n):
            cursor = cursors[i % len(cursors)]
            t = time.perf_counter()
            if deep:
                at = Record.objects.filter(pk=cursor).values_list("jurisdiction_path", flat=True)
                qs = query.from_cursor(base, district.path, at[0], cursor)
            else:
                qs = base.filter(query.in_area(district.path))
            got = list(
                qs.order_by("jurisdiction_path", "id").values_list(
                    "id", "jurisdiction_path", "data"
                )[:101]
            )
            samples.append(time.perf_counter() - t)
            assert got
        return percentiles(samples)

    first = query.read(api_key, ds, grant=g, page_size=100)
    assert len(first.rows) == 100 and first.masked == {"phone", "legal_rep_id"}
    assert all(set(r) == {"id", "area", *GRANTED} for r in first.rows)
    assert all(r["area"] and "****" in r["phone"] for r in first.rows)
    timed(10, page_size=100)  # warm-up
    figures = {
        "rows": args.rows,
        "grids": len(grids),
        "district": district.code,
        "rows_in_district": matching,
        "setup_s": round(setup_s, 1),
        "load_s": round(load_s, 1),
        "query_only_first_page": bare(args.repeat, deep=False),
        "query_only_deep_pages": bare(args.repeat, deep=True),
        "read_first_page": timed(args.repeat, page_size=100),
        "read_deep_pages": timed(args.repeat, page_size=100, after="deep"),
        "read_one_street": timed(args.repeat, page_size=100, area=street.code),
        "read_filtered": timed(args.repeat, page_size=100, filters={"result": "fail"}),
        "audit_ok": audit.verify().ok if args.rows <= 200_000 else None,
        "key": clear,
        "grant": g.pk,
        "cursors": cursors,
        "street": street.code,
        "deep_page_plan": plan.splitlines()[:6],
    }
    print("CHILD " + json.dumps(figures))


# -- the parent: databases, the child, the server ------------------------------------------


def http_timings(port: int, key: str, fig: dict[str, Any], repeat: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"X-Forwarded-Proto": "https", "X-Api-Key": key, "X-Civitas-Purpose": "bench"}

    def get(params: dict[str, Any]) -> dict[str, Any]:
        url = f"/api/hub/datasets/{CODE}/records?" + urllib.parse.urlencode(params)
        conn.request("GET", url, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            sys.exit(f"GET {url} answered {resp.status}: {body[:300]!r}")
        return dict(json.loads(body))

    def timed(**kw: Any) -> dict[str, Any]:
        samples = []
        for i in range(repeat):
            params = {"grant": fig["grant"], "page_size": 100, **kw}
            if params.get("after") == "deep":
                params["after"] = fig["cursors"][i % len(fig["cursors"])]
            t = time.perf_counter()
            body = get(params)
            samples.append(time.perf_counter() - t)
            assert body["rows"], params
        return percentiles(samples)

    for _ in range(10):
        get({"grant": fig["grant"], "page_size": 100})  # warm-up
    out = {
        "http_first_page": timed(),
        "http_deep_pages": timed(after="deep"),
        "http_one_street": timed(area=fig["street"]),
    }
    conn.close()
    return out


def one_backend(backend: str, tmp: Path, pack: Path, args: argparse.Namespace) -> dict[str, Any]:
    pg_name = f"civitas_hubq_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'hubq.sqlite3'}"
    else:
        postgres_database(pg_name, create=True)
        url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    try:
        env = base_env(url, tmp / backend)
        env["PYTHONPATH"] = str(ROOT / "bench")
        cmd = [sys.executable, str(Path(__file__)), "--child", "--pack", str(pack)]
        cmd += ["--rows", str(args.rows), "--repeat", str(args.repeat)]
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("CHILD ")), None)
        if done.returncode != 0 or line is None:
            sys.exit(f"set-up on {backend} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        fig = json.loads(line[len("CHILD ") :])
        port = free_port()
        server = serve(env, port, args.workers)
        try:
            fig |= http_timings(port, fig["key"], fig, args.repeat)
        finally:
            stop(server)
    finally:
        if backend == "postgresql":
            postgres_database(pg_name, create=False)
    for private in ("key", "cursors"):
        fig.pop(private, None)
    return {"backend": backend, "load_avg_1m": round(os.getloadavg()[0], 1), **fig}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pack", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1000 <= args.rows <= 5_000_000 or not 10 <= args.repeat <= 5000:
        sys.exit("keep it bounded: --rows in [1000, 5000000], --repeat in [10, 5000]")
    if args.child:
        child(args)
        return
    with temp_dir() as tmp:
        pack = tmp / "demo-pack"
        run([CIVITAS, "city", "build", "demo", "--out", str(pack)], base_env("sqlite://", tmp))
        for backend in args.backends.split(","):
            r = one_backend(backend.strip(), tmp, pack, args)
            print(
                f"\n{r['backend']}: {r['rows']:,} records over {r['grids']} grids, "
                f"{r['rows_in_district']:,} in district {r['district']} (loaded in "
                f"{r['load_s']} s); load average {r['load_avg_1m']}"
            )
            for name in (
                "query_only_first_page",
                "query_only_deep_pages",
                "read_first_page",
                "read_deep_pages",
                "read_one_street",
                "read_filtered",
                "http_first_page",
                "http_deep_pages",
                "http_one_street",
            ):
                x = r[name]
                print(
                    f"  {name:16} p50 {x['p50_ms']:8} ms  p95 {x['p95_ms']:8} ms  "
                    f"p99 {x['p99_ms']:8} ms  (n={x['n']})"
                )
            print("  deep page plan: " + " | ".join(r["deep_page_plan"]))
            emit("hub_query", r)


if __name__ == "__main__":
    main()
