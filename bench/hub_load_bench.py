"""Loading a large CSV file into the data-sharing hub, beside a bare insert of the same rows.

    .venv/bin/python bench/hub_load_bench.py [--rows 1000000] [--backends sqlite,postgresql]

PostgreSQL is reached through DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres,
used only to create and drop the scratch database ``civitas_bench_hub``). For each database, in
a child process of its own:
1. migrate, import the demo city (built once into the temporary folder), make a dataset of
   market inspections owned by one of its units and covering the whole city;
2. write (once, reused by the next database) a CSV of ``--rows`` inspections: an id, the
   enterprise's name and unified social credit code, the legal representative's identity
   number, a phone number, the date, a point inside one of the city's communities, the result,
   a fine and a yes/no;
3. time ``ingest.stage_file`` + ``ingest.run``: reading, checking every field, identity numbers
   to keys, codes validated, points located (vectorised) and checked in the area, records
   inserted (COPY on PostgreSQL, executemany on SQLite), all in one transaction, with the
   dataset's counters and one audit entry;
4. read the converted rows back and time a bare executemany (SQLite) or COPY (PostgreSQL) of
   exactly those rows into a plain table without indexes or keys, also in one transaction;
5. print rows/s for both, their ratio and the child's peak memory (ru_maxrss, measured after the
   hub load, before the bare insert reads rows back), and one JSON line.

BENCH_PROFILE=FILE writes a cProfile of the hub load (its slowest calls) to FILE.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, emit, temp_dir
from cryptography.fernet import Fernet

CIVITAS = str(ROOT / ".venv" / "bin" / "civitas")
PG_DB = "civitas_bench_hub"
COLUMNS = [
    "inspection_id",
    "enterprise",
    "credit_code",
    "legal_rep_id",
    "phone",
    "inspected_on",
    "lat",
    "lon",
    "result",
    "fine",
    "follow_up",
]
# (name, type, sensitivity, key role, required)
FIELDS = [
    ("inspection_id", "string", "public", "", True),
    ("enterprise", "string", "public", "", True),
    ("credit_code", "string", "public", "credit_code", True),
    ("legal_rep_id", "string", "secret", "person_id", False),
    ("phone", "string", "sensitive", "phone", False),
    ("inspected_on", "date", "internal", "date", True),
    ("lat", "decimal", "internal", "latitude", False),
    ("lon", "decimal", "internal", "longitude", False),
    ("result", "string", "internal", "", True),
    ("fine", "decimal", "sensitive", "", False),
    ("follow_up", "boolean", "internal", "", False),
]
# Region codes python-stdnum knows (its list follows the older national division codes).
REGIONS = ["430100", "430121", "430122", "110105"]
RESULTS = ["合格", "基本合格", "不合格", "pass", "fail"]
SHOPS = ["小吃店", "便利店", "药店", "五金店", "餐馆", "理发店", "超市", "茶楼"]


def env_for(url: str, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CIVITAS_DEBUG"}
    env |= {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "CIVITAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # [crypto]
        "CIVITAS_VAR": str(tmp / "var"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def pg_admin_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgresql://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def pg_database(create: bool) -> str:
    import psycopg

    admin = pg_admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
    return urlunsplit(urlsplit(admin)._replace(path=f"/{PG_DB}"))


# -- the child: one database ------------------------------------------------------------------


def write_csv(path: Path, rows: int) -> float:
    """The inspections file, with points inside the city's communities (from the database)."""
    from shapely.geometry import Point, shape

    from civitas.geo.models import Jurisdiction
    from civitas.hub import keys

    rng = random.Random(20261127)
    communities = list(Jurisdiction.objects.filter(level__code="community").order_by("code"))
    pool: list[tuple[float, float]] = []
    while len(pool) < 20_000:
        g = shape(rng.choice(communities).boundary)
        x0, y0, x1, y1 = g.bounds
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if g.contains(Point(x, y)):
            pool.append((round(y, 6), round(x, 6)))
    people = [
        keys.complete_person_id(
            f"{REGIONS[n % len(REGIONS)]}{rng.randint(1950, 2000)}"
            f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{n % 1000:03d}"
        )
        for n in range(50_000)
    ]
    codes = [keys.complete_credit_code(f"9143010{n:010d}") for n in range(20_000)]
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(rows):
            lat, lon = pool[i % len(pool)]
            e = i % len(codes)
            w.writerow(
                [
                    f"INS-{i:08d}",
                    f"长沙{SHOPS[e % len(SHOPS)]}{e}号",
                    codes[e],
                    people[i % len(people)] if i % 7 else "",
                    f"138{i % 100_000_000:08d}",
                    f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                    lat,
                    lon,
                    RESULTS[i % len(RESULTS)],
                    f"{(i % 50) * 100}.00" if i % 5 == 0 else "",
                    "是" if i % 4 == 0 else "否",
                ]
            )
    return time.perf_counter() - started


