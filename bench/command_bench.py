"""The command centre with a year of appeals: page, alerts fragment and map times.

    .venv/bin/python bench/command_bench.py [--appeals 100000] [--reps 20] [--seed 7]
        [--database-url postgresql://postgres@127.0.0.1:5432/civitas_bench_command]

Builds the assessment benchmark's synthetic city (16 districts × 8 streets × 4 communities,
here with square boundaries for the map) and ``--appeals`` cases over twelve months with the
same generator, spread over 24 matters; 200 alerts (120 open) and 60 risks (40 open) over the
streets; the assessment roll-up is built once (as the scheduled refresh keeps it). Then,
through Django's test client with the clock at the end of the year, p50/p95 of ``--reps``
requests of the page for the city centre (the city, a district, a street), for a district
centre, of the polled alerts fragment and of the map's GeoJSON, with the number of SQL
queries each; the city page again with nothing kept from an earlier request (the past days'
matter counts are kept five minutes); the time of each part of the page; beside them,
counting the city's last 30 days per district straight from the appeals (what the map would
cost without the roll-up). ``--profile`` prints where one city page spends its time.

SQLite by default, in a temporary folder. ``--database-url`` names a PostgreSQL database
whose name starts with ``civitas_bench``: it is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import _common as c
import assessment_bench as ab

MATTERS = 24


def square(x0: float, y0: float, size: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def shapes() -> None:
    """Districts on a 4 × 4 grid, streets 4 × 2 inside each, communities 2 × 2 inside those."""
    from civitas.geo.models import Jurisdiction

    rows = []
    for j in Jurisdiction.objects.exclude(parent=None):
        parts = j.code.split("-")[1:]
        d = int(parts[0][1:])
        x, y, size = (d % 4) * 4.0, (d // 4) * 4.0, 4.0
        if len(parts) > 1:
            s = int(parts[1][1:])
            x, y, size = x + (s % 4), y + 2 * (s // 4), 1.0
        if len(parts) > 2:
            k = int(parts[2][1:])
            x, y, size = x + 0.5 * (k % 2), y + 0.5 * (k // 2), 0.5
        j.boundary = square(x, y, size)
        rows.append(j)
    Jurisdiction.objects.bulk_update(rows, ["boundary"], batch_size=500)
    city = Jurisdiction.objects.get(parent=None)
    city.boundary = square(0, 0, 16)
    city.save(update_fields=["boundary"])


def matters(seed: int) -> list[int]:
    """Two dozen matters; appeals get one each, a few matters far more often than others."""
    from django.db import connection

    from civitas.appeals.models import Appeal
    from civitas.matters.models import Matter

    made = [
        Matter.objects.create(
            catalogue="B",
            code=f"B-M{i}",
            path=f"/B-M{i}/",
            name_en=f"Matter {i}",
            name_zh=f"事项{i}",
        ).pk
        for i in range(MATTERS)
    ]
    table = connection.ops.quote_name(Appeal._meta.db_table)
    # Zipf-like: matter i gets about 1/(i+1) of the share; done in SQL on the id.
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(MATTERS)]
    cuts, total = [], 0.0
    for w in weights:
        total += w
        cuts.append(total / sum(weights))
    buckets = 1000
    mapping = []
    for b in range(buckets):
        u = (b + rng.random()) / buckets
        mapping.append(made[next(i for i, cut in enumerate(cuts) if u <= cut)])
    with connection.cursor() as cursor:
        for b, pk in enumerate(mapping):
            cursor.execute(
                f"UPDATE {table} SET matter_id = %s WHERE id %% {buckets} = %s",  # noqa: S608
                [pk, b],
            )
    return made


def alerts_and_risks(made: dict[str, Any], now: Any, seed: int) -> dict[str, int]:
    from civitas.geo.models import Jurisdiction
    from civitas.org.models import Unit
    from civitas.risk.models import Alert, AlertKind, AlertStatus, Level, RiskItem, RiskStatus

    rng = random.Random(seed)
    streets = list(Jurisdiction.objects.filter(depth=2))
    kinds = list(AlertKind.values)
    statuses = [AlertStatus.NEW] * 4 + [AlertStatus.ACKNOWLEDGED] * 2 + [AlertStatus.DISMISSED] * 4
    alerts = []
    for i in range(200):
        j = rng.choice(streets)
        at = now - timedelta(hours=rng.uniform(0, 24 * 20))
        alerts.append(
            Alert(
                city="B",
                kind=rng.choice(kinds),
                category=f"B-M{rng.randrange(MATTERS)}",
                jurisdiction=j,
                jurisdiction_path=j.path,
                start=(at - timedelta(days=2)).date(),
                end=at.date(),
                detected_on=at.date(),
                detected_at=at,
                observed=rng.randrange(5, 40),
                expected=rng.uniform(1, 5),
                p_value=rng.uniform(0, 0.05),
                key=f"bench-{i}",
                status=statuses[i % len(statuses)],
            )
        )
    Alert.objects.bulk_create(alerts)
    units = list(Unit.objects.filter(city="B"))
    levels = list(Level.values)
    risks = []
    for i in range(60):
        j = rng.choice(streets)
        risks.append(
            RiskItem(
                city="B",
                code=f"BR-{i}",
                title=f"Risk {i}",
                level=rng.choice(levels),
                status=RiskStatus.OPEN if i % 3 else RiskStatus.CLOSED,
                owner_unit=rng.choice(units),
                jurisdiction=j,
                jurisdiction_path=j.path,
                deadline=now + timedelta(days=rng.randrange(1, 30)),
                created_by="bench",
            )
        )
    RiskItem.objects.bulk_create(risks)
    return {
        "alerts": len(alerts),
        "open_alerts": Alert.objects.filter(status__in=["new", "acknowledged"]).count(),
        "risks": len(risks),
        "open_risks": RiskItem.objects.filter(status="open").count(),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--appeals", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database-url", default="")
    p.add_argument("--profile", action="store_true", help="print where one city page spends")
    args = p.parse_args()
    with c.temp_dir() as tmp:
        if args.database_url:
            ab.fresh_postgres(args.database_url)
        else:
            c.fresh_django(Path(tmp))
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from civitas.appeals.models import Appeal
    from civitas.assessment import services
    from civitas.kit import clock
    from civitas.org.models import Membership, Role, Unit, User

    now = ab.START + timedelta(days=ab.DAYS, hours=12)  # 1 December 2026, 12:00 in Shanghai
    figures: dict[str, Any] = {"database": connection.vendor, "appeals": args.appeals}
    with transaction.atomic():
        made = ab.make_city()
        shapes()
    print(f"generating {args.appeals:,} appeals (seed {args.seed})", file=sys.stderr)
    _counts, gen_s = c.timed(lambda: ab.generate(args.appeals, args.seed, made, now))
    figures["generate_s"] = round(gen_s, 1)
    with transaction.atomic():
        matters(args.seed)
        figures |= alerts_and_risks(made, now, args.seed)
    with transaction.atomic():
        done = services.rebuild()
    figures["rollup_rows"] = done.rows
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    analyst = User.objects.create(username="bench-analyst")
    Membership.objects.create(user=analyst, unit=made["centre"], role=Role.ANALYST)
    district = User.objects.create(username="bench-district")
    d3 = Unit.objects.create(
        code="B-D3-CENTRE",
        city="B",
        kind="centre",
        name_en="District 3 centre",
        name_zh="3区中心",
        jurisdiction=made["city"].children.get(code="B-D3"),
    )
    Membership.objects.create(user=district, unit=d3, role=Role.DISPATCHER)

    def client(user: Any) -> Client:
        cl = Client(HTTP_HOST="localhost")
        cl.force_login(user)
        return cl

    city_client, district_client = client(analyst), client(district)

    def get(cl: Client, url: str) -> Any:
        def call() -> None:
            r = cl.get(url)
            assert r.status_code == 200, (url, r.status_code, r.content[:500])

        return call

    with clock.frozen(now):
        for name, cl, url in [
            ("page_city", city_client, "/command/"),
            ("page_district", city_client, "/command/?area=B-D3"),
            ("page_street", city_client, "/command/?area=B-D3-S2"),
            ("page_as_district_centre", district_client, "/command/"),
            ("alerts_fragment_city", city_client, "/command/alerts/?area=B"),
            ("map_json_city", city_client, "/command/map.json?area=B"),
        ]:
            figures[name] = ab.times(get(cl, url), args.reps)
            with CaptureQueriesContext(connection) as q:
                get(cl, url)()
            figures[name]["queries"] = len(q.captured_queries)
            print(f"  {name}: {figures[name]}", file=sys.stderr)

        # The page as the first request after the past days' figures expired.
        from django.core.cache import cache

        def cold() -> None:
            cache.clear()
            get(city_client, "/command/")()

        figures["page_city_nothing_kept"] = ab.times(cold, args.reps)
        print(f"  page_city_nothing_kept: {figures['page_city_nothing_kept']}", file=sys.stderr)

        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(get(city_client, "/command/"))
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)

        # Where the page's time goes: each part of the overview for the city centre.
        from civitas.geo.models import Jurisdiction
        from civitas.risk import command

        area = Jurisdiction.objects.get(code="B")
        parts: dict[str, Any] = {
            "places": lambda: command.places(analyst, area, now),
            "intake": lambda: command.intake(analyst, area, now),
            "three_rates": lambda: command.three_rates(analyst, area, now),
            "overdue": lambda: command.overdue(analyst, area, now),
            "top_matters": lambda: command.top_matters(analyst, area, now),
            "open_risks": lambda: command.open_risks(analyst, area),
            "live_alerts": lambda: command.live_alerts(analyst, area, now),
        }
        figures["parts_city"] = {k: ab.times(fn, args.reps)["p50_ms"] for k, fn in parts.items()}
        print(f"  parts (p50 ms): {figures['parts_city']}", file=sys.stderr)

        start = now - timedelta(days=30)

        def scan() -> None:
            list(
                Appeal.objects.filter(received_at__gte=start)
                .values("jurisdiction_path")
                .annotate(n=Count("id"))
                .order_by()
            )

        figures["count_30_days_from_appeals"] = ab.times(scan, args.reps)
        figures["appeals_last_30_days"] = Appeal.objects.filter(received_at__gte=start).count()
    c.emit("command", figures)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
