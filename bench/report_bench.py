"""Judgment reports over a large city: how long the figures, the page and the PDF take.

    .venv/bin/python bench/report_bench.py [--per-month 100000] [--reps 5] [--seed 11]
        [--database-url postgresql://postgres@127.0.0.1:5432/civitas_bench_reports]
        [--reuse DIR]

The synthetic city of bench/assessment_bench.py (16 districts × 8 streets × 4 communities,
224 units), 40 matters, and ``--per-month`` appeals in each of November 2025 (the month a year
earlier) and May to November 2026 (the report month, the month before and the six months the
recurring-problem search looks at), each with a point inside its street, a channel and a lead
unit; assessment roll-up rows for every unit and day of October and November 2026; 300
alerts and 60 risks. Then, as of 1 December 2026, signed in as a city analyst: the monthly
report of November 2026 for the city and for one district, the weekly report of the last
week of November, the HTML page (cold: the cache emptied first; cached: a second look at an
ended period) and the PDF through Django's test client (``--reps`` runs each after one
warm-up, p50 and max), and the time of each part of one monthly report.

SQLite by default, in a temporary folder. ``--database-url`` names a PostgreSQL database
whose name starts with ``civitas_bench``: it is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as c

MONTHS = [(2025, 11)] + [(2026, m) for m in range(5, 12)]
CHANNELS = ["hotline"] * 5 + ["web"] * 2 + ["api"] + ["grid"] * 2
BATCH = 5000


def make_matters() -> list[int]:
    from civitas.matters.models import Matter

    root = Matter.objects.create(
        catalogue="B", code="B-M", name_en="All", name_zh="全部", path="/B-M/", depth=0
    )
    leaves = []
    for g in range(8):
        mid = Matter.objects.create(
            catalogue="B",
            code=f"B-M{g}",
            name_en=f"Group {g}",
            name_zh=f"第{g}类",
            parent=root,
            path=f"/B-M/B-M{g}/",
            depth=1,
        )
        for k in range(5):
            leaf = Matter.objects.create(
                catalogue="B",
                code=f"B-M{g}-{k}",
                name_en=f"Matter {g}.{k}",
                name_zh=f"事项{g}.{k}",
                parent=mid,
                path=f"{mid.path}B-M{g}-{k}/",
                depth=2,
            )
            leaves.append(leaf.pk)
    return leaves


def generate(per_month: int, seed: int, made: dict[str, Any], matters: list[int]) -> int:
    from assessment_bench import Inserter
    from django.db import transaction

    from civitas.appeals.models import Appeal

    rng = random.Random(seed)
    # Community (d, s, k) → its street's box: streets 1.1 km square on a 16 × 8 grid.
    comms = []
    for cj, office, deps in made["communities"]:
        _b, d, s, _k = cj.code.split("-")
        lat0, lon0 = 28.0 + int(d[1:]) * 0.01, 112.9 + int(s[1:]) * 0.0115
        comms.append((cj.pk, cj.path, office.pk, [u.pk for u in deps], lat0, lon0))
    weights = [1.0 / (i + 1) for i in range(len(matters))]  # a Zipf-like mix of matters
    appeals = Inserter(Appeal, with_pk=True)
    stamp = datetime.now(UTC)
    pk = 0
    for year, month in MONTHS:
        first = datetime(year, month, 1, tzinfo=UTC) - timedelta(hours=8)  # Shanghai midnight
        nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC) - timedelta(hours=8)
        seconds = int((nxt - first).total_seconds())
        picks = rng.choices(matters, weights=weights, k=per_month)
        for i in range(per_month):
            pk += 1
            cj, path, office, deps, lat0, lon0 = comms[rng.randrange(len(comms))]
            unit = office if rng.random() < 0.55 else deps[rng.randrange(len(deps))]
            received = first + timedelta(seconds=rng.randrange(seconds))
            appeals.add(
                id=pk,
                ticket=f"R{pk:09d}",
                token_hash=f"{pk:064x}",
                city="B",
                channel=rng.choice(CHANNELS),
                kind="complaint",
                text="bench",
                urgency="normal",
                matter_id=picks[i],
                lat=lat0 + rng.random() * 0.01,
                lon=lon0 + rng.random() * 0.0115,
                jurisdiction_id=cj,
                jurisdiction_path=path,
                locate_method="point",
                status="closed",
                lead_unit_id=unit,
                first_unit_id=unit,
                received_at=received,
                dispatched_at=received,
                updated_at=stamp,
            )
            if len(appeals.rows) >= BATCH:
                with transaction.atomic():
                    appeals.flush()
        with transaction.atomic():
            appeals.flush()
        print(f"  {year}-{month:02d}: {pk:,} appeals so far", file=sys.stderr, flush=True)
    appeals.reset_sequence()
    return pk


def extras(made: dict[str, Any], matters: list[int], seed: int) -> dict[str, int]:
    """Roll-up rows for October and November 2026, alerts and risks."""
    from assessment_bench import Inserter
    from django.db import transaction

    from civitas.assessment.models import UnitDay
    from civitas.geo.models import Jurisdiction
    from civitas.org.models import Unit
    from civitas.risk.models import Alert, RiskItem

    rng = random.Random(seed)
    rows = Inserter(UnitDay)
    units = list(Unit.objects.exclude(kind="centre").select_related("jurisdiction"))
    for unit in units:
        q = rng.uniform(0.6, 0.98)
        for n in range(61):
            day = date(2026, 10, 1) + timedelta(days=n)
            dispatched = rng.randrange(5, 40)
            ok = int(dispatched * q)
            rows.add(
                unit_id=unit.pk,
                city="B",
                jurisdiction_path=unit.jurisdiction.path,
                day=day,
                dispatched=dispatched,
                responded_on_time=ok,
                resolved=dispatched,
                resolved_on_time=ok,
                resolved_ever=dispatched,
                rated=dispatched,
                solved=ok,
                satisfied=ok,
                basic=(dispatched - ok) // 2,
            )
    streets = list(Jurisdiction.objects.filter(depth=2))
    kinds = ["cluster", "burst", "surge", "group", "repeat", "harm", "spread"]
    with transaction.atomic():
        rows.flush()
        for i in range(300):
            j = rng.choice(streets)
            day = date(2026, 10, 1) + timedelta(days=rng.randrange(61))
            Alert.objects.create(
                city="B",
                kind=rng.choice(kinds),
                matter_id=rng.choice(matters),
                jurisdiction=j,
                jurisdiction_path=j.path,
                lat=28.05,
                lon=112.95,
                radius_m=400,
                start=day - timedelta(days=2),
                end=day,
                detected_on=day,
                observed=rng.randrange(5, 20),
                expected=2.0,
                p_value=0.01,
                score=rng.random() * 10,
                key=f"bench-{i}",
                status="dismissed" if i % 3 else "new",
            )
        for i in range(60):
            j = rng.choice(streets)
            created = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(90 * 24))
            RiskItem.objects.create(
                city="B",
                code=f"BR-{i}",
                title=f"Risk {i}",
                level=rng.choice(["red", "orange", "yellow", "blue"]),
                owner_unit=rng.choice(units),
                jurisdiction=j,
                jurisdiction_path=j.path,
                deadline=created + timedelta(days=rng.randrange(5, 60)),
                created_by="bench",
                created_at=created,
            )
    return {"unit_days": len(units) * 61, "alerts": 300, "risks": 60}


def times(fn: Any, reps: int) -> dict[str, float]:
    fn()  # warm: the first call also builds the gazetteer for the responsibility list
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ms.append(1000 * (time.perf_counter() - t0))
    return {"p50_ms": round(statistics.median(ms)), "max_ms": round(max(ms))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--per-month", type=int, default=100_000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--database-url", default="")
    p.add_argument(
        "--reuse",
        default="",
        help="a folder whose bench.sqlite3 (or, with --database-url, the database) an earlier "
        "run of this benchmark filled with the same options: measure without generating again",
    )
    args = p.parse_args()
    with c.temp_dir() as tmp:
        if args.database_url and args.reuse:
            _setup(args.database_url)
        elif args.database_url:
            from assessment_bench import fresh_postgres

            fresh_postgres(args.database_url)
        elif args.reuse:
            Path(args.reuse).mkdir(parents=True, exist_ok=True)
            c.fresh_django(Path(args.reuse))
        else:
            c.fresh_django(Path(tmp))
        run(args)


def _setup(url: str) -> None:
    import os

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CIVITAS_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    import django

    django.setup()


def run(args: argparse.Namespace) -> None:
    from assessment_bench import make_city
    from django.db import connection, transaction
    from django.test import Client

    from civitas.appeals.models import Appeal
    from civitas.kit import clock
    from civitas.org.models import Membership, Role, User
    from civitas.risk import report_pdf, reports

    now = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    figures: dict[str, Any] = {"database": connection.vendor, "per_month": args.per_month}
    if not Appeal.objects.filter(city="B").exists():
        with transaction.atomic():
            made = make_city()
            matters = make_matters()
        _n, gen_s = c.timed(lambda: generate(args.per_month, args.seed, made, matters))
        figures["generate_s"] = round(gen_s, 1)
        figures |= extras(made, matters, args.seed)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        analyst = User.objects.create(username="bench-analyst")
        Membership.objects.create(user=analyst, unit=made["centre"], role=Role.ANALYST)
    analyst = User.objects.get(username="bench-analyst")
    figures["appeals"] = Appeal.objects.filter(city="B").count()
    client = Client(HTTP_HOST="localhost")
    client.force_login(analyst)
    nov = reports.parse("month", "2026-11")
    week = reports.parse("week", "2026-W48")
    with clock.frozen(now):
        city = reports.area_for(analyst)
        district = reports.area_for(analyst, "B-D3")
        figures["month_appeals"] = Appeal.objects.filter(
            received_at__gte=nov.bounds()[0], received_at__lt=nov.bounds()[1]
        ).count()
        sample = reports.build(analyst, nov, city)
        figures["recurring_found"] = sample.recurring_found
        figures["check"] = {
            "total": sample.total,
            "before": sample.total_before,
            "year_ago": sample.total_year_ago,
            "top_matter": sample.matters[0].now,
        }
        for name, fn in [
            ("month_city_figures", lambda: reports.build(analyst, nov, city)),
            ("month_district_figures", lambda: reports.build(analyst, nov, district)),
            ("week_city_figures", lambda: reports.build(analyst, week, city)),
            ("month_city_pdf_render_only", lambda: report_pdf.render(sample, "zh-hans")),
            ("month_city_page_cold", lambda: _ok(client, MONTH_PAGE, cold=True)),
            ("month_city_page_cached", lambda: _ok(client, MONTH_PAGE)),
            ("month_city_pdf_cached", lambda: _ok(client, MONTH_PDF)),
            ("week_city_page_cold", lambda: _ok(client, WEEK_PAGE, cold=True)),
        ]:
            figures[name] = times(fn, args.reps)
            print(f"  {name}: {figures[name]}", file=sys.stderr, flush=True)
        steps: dict[str, float] = {}
        for step in ("_volumes", "_breakdowns", "_alerts", "_risks", "_units", "_recurring"):
            steps[step] = 0.0
        _profile(reports, steps, analyst, nov, city)
        figures["month_city_steps_ms"] = steps
    c.emit("reports", figures)


MONTH_PAGE = "/risk/reports/month/2026-11/?area=B"
MONTH_PDF = "/risk/reports/month/2026-11.pdf?area=B"
WEEK_PAGE = "/risk/reports/week/2026-W48/?area=B"


def _ok(client: Any, url: str, cold: bool = False) -> None:
    from django.core.cache import cache

    if cold:
        cache.clear()
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.content[:300])


def _profile(reports: Any, steps: dict[str, float], actor: Any, period: Any, area: Any) -> None:
    """Time each part of one monthly report (one run, after the warm ones)."""
    originals = {name: getattr(reports, name) for name in steps}

    def timed(name: str) -> Any:
        def call(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return originals[name](*a, **kw)
            finally:
                steps[name] = round(1000 * (time.perf_counter() - t0))

        return call

    for name in steps:
        setattr(reports, name, timed(name))
    try:
        reports.build(actor, period, area)
    finally:
        for name, fn in originals.items():
            setattr(reports, name, fn)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
