"""Ten million appeals: the generator's throughput and the pages' latency at scale.

    .venv/bin/python bench/scale_bench.py [--database-url postgresql://…/civitas_bench_scale]
        [--appeals 1000000] [--reps 40] [--seed 1] [--out scale.json] [--keep]

1. The database: ``--database-url`` names an existing one (it must hold the demo city, e.g.
   made by ``civitas demo --no-serve``, and no real appeals); without it a fresh PostgreSQL
   database ``civitas_bench_scale`` is created on 127.0.0.1:5432, migrated and given the
   demo city (``civitas demo --no-serve``), and dropped at the end unless ``--keep``.
2. The generator (``civitas.citypacks.synth``) tops the synthetic appeals up to
   ``--appeals`` (nothing is written when there are that many already), then the assessment
   roll-up is refreshed and the tables analysed; each step is timed (wall and CPU).
3. Through Django's test client, logged in as the demo roles, ``--reps`` requests of each
   page with varied parameters: the dispatcher's workbench queue (pages, overdue filter) and
   desk, a handler unit's queue (one bench sign-in per busy unit), case pages (random
   tickets), the assessment page (months, both groupings), the command centre (the city,
   districts, streets; each colouring), Open311 ``GET requests.json`` (typical filters), and
   the data hub's pages (catalogue, a granted dataset's records). Wall and CPU time per
   request; p50/p95/p99 per page; a table on stdout and JSON in ``--out``.

The machine may be shared: CPU time (this process) is reported beside wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "civitas_bench_scale"
PG = "postgresql://postgres@127.0.0.1:5432"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, cwd=ROOT)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CIVITAS_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def bench_users(units: list[int]) -> list[str]:
    """One handler sign-in per unit (made once; bench only, no password)."""
    from civitas.org.models import Membership, Role, Unit, User

    names = []
    for unit in Unit.objects.filter(pk__in=units):
        name = f"bench-handler-{unit.pk}"
        user, _ = User.objects.get_or_create(username=name)
        Membership.objects.get_or_create(
            user=user, unit=unit, role=Role.UNIT_HANDLER, defaults={"active": True}
        )
        names.append(name)
    return names


def pages(reps: int, seed: int) -> dict[str, list[str | tuple[str, str]]]:
    """The requests to time, per page: (sign-in, url) pairs, or urls for anonymous ones."""
    from django.db.models import Count, Max

    from civitas.appeals.models import OPEN_STATUSES, Appeal
    from civitas.assessment.models import UnitDay
    from civitas.citypacks.demo import CITY
    from civitas.citypacks.demo.hub import ACCIDENTS, INSPECTIONS
    from civitas.geo.models import Jurisdiction
    from civitas.kit import clock
    from civitas.matters.models import Matter

    rng = random.Random(seed)
    top = Appeal.objects.aggregate(m=Max("id"))["m"]
    tickets: list[str] = []
    while len(tickets) < reps:
        found = (
            Appeal.objects.filter(id__gte=rng.randint(1, top))
            .order_by("id")
            .values_list("ticket", flat=True)
            .first()
        )
        if found:
            tickets.append(found)
    busy = list(
        Appeal.objects.filter(status__in=OPEN_STATUSES, lead_unit__isnull=False)
        .values("lead_unit")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("lead_unit", flat=True)[:8]
    )
    handlers = [*bench_users(busy), "handler", "handler-street"]
    months = sorted({d.strftime("%Y-%m") for d in UnitDay.objects.dates("day", "month")})[-12:]
    districts = list(
        Jurisdiction.objects.filter(level__rank=1, path__startswith=f"/{CITY}/").values_list(
            "code", flat=True
        )
    )
    streets = list(
        Jurisdiction.objects.filter(level__rank=2, path__startswith=f"/{CITY}/").values_list(
            "code", flat=True
        )
    )
    codes = list(
        Matter.objects.filter(catalogue=CITY, appeals__isnull=False)
        .values_list("code", flat=True)
        .distinct()[:40]
    )
    now = clock.now()

    def day(d: int) -> str:
        return (now - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def pick(options: list[Any]) -> Any:
        return rng.choice(options)

    out: dict[str, list[Any]] = {}
    out["workbench: dispatcher queue"] = [
        (
            "dispatcher",
            pick(
                [
                    f"/work/?tab=area&page={rng.randint(1, 50)}",
                    "/work/?tab=area",
                    "/work/?tab=area&overdue=1",
                    f"/work/?tab=area&status={pick(['dispatched', 'accepted', 'resolved'])}",
                ]
            ),
        )
        for _ in range(reps)
    ]
    out["workbench: dispatch desk"] = [
        ("dispatcher", f"/desk/?queue={pick(['triage', 'overdue', 'returned', 'duplicates'])}")
        for _ in range(reps)
    ]
    out["workbench: handler unit queue"] = [
        (pick(handlers), pick(["/work/", f"/work/?page={rng.randint(1, 5)}", "/work/?overdue=1"]))
        for _ in range(reps)
    ]
    out["case page"] = [("dispatcher", f"/case/{t}/") for t in tickets]
    out["assessment"] = [
        (
            pick(["analyst", "dispatcher"]),
            f"/assessment/?period={pick(months)}&group={pick(['streets', 'departments'])}",
        )
        for _ in range(reps)
    ]
    out["command centre"] = [
        (
            "dispatcher",
            pick(
                [
                    "/command/",
                    f"/command/?area={pick(districts)}",
                    f"/command/?area={pick(streets)}",
                    f"/command/?show={pick(['today', 'week', 'month', 'risk'])}",
                ]
            ),
        )
        for _ in range(reps)
    ]
    out["open311: GET requests.json"] = [
        pick(
            [
                "/open311/v2/requests.json",
                "/open311/v2/requests.json?status=open",
                f"/open311/v2/requests.json?service_code={pick(codes)}",
                f"/open311/v2/requests.json?start_date={day(rng.randint(30, 600))}",
                f"/open311/v2/requests.json?status=closed&page={rng.randint(1, 5)}&page_size=50",
                f"/open311/v2/requests.json?updated_after={day(rng.randint(1, 3))}",
            ]
        )
        for _ in range(reps)
    ]
    out["data hub"] = [
        pick(
            [
                ("analyst", "/hub/"),
                ("analyst", f"/hub/datasets/{INSPECTIONS}/data/"),
                ("analyst-street", f"/hub/datasets/{ACCIDENTS}/data/"),
                ("analyst-street", f"/hub/datasets/{ACCIDENTS}/data/?page=2"),
            ]
        )
        for _ in range(reps)
    ]
    return out


def backend_cpu_ms() -> float:
    """CPU time (user + system) of this connection's PostgreSQL backend so far, read from
    /proc (same machine; 10 ms ticks). 0 where it cannot be read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def time_pages(plan: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    from django.test import Client

    from civitas.org.models import User

    clients: dict[str, Client] = {}

    def client(name: str) -> Client:
        if name not in clients:
            c = Client()
            if name:
                c.force_login(User.objects.get(username=name))
            clients[name] = c
        return clients[name]

    results: dict[str, dict[str, Any]] = {}
    for page, requests in plan.items():
        walls: list[float] = []
        cpus: list[float] = []
        db_cpus: list[float] = []
        statuses: dict[int, int] = {}
        for item in requests:
            who, url = item if isinstance(item, tuple) else ("", item)
            c = client(who)
            db_before = backend_cpu_ms()
            response, wall, cpu = timed(lambda c=c, url=url: c.get(url))
            db_cpus.append(backend_cpu_ms() - db_before)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
        results[page] = {
            "n": len(walls),
            "p50_ms": round(pct(walls, 50), 1),
            "p95_ms": round(pct(walls, 95), 1),
            "p99_ms": round(pct(walls, 99), 1),
            "max_ms": round(max(walls), 1),
            "cpu_p50_ms": round(statistics.median(cpus), 1),
            "db_cpu_mean_ms": round(statistics.fmean(db_cpus), 1),
            "cpu_total_p95_ms": round(
                pct([a + b for a, b in zip(cpus, db_cpus, strict=True)], 95), 1
            ),
            "statuses": statuses,
        }
        print(f"  {page}: p95 {results[page]['p95_ms']} ms", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    head = ("page", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "app CPU p50", "db CPU mean",
            "CPU p95", "HTTP")  # fmt: skip
    rows = [head]
    for page, r in results.items():
        codes = " ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
        rows.append(
            (
                page,
                str(r["n"]),
                f"{r['p50_ms']:.0f}",
                f"{r['p95_ms']:.0f}",
                f"{r['p99_ms']:.0f}",
                f"{r['max_ms']:.0f}",
                f"{r['cpu_p50_ms']:.0f}",
                f"{r['db_cpu_mean_ms']:.0f}",
                f"{r['cpu_total_p95_ms']:.0f}",
                codes,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the database it created")
    parser.add_argument("--no-generate", action="store_true", help="time the pages only")
    args = parser.parse_args()

    created = not args.database_url
    url = args.database_url or f"{PG}/{DEFAULT_DB}"
    figures: dict[str, Any] = {"appeals_wanted": args.appeals, "database": url.rsplit("/", 1)[1]}
    if created:
        psql(f"DROP DATABASE IF EXISTS {DEFAULT_DB}")
        psql(f"CREATE DATABASE {DEFAULT_DB}")
        env = dict(os.environ, DATABASE_URL=url, CIVITAS_DEBUG="1")
        env.setdefault("CIVITAS_VAR", str(ROOT / "var" / "bench-scale"))
        _, wall, _ = timed(
            lambda: subprocess.run(
                [sys.executable, "-m", "civitas", "demo", "--no-serve", "--no-appeals"],
                check=True,
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        figures["demo_setup_s"] = round(wall, 1)
    setup_django(url)
    from django.db import connection

    from civitas.appeals.models import Appeal
    from civitas.assessment.tasks import refresh_rollups
    from civitas.citypacks import synth
    from civitas.citypacks.demo import CITY

    try:
        have = Appeal.objects.filter(submitted_by=synth.ACTOR).count()
        wanted = max(0, args.appeals - have)
        figures["appeals_before"] = have
        if wanted and not args.no_generate:
            print(f"generating {wanted:,} appeals ({have:,} there)", file=sys.stderr)
            summary, wall, cpu = timed(
                lambda: synth.generate(city=CITY, appeals=wanted, seed=args.seed + have)
            )
            print(summary.line(), file=sys.stderr)
            figures["generate"] = {
                "appeals": summary.appeals,
                "rows": summary.rows,
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "rows_per_s": round(summary.rows_per_second),
                "appeals_per_s": round(summary.appeals / wall),
            }
        # The roll-up as the scheduled refresh keeps it (a full rebuild the first time).
        _, wall, cpu = timed(refresh_rollups)
        figures["rollup_refresh"] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1)}
        _, wall, _ = timed(lambda: connection.cursor().execute("ANALYZE"))
        figures["analyze_s"] = round(wall, 1)
        figures["appeals"] = Appeal.objects.count()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_database_size(current_database())")
                figures["database_bytes"] = cursor.fetchone()[0]
        plan = pages(args.reps, args.seed)
        print(f"timing {sum(len(v) for v in plan.values())} requests", file=sys.stderr)
        figures["pages"] = time_pages(plan)
        print(table(figures["pages"]))
        print(json.dumps({k: v for k, v in figures.items() if k != "pages"}))
        if args.out:
            args.out.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if created and not args.keep:
            connection.close()
            psql(f"DROP DATABASE IF EXISTS {DEFAULT_DB}")


if __name__ == "__main__":
    main()
