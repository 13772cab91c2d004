"""How long do the figures of mediation take over many disputes?

    .venv/bin/python bench/mediation_figures_bench.py [--disputes 100000] [--reps 20]
        [--seed 7] [--database-url postgresql://postgres@127.0.0.1:5432/civitas_bench_med]

Builds the assessment benchmark's synthetic city (16 districts × 8 streets × 4 communities) with
a mediation committee in every street, a centre in every district and one for the city, and
``--disputes`` disputes received over two years (the last 24 months before 1 December 2026):
types, channels and levels drawn at random, about 70 % concluded (of those 80 % resolved), one
in five escalated once (a second, ended stage), some open and past their deadline. Then
p50/p95 of ``--reps`` runs of ``civitas.mediation.figures.compute`` (every table of the page:
headline, levels at intake and now, type, channel, area, time to resolution, escalations)
for a city analyst over the city and the last 365 days, for the same analyst over one district,
and for a street analyst over their street (scoped through ``access.readable``); the number of
SQL queries of each; and the place summary of a street's profile.

SQLite by default, in a temporary folder. ``--database-url`` names a PostgreSQL database whose
name starts with ``civitas_bench``: it is dropped and created afresh (and left for a look).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import _common as c
import assessment_bench as ab

BATCH = 5000


def units(made: dict[str, Any]) -> dict[str, Any]:
    from civitas.geo.models import Jurisdiction
    from civitas.org.models import Unit, UnitKind

    def unit(code: str, j: Any) -> Unit:
        return Unit.objects.create(
            code=code,
            city="B",
            kind=UnitKind.MEDIATION_COMMITTEE,
            name_en=f"{code} mediation",
            name_zh=f"{code}调解",
            jurisdiction=j,
        )

    out: dict[str, Any] = {"city": unit("B-MED", made["city"])}
    for j in Jurisdiction.objects.filter(depth__in=(1, 2)).order_by("path"):
        out[j.code] = unit(f"{j.code}-MED", j)
    return out


def generate(n: int, seed: int, made: dict[str, Any], meds: dict[str, Any], now: Any) -> int:
    """Insert ``n`` disputes and their stages with raw ``executemany`` (one transaction per
    batch)."""
    from django.db import transaction

    from civitas.mediation.models import (
        Channel,
        Dispute,
        DisputeType,
        Outcome,
        Source,
        Stage,
        Status,
        Tier,
    )

    rng = random.Random(seed)
    communities = [(cj.pk, cj.path, cj.code) for cj, _office, _deps in made["communities"]]
    types = list(DisputeType.values)
    channels = list(Channel.values)
    tiers = [Tier.COMMUNITY, Tier.STREET, Tier.DISTRICT, Tier.CITY]
    failures = list(Outcome.values)[1:]
    span = 730 * 86400
    disputes, stages = ab.Inserter(Dispute, with_pk=True), ab.Inserter(Stage)
    for first in range(0, n, BATCH):
        for i in range(first, min(n, first + BATCH)):
            pk, path, code = rng.choice(communities)
            street, district = code.rsplit("-", 1)[0], "-".join(code.split("-")[:2])
            received = now - timedelta(seconds=rng.randrange(span))
            escalated = rng.random() < 0.2
            start_tier = rng.choice(tiers[:2])
            tier = tiers[tiers.index(start_tier) + 1] if escalated else start_tier
            unit = {
                Tier.COMMUNITY: meds[street],
                Tier.STREET: meds[street],
                Tier.DISTRICT: meds[district],
                Tier.CITY: meds["city"],
            }[tier].pk
            concluded = received < now - timedelta(days=10) and rng.random() < 0.7
            ok = rng.random() < 0.8
            agreed = received + timedelta(hours=rng.randrange(24, 24 * 90)) if ok else None
            closed = None
            if concluded:
                end = agreed or received + timedelta(days=rng.randrange(5, 60))
                closed = min(end + timedelta(days=7), now)
            channel = rng.choice(channels)
            disputes.add(
                id=i + 1,
                code=f"BD-{i:07d}",
                city="B",
                title="Dispute",
                summary="",
                type=rng.choice(types),
                source=Source.WALK_IN,
                jurisdiction_id=pk,
                jurisdiction_path=path,
                tier=tier,
                channel=channel,
                unit_id=unit,
                status=Status.CLOSED if concluded else Status.MEDIATING,
                outcome=(Outcome.RESOLVED if ok else rng.choice(failures)) if concluded else "",
                received_at=received,
                agreed_at=agreed if concluded else None,
                closed_at=closed,
                due_at=received + timedelta(days=30),
                registered_by="bench",
                updated_at=now,
            )
            began = received
            if escalated:
                began = received + timedelta(days=15)
                stages.add(
                    dispute_id=i + 1,
                    tier=start_tier,
                    channel=channel,
                    unit_id=unit,
                    started_at=received,
                    due_at=began,
                    ended_at=began,
                    result=rng.choice(["failed", "overdue", "risk"]),
                    reasons=[],
                )
            stages.add(
                dispute_id=i + 1,
                tier=tier,
                channel=channel,
                unit_id=unit,
                started_at=began,
                due_at=began + timedelta(days=15),
                ended_at=closed,
                result="closed" if closed else "",
                reasons=[],
            )
        with transaction.atomic():
            disputes.flush()
            stages.flush()
    disputes.reset_sequence()
    return n


def person(username: str, unit: Any) -> Any:
    from civitas.org.models import Membership, Role, User

    user = User.objects.create(username=username, display_name=username)
    Membership.objects.create(user=user, unit=unit, role=Role.ANALYST)
    return user


def measure(fn: Any, reps: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q:
        fn()  # warm once, counting the queries
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        "queries": len(q.captured_queries),
    }


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction

    from civitas.geo.models import Jurisdiction
    from civitas.kit import clock
    from civitas.mediation import figures
    from civitas.org.models import Unit

    now = ab.START + timedelta(days=ab.DAYS, hours=12)
    out: dict[str, Any] = {"database": connection.vendor, "disputes": args.disputes}
    with transaction.atomic():
        made = ab.make_city()
        meds = units(made)
    print(f"generating {args.disputes:,} disputes (seed {args.seed})", file=sys.stderr)
    n, gen_s = c.timed(lambda: generate(args.disputes, args.seed, made, meds, now))
    out["generate_s"] = round(gen_s, 1)
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would gather
        cursor.execute("ANALYZE")
    city_analyst = person("bench-city", made["centre"])
    street = Jurisdiction.objects.get(code="B-D3-S5")
    office = Unit.objects.get(code="B-D3-S5-OFFICE")
    street_analyst = person("bench-street", office)

    def case(actor: Any, area: str) -> Any:
        with clock.frozen(now):
            f = figures.parse_filters(actor, {"area": area})
            return lambda: figures.compute(actor, f)

    runs = {
        "city_year": case(city_analyst, "B"),
        "district_year": case(city_analyst, "B-D3"),
        "street_year": case(street_analyst, "B-D3-S5"),
    }
    with clock.frozen(now):
        fig = runs["city_year"]()
        out["city_year_numbers"] = {
            "received": fig.received,
            "concluded": fig.concluded,
            "resolved": fig.resolved,
            "rate": fig.rate,
            "open": fig.open,
            "overdue": fig.overdue,
            "median_days": fig.days_median,
            "p90_days": fig.days_p90,
            "escalations": fig.escalations.total,
        }
        if args.queries:
            from django.db import connection as conn
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(conn) as q:
                runs["city_year"]()
            for one in q.captured_queries:
                print(one["time"], one["sql"][:300], file=sys.stderr)
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(runs["city_year"])
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        for name, fn in runs.items():
            out[name] = measure(fn, args.reps)
            print(name, out[name], file=sys.stderr)
        out["profile_street"] = measure(
            lambda: figures.place_summary(city_analyst, street), args.reps
        )
    out["generated"] = n
    c.emit("mediation_figures", out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--disputes", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--database-url", default="")
    p.add_argument("--profile", action="store_true", help="profile one city run")
    p.add_argument("--queries", action="store_true", help="print each query of the city run")
    args = p.parse_args()
    with c.temp_dir() as tmp:
        if args.database_url:
            ab.fresh_postgres(args.database_url)
        else:
            c.fresh_django(Path(tmp))
        run(args)


if __name__ == "__main__":
    main()
