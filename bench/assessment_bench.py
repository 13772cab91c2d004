"""Assessment with a million appeals: roll-up build, incremental refresh, page and API times.

    .venv/bin/python bench/assessment_bench.py [--appeals 1000000] [--reps 20] [--seed 7]
        [--database-url postgresql://postgres@127.0.0.1:5432/civitas_bench]

Generates a synthetic city (16 districts × 8 streets × 4 communities; 128 street offices and
96 district departments) and ``--appeals`` cases over twelve months (2025-12 … 2026-11),
written straight into Appeal, Rating and Event with bulk inserts (fixed seed): most are
closed and rated, some were returned or reopened, a few are still open, some overdue. Then:
the full roll-up (``rebuild``), an incremental ``refresh`` after 1,000 cases moved, and the
assessment page, its XLSX export and ``GET /api/assessment`` through Django's test client
(p50/p95 of ``--reps`` requests each), beside counting one month straight from the appeals
(what a page would cost without roll-ups).

SQLite by default, in a temporary folder. ``--database-url`` names a PostgreSQL database
whose name starts with ``civitas_bench``: it is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as c

START = datetime(2025, 12, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight, Shanghai
DAYS = 365
BATCH = 5000


def fresh_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[-1]
    if not name.startswith("civitas_bench"):
        sys.exit("--database-url: the database name must start with civitas_bench (it is dropped)")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CIVITAS_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_city() -> dict[str, Any]:
    from civitas.geo.models import Jurisdiction, Level
    from civitas.org.models import Unit, UnitKind

    levels = {
        code: Level.objects.create(code=code, rank=i, name_en=code, name_zh=code)
        for i, code in enumerate(["city", "district", "street", "community"])
    }
    city = Jurisdiction.objects.create(
        code="B", level=levels["city"], path="/B/", depth=0, name_en="Bench", name_zh="基准市"
    )
    centre = Unit.objects.create(
        code="B-CENTRE",
        city="B",
        kind=UnitKind.CENTRE,
        name_en="Centre",
        name_zh="中心",
        jurisdiction=city,
    )
    communities: list[tuple[Jurisdiction, Unit, list[Unit]]] = []
    departments = ["housing", "transport", "environment", "urban_management", "water", "health"]
    for d in range(16):
        dj = Jurisdiction.objects.create(
            code=f"B-D{d}",
            level=levels["district"],
            parent=city,
            path=f"/B/B-D{d}/",
            depth=1,
            name_en=f"District {d}",
            name_zh=f"{d}区",
        )
        deps = [
            Unit.objects.create(
                code=f"B-D{d}-{t.upper()}",
                city="B",
                kind=UnitKind.DEPARTMENT,
                department_type=t,
                name_en=f"District {d} {t}",
                name_zh=f"{d}区{t}",
                jurisdiction=dj,
            )
            for t in departments
        ]
        for s in range(8):
            sj = Jurisdiction.objects.create(
                code=f"B-D{d}-S{s}",
                level=levels["street"],
                parent=dj,
                path=f"{dj.path}B-D{d}-S{s}/",
                depth=2,
                name_en=f"Street {d}.{s}",
                name_zh=f"{d}.{s}街道",
            )
            office = Unit.objects.create(
                code=f"B-D{d}-S{s}-OFFICE",
                city="B",
                kind=UnitKind.GOVERNMENT,
                department_type="street_office",
                name_en=f"Street {d}.{s} office",
                name_zh=f"{d}.{s}街道办",
                jurisdiction=sj,
            )
            for k in range(4):
                cj = Jurisdiction.objects.create(
                    code=f"B-D{d}-S{s}-C{k}",
                    level=levels["community"],
                    parent=sj,
                    path=f"{sj.path}B-D{d}-S{s}-C{k}/",
                    depth=3,
                    name_en=f"Community {d}.{s}.{k}",
                    name_zh=f"{d}.{s}.{k}社区",
                )
                communities.append((cj, office, deps))
    return {"city": city, "centre": centre, "communities": communities}


class Inserter:
    """Raw ``executemany`` inserts of whole rows (every concrete column, defaults filled in):
    about ten times faster than building model instances for ``bulk_create``."""

    def __init__(self, model: Any, *, with_pk: bool = False) -> None:
        from django.db import connection, models

        self.ops = connection.ops
        self.fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        self.dt = {f.attname for f in self.fields if isinstance(f, models.DateTimeField)}
        self.json = {f.attname for f in self.fields if isinstance(f, models.JSONField)}
        names = ", ".join(self.ops.quote_name(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        table = self.ops.quote_name(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
        self.rows: list[tuple[Any, ...]] = []
        self.model = model

    def add(self, **values: Any) -> None:
        row = []
        for f in self.fields:
            v = values.get(f.attname, self.defaults[f.attname])
            if f.attname in self.dt and v is not None:
                v = self.ops.adapt_datetimefield_value(v)
            elif f.attname in self.json:
                v = json.dumps(v)
            row.append(v)
        self.rows.append(tuple(row))

    def flush(self) -> int:
        from django.db import connection

        n = len(self.rows)
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, self.rows)
        self.rows = []
        return n

    def reset_sequence(self) -> None:
        from django.core.management.color import no_style
        from django.db import connection

        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [self.model]):
                cursor.execute(sql)


def generate(n: int, seed: int, made: dict[str, Any], now: datetime) -> dict[str, int]:
    """Insert ``n`` appeals with ratings and return events; one transaction per batch."""
    from django.db import transaction

    from civitas.appeals.models import Appeal, Event, Rating, Status

    rng = random.Random(seed)
    comms = [
        (cj.pk, cj.path, office.pk, [d.pk for d in deps])
        for cj, office, deps in made["communities"]
    ]
    appeals, ratings, events = Inserter(Appeal, with_pk=True), Inserter(Rating), Inserter(Event)
    quality: dict[int, float] = {}  # each unit has its own quality: something to rank
    counts = {"appeals": 0, "ratings": 0, "events": 0}
    sat = ["satisfied", "basically_satisfied", "dissatisfied"]
    stamp = datetime.now(UTC)
    for first in range(0, n, BATCH):
        for i in range(first, min(n, first + BATCH)):
            pk = i + 1
            cj, path, office, deps = comms[rng.randrange(len(comms))]
            unit = office if rng.random() < 0.55 else deps[rng.randrange(len(deps))]
            q = quality.setdefault(unit, rng.uniform(0.6, 0.98))
            received = START + timedelta(seconds=rng.randrange(DAYS * 86400))
            dispatched = received + timedelta(minutes=rng.randrange(5, 120))
            fast = rng.random() < q
            accepted: datetime | None = dispatched + timedelta(
                hours=rng.expovariate(1 / (6 if fast else 40))
            )
            resolved: datetime | None = accepted + timedelta(  # type: ignore[operator]
                days=rng.expovariate(1 / (5 if rng.random() < q else 20))
            )
            status = Status.CLOSED
            if resolved is not None and resolved > now:
                status, resolved = Status.ACCEPTED, None
            if accepted is not None and accepted > now:
                status, accepted = Status.DISPATCHED, None
            returned = rng.random() < 0.04
            appeals.add(
                id=pk,
                ticket=f"B{i:09d}",
                token_hash=f"{i:064x}",
                city="B",
                channel="api",
                kind="complaint",
                text="bench",
                urgency="normal",
                jurisdiction_id=cj,
                jurisdiction_path=path,
                locate_method="point",
                status=status,
                lead_unit_id=unit,
                first_unit_id=unit,
                received_at=received,
                dispatched_at=dispatched,
                accepted_at=accepted,
                resolved_at=resolved,
                closed_at=resolved if status == Status.CLOSED else None,
                respond_due=dispatched + timedelta(hours=24),
                resolve_due=dispatched + timedelta(days=15),
                reopen_count=int(resolved is not None and rng.random() > q + 0.05),
                return_count=int(returned),
                updated_at=stamp,
            )
            if resolved is not None and rng.random() < 0.8:
                rating = sat[0] if rng.random() < q else sat[1 + (rng.random() < 0.4)]
                ratings.add(
                    appeal_id=pk,
                    round=1,
                    responded=True,
                    solved=rating == sat[0] or rng.random() < q,
                    satisfaction=rating,
                    at=resolved,
                    unit_id=unit,
                )
            if returned:
                events.add(
                    appeal_id=pk,
                    at=dispatched,
                    actor="bench",
                    unit_id=rng.choice(deps),
                    action="return",
                    from_status="dispatched",
                    to_status="returned",
                )
        with transaction.atomic():
            counts["appeals"] += appeals.flush()
            counts["ratings"] += ratings.flush()
            counts["events"] += events.flush()
        if (first // BATCH) % 40 == 0:
            print(f"  {counts['appeals']:,} appeals", file=sys.stderr, flush=True)
    for table in (appeals, ratings, events):
        table.reset_sequence()
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would gather
        cursor.execute("ANALYZE")
    return counts


def times(fn: Any, reps: int) -> dict[str, float]:
    fn()  # warm
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append(1000 * (time.perf_counter() - t0))
    ms.sort()
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--appeals", type=int, default=1_000_000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database-url", default="")
    args = p.parse_args()
    with c.temp_dir() as tmp:
        if args.database_url:
            fresh_postgres(args.database_url)
        else:
            c.fresh_django(Path(tmp))
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.test import Client

    from civitas.appeals.models import Appeal, Event
    from civitas.assessment import services
    from civitas.assessment.services import _count_days
    from civitas.kit import clock
    from civitas.org.models import Membership, Role, User

    now = START + timedelta(days=DAYS, hours=12)  # 1 December 2026, 04:00 UTC
    figures: dict[str, Any] = {"database": connection.vendor, "appeals": args.appeals}
    with transaction.atomic():
        made = make_city()
    print(f"generating {args.appeals:,} appeals (seed {args.seed})", file=sys.stderr)
    counts, gen_s = c.timed(lambda: generate(args.appeals, args.seed, made, now))
    figures |= counts
    figures["generate_s"] = round(gen_s, 1)
    figures["generate_per_s"] = round(counts["appeals"] / gen_s)

    def rebuild() -> Any:
        with transaction.atomic():
            return services.rebuild()

    done, rebuild_s = c.timed(rebuild)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures["rollup_rows"] = done.rows
    figures["rollup_days"] = done.days
    figures["rebuild_s"] = round(rebuild_s, 2)

    # 1,000 cases received in the last 30 days move (a timeline event each), as in five
    # busy minutes; then an incremental refresh.
    rng = random.Random(args.seed + 1)
    ids = rng.sample(range(1, args.appeals + 1), min(30_000, args.appeals))
    recent = Appeal.objects.filter(pk__in=ids, received_at__gte=now - timedelta(days=30))
    with transaction.atomic():
        moved = list(recent[:1000])
        for a in moved:
            a.reopen_count += 1
        Appeal.objects.bulk_update(moved, ["reopen_count"], batch_size=500)
        Event.objects.bulk_create(
            [Event(appeal=a, at=now, actor="bench", action="reopen") for a in moved]
        )

    def refresh() -> Any:
        with transaction.atomic():
            return services.refresh()

    done, refresh_s = c.timed(refresh)
    figures["refresh_after_1000_moves"] = {"days": done.days, "s": round(refresh_s, 2)}
    _, idle_s = c.timed(refresh)
    figures["refresh_idle_rerun_s"] = round(idle_s, 2)

    analyst = User.objects.create(username="bench-analyst")
    Membership.objects.create(user=analyst, unit=made["centre"], role=Role.ANALYST)
    client = Client(HTTP_HOST="localhost")
    client.force_login(analyst)

    def get(url: str) -> Any:
        def call() -> None:
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code, r.content[:500])

        return call

    with clock.frozen(now):
        for name, url in [
            ("page_streets", "/assessment/?period=2026-11&group=streets"),
            ("page_departments", "/assessment/?period=2026-11&group=departments"),
            ("api_streets", "/api/assessment?period=2026-11&group=streets"),
            ("xlsx_streets", "/assessment/export.xlsx?period=2026-11&group=streets"),
        ]:
            figures[name] = times(get(url), args.reps)
            print(f"  {name}: {figures[name]}", file=sys.stderr)
        month_days = [START.date() + timedelta(days=i + 1) for i in range(334, 364)]
        _, scan_s = c.timed(lambda: _count_days(month_days))
        figures["count_one_month_from_appeals_ms"] = round(1000 * scan_s)
        figures["month_cases"] = Appeal.objects.filter(
            received_at__gte=START + timedelta(days=365 - 30)
        ).count()
    c.emit("assessment", figures)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