def make_dataset() -> Any:
    from django.db import transaction

    from civitas.geo.models import Jurisdiction
    from civitas.hub.models import Dataset, Field, SchemaVersion
    from civitas.org.models import Unit

    root = Jurisdiction.objects.filter(parent__isnull=True).order_by("code").first()
    assert root is not None, "the demo city was not imported"
    owner = Unit.objects.filter(active=True).order_by("code").first()
    with transaction.atomic():
        ds = Dataset.objects.create(
            code="bench-inspections",
            city=root.code,
            owner_unit=owner,
            jurisdiction=root,
            jurisdiction_path=root.path,
            title_en="Market inspections",
            title_zh="市场检查",
            domain="market_supervision",
            frequency="daily",
            sharing="conditional",
        )
        schema = SchemaVersion.objects.create(dataset=ds, number=1, created_by="bench")
        for i, (name, ftype, sens, role, required) in enumerate(FIELDS):
            Field.objects.create(
                schema=schema,
                position=i,
                name=name,
                label_en=name,
                label_zh=name,
                type=ftype,
                sensitivity=sens,
                key_role=role,
                required=required,
            )
        ds.schema = schema
        ds.save(update_fields=["schema"])
    return ds


def cpu_seconds() -> float:
    """This process's CPU time: on a shared machine wall time also counts other work."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def bare_insert(batch_id: int) -> tuple[int, float, float]:
    """The hub's converted rows, read back, inserted bare into a plain table."""
    from django.db import connection, transaction

    from civitas.hub.ingest import _COLUMNS

    cols = ", ".join(_COLUMNS)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_plain")
        cur.execute(f"CREATE TABLE bench_plain AS SELECT {cols} FROM hub_record WHERE 1 = 0")  # noqa: S608
        exprs = ", ".join("data::text" if c == "data" else c for c in _COLUMNS)
        if connection.vendor != "postgresql":
            exprs = cols
        cur.execute(f"SELECT {exprs} FROM hub_record WHERE batch_id = %s", [batch_id])  # noqa: S608
        rows = cur.fetchall()
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        raw = cur.cursor
        if connection.vendor == "postgresql":
            with raw.copy(f"COPY bench_plain ({cols}) FROM STDIN") as pipe:
                for r in rows:
                    pipe.write_row(r)
        else:
            marks = ", ".join("?" * len(_COLUMNS))
            raw.executemany(f"INSERT INTO bench_plain ({cols}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows), time.perf_counter() - started, cpu_seconds() - cpu_started


def child(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from civitas.hub import ingest
    from civitas.hub.models import Record

    call_command("migrate", verbosity=0)
    call_command("city", "import", args.pack, verbosity=0)
    ds = make_dataset()
    path = Path(args.csv)
    generated_s = None
    if not path.exists():
        generated_s = round(write_csv(path, args.rows), 1)
    size_mb = path.stat().st_size / 1024**2
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_started = cpu_seconds()
    started = time.perf_counter()
    batch = ingest.stage_file("bench", ds, path, filename=path.name)
    staged_s = time.perf_counter() - started
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            batch = ingest.run(batch)
        with open(os.environ["BENCH_PROFILE"], "w") as out:
            pstats.Stats(prof, stream=out).sort_stats("cumtime").print_stats(40)
    else:
        batch = ingest.run(batch)
    hub_s = time.perf_counter() - started
    hub_cpu = cpu_seconds() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if batch.status != "applied":
        sys.exit(f"the load was {batch.status}: {batch.message} {batch.report.get('problems')}")
    loaded = Record.objects.filter(batch=batch).count()
    bare_rows, bare_s, bare_cpu = bare_insert(batch.pk)
    result = {
        "backend": connection.vendor,
        "rows": loaded,
        "file_mb": round(size_mb, 1),
        "csv_written_s": generated_s,
        "stage_s": round(staged_s, 1),
        "hub_s": round(hub_s, 1),
        "hub_rows_per_s": round(loaded / hub_s),
        "bare_rows": bare_rows,
        "bare_s": round(bare_s, 1),
        "bare_rows_per_s": round(bare_rows / bare_s),
        "ratio_bare_to_hub": round((bare_rows / bare_s) / (loaded / hub_s), 1),
        "hub_cpu_s": round(hub_cpu, 1),
        "hub_rows_per_cpu_s": round(loaded / hub_cpu),
        "bare_cpu_s": round(bare_cpu, 1),
        "bare_rows_per_cpu_s": round(bare_rows / max(bare_cpu, 1e-9)),
        "load_average": round(os.getloadavg()[0], 1),
        "peak_rss_mb": round(peak_mb),
        "rss_before_load_mb": round(rss_before / 1024),
        "areas": batch.report.get("areas"),
    }
    print("RESULT " + json.dumps(result, ensure_ascii=False))


# -- the parent ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pack", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not 0 < args.rows <= 5_000_000:
        sys.exit("keep it bounded: --rows in (0, 5000000]")
    with temp_dir() as tmp:
        pack = tmp / "demo-pack"
        run([CIVITAS, "city", "build", "demo", "--out", str(pack)], env_for("sqlite://", tmp))
        csv_path = tmp / "inspections.csv"
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                url = f"sqlite:///{tmp / 'hub.sqlite3'}"
            elif backend == "postgresql":
                url = pg_database(create=True)
            else:
                sys.exit(f"unknown backend {backend}")
            try:
                out = run(
                    [
                        sys.executable,
                        __file__,
                        "--child",
                        "--rows",
                        str(args.rows),
                        "--pack",
                        str(pack),
                        "--csv",
                        str(csv_path),
                    ],
                    env_for(url, tmp / backend),
                )
            finally:
                if backend == "postgresql":
                    pg_database(create=False)
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            r = json.loads(line[len("RESULT ") :])
            print(
                f"\n{r['backend']}: {r['rows']:,} rows ({r['file_mb']} MB CSV) loaded into the "
                f"hub in {r['hub_s']} s = {r['hub_rows_per_s']:,} rows/s "
                f"(staging {r['stage_s']} s), peak memory {r['peak_rss_mb']} MB"
            )
            print(
                f"  bare {'COPY' if r['backend'] == 'postgresql' else 'executemany'} of the same "
                f"converted rows into a plain table: {r['bare_s']} s = "
                f"{r['bare_rows_per_s']:,} rows/s; ratio bare/hub = {r['ratio_bare_to_hub']}"
            )
            print(
                f"  this process's CPU time: hub {r['hub_cpu_s']} s "
                f"({r['hub_rows_per_cpu_s']:,} rows per CPU second), bare {r['bare_cpu_s']} s "
                f"(the database server's own work is not in these); load average "
                f"{r['load_average']}"
            )
            print(f"  areas: {r['areas']}")
            emit("hub_load", r)


if __name__ == "__main__":
    main()
