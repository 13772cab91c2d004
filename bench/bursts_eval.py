"""Bursts on Boston's real 311 stream: false alarms without injection and sensitivity to
planted bursts of residents' reports.

    .venv/bin/python bench/bursts_eval.py --from 2015-03-01 --to 2015-10-31
    .venv/bin/python bench/bursts_eval.py --from 2015-03-01 --to 2015-10-31 --inject 200
    .venv/bin/python bench/bursts_eval.py --inject 200 --anonymous  # planted rows, no reporter keys

Reads the CSV with its own small reader (the conventions of ``civitas.risk.scan.csvinput``:
staff channels, City Hall point unlocated, source and address codes; plus an area column for
the surge bench). ``--batches`` measures the staff batches; the other flags are the ablations
in docs/EVALUATION.md.
Prints the alerts (without injection) and one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import data_dir  # noqa: E402

from civitas.risk.scan.bursts import BurstDetector, inject_bursts  # noqa: E402
from civitas.risk.scan.events import Events, Projection  # noqa: E402

STAFF_SOURCES = {"Employee Generated", "City Worker App", "Maximo Integration"}
CITY_HALL = (42.3594, -71.0587)


def _area_name(column: str, value: str) -> str:
    if column == "ward":  # written both as "Ward 5" and "05"
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"Ward {int(digits)}" if digits else ""
    return value.strip()


def read_boston(path: Path, area_column: str | None = None) -> Events:
    opener = gzip.open if path.suffix == ".gz" else open
    recs = []
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        for r in csv.DictReader(f):
            when = datetime.strptime(r["OPEN_DT"], "%m/%d/%Y %I:%M:%S %p")
            try:
                lat, lon = float(r["LATITUDE"]), float(r["LONGITUDE"])
            except ValueError:
                lat = lon = float("nan")
            if abs(lat - CITY_HALL[0]) < 1e-4 and abs(lon - CITY_HALL[1]) < 1e-4:
                lat = lon = float("nan")
            area = _area_name(area_column, r[area_column]) if area_column else ""
            recs.append(
                (when, r["TYPE"], lat, lon, r["Source"], r["Location"], r["CASE_ENQUIRY_ID"], area)
            )
    recs.sort(key=lambda z: z[0])
    day0 = recs[0][0].date()
    cats = sorted({z[1] for z in recs})
    sources = sorted({z[4] for z in recs})
    addresses: dict[str, int] = {}
    areas = sorted({z[7] for z in recs if z[7]})
    area_index = {name: i for i, name in enumerate(areas)}
    lat = np.array([z[2] for z in recs])
    lon = np.array([z[3] for z in recs])
    proj = Projection(float(np.nanmean(lat)), float(np.nanmean(lon)))
    x, y = proj.to_xy(lat, lon)
    t = np.array(
        [
            ((z[0].date() - day0).days * 24.0 + z[0].hour + z[0].minute / 60 + z[0].second / 3600)
            for z in recs
        ]
    )
    return Events(
        day0=day0,
        t=t,
        day=np.floor(t / 24.0).astype(np.int32),
        cat=np.array([cats.index(z[1]) for z in recs], dtype=np.int32),
        categories=cats,
        x=x,
        y=y,
        projection=proj,
        staff=np.array([z[4] in STAFF_SOURCES for z in recs]),
        reporter=np.full(len(recs), -1, dtype=np.int64),
        ids=np.array([int(z[6]) for z in recs], dtype=np.int64),
        area=np.array([area_index.get(z[7], -1) for z in recs], dtype=np.int32)
        if area_column
        else None,
        areas=areas,
        extra={
            "source": np.array([sources.index(z[4]) for z in recs], dtype=np.int32),
            "source_names": sources,
            "address": np.array(
                [addresses.setdefault(z[5], len(addresses)) if z[5] else -1 for z in recs],
                dtype=np.int64,
            ),
        },
    )


def batches(events: Events, d0: int, d1: int) -> None:
    """Runs of identical reports (one channel, one type, one point, within an hour of the
    run's first row) per channel, and how many rows they hold."""
    names = events.extra.get("source_names") or []
    src = events.extra["source"]
    keep = events.located & (events.day >= d0) & (events.day <= d1)
    rows = np.flatnonzero(keep)
    key = np.c_[src[rows], events.cat[rows], np.round(events.x[rows]), np.round(events.y[rows])]
    _, group = np.unique(key, axis=0, return_inverse=True)
    runs: dict[int, list[int]] = {}
    for g in np.unique(group):
        members = rows[group == g]  # already in time order
        start = 0
        for i in range(1, members.size + 1):
            if i == members.size or events.t[members[i]] - events.t[members[start]] > 1.0:
                if i - start >= 3:
                    runs.setdefault(int(src[members[start]]), []).append(i - start)
                start = i
    out = {}
    for code, sizes in sorted(runs.items(), key=lambda kv: -len(kv[1])):
        z = sorted(sizes)
        name = names[code] if code < len(names) else str(code)
        out[name] = {
            "staff": bool(events.staff[np.flatnonzero(src == code)[0]]),
            "runs_of_3_or_more": len(z),
            "rows_in_them": int(sum(z)),
            "median": z[len(z) // 2],
            "runs_of_8_or_more": sum(1 for v in z if v >= 8),
            "largest": z[-3:],
        }
    print(json.dumps({"mode": "batches", "days": d1 - d0 + 1, "by_channel": out}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", default=None)
    ap.add_argument("--from", dest="start", default="2015-03-01")
    ap.add_argument("--to", dest="end", default="2015-10-31")
    ap.add_argument("--inject", type=int, default=0)
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--radius", type=float, default=300.0)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--anonymous", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None)
    ap.add_argument("--min-units", type=int, default=None)
    ap.add_argument("--chain-gap-min", type=float, default=None)
    ap.add_argument("--chain-step-m", type=float, default=None)
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--min-units-one-channel", type=int, default=None)
    ap.add_argument("--repeat-h", type=float, default=None)
    ap.add_argument("--min-units-list", type=int, default=None)
    ap.add_argument(
        "--count-staff", action="store_true", help="treat staff rows as residents' (ablation)"
    )
    ap.add_argument(
        "--batches", action="store_true", help="measure staff batches and one-channel lists"
    )
    args = ap.parse_args()
    path = (
        Path(args.input) if args.input else data_dir([]) / "boston" / "requests_2015_jan_oct.csv.gz"
    )
    events = read_boston(path)
    d0 = events.day_of(date.fromisoformat(args.start))
    d1 = events.day_of(date.fromisoformat(args.end))
    det = BurstDetector()
    for name in (
        "min_units",
        "chain_gap_min",
        "chain_step_m",
        "alpha",
        "min_units_one_channel",
        "repeat_h",
        "min_units_list",
    ):
        if getattr(args, name) is not None:
            setattr(det, name, getattr(args, name))
    if args.count_staff:
        events.staff = np.zeros(len(events), dtype=bool)
    if args.batches:
        batches(events, d0, d1)
        return
    started = time.perf_counter()
    if not args.inject:
        alerts = []
        for d in range(d0, d1 + 1):
            known = events.until(d)
            for f in det.run(known, d):
                line = f.as_json(known) | {"numbers": f.numbers}
                alerts.append(line)
                print(json.dumps(line))
        months = (d1 - d0 + 1) / (365.25 / 12)
        print(
            json.dumps(
                {
                    "mode": "no injection",
                    "from": args.start,
                    "to": args.end,
                    "days": d1 - d0 + 1,
                    "alerts": len(alerts),
                    "alerts_per_month": round(len(alerts) / months, 2),
                    "by_category": Counter(a["category"] for a in alerts).most_common(),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )
        return
    rng = np.random.default_rng(args.seed)
    # plant inside the period only: draw more than needed, keep the first that start in it
    inj, planted = inject_bursts(events, rng, args.inject * 4, args.size, args.radius, args.hours)
    keep = [p for p in planted if d0 <= p.start <= d1 - 1][: args.inject]
    kept_ids = np.concatenate([p.ids for p in keep])
    inj = inj.take((inj.ids >= 0) | np.isin(inj.ids, kept_ids))
    if args.anonymous:
        inj.reporter = np.where(inj.ids < 0, -1, inj.reporter)
    hit = 0
    same_day = 0
    delays = []
    by_day: dict[int, list] = {}
    for p in keep:
        by_day.setdefault(p.start, []).append(p)
    found_on: dict[int, list] = {}
    for d in sorted({p.start for p in keep} | {p.start + 1 for p in keep}):
        known = inj.until(d)
        found_on[d] = [(f, set(known.ids[f.rows].tolist())) for f in det.run(known, d)]
    misses = []
    for p in keep:
        ids = set(p.ids.tolist())
        got = None
        for d in (p.start, p.start + 1):
            if any(len(ids & rows) >= 4 for _, rows in found_on[d]):
                got = d
                break
        if got is None:
            misses.append(p.category)
        else:
            hit += 1
            same_day += got == p.start
            delays.append(got - p.start)
    other = sum(1 for d, fs in found_on.items() for _, rows in fs if not any(i < 0 for i in rows))
    print(
        json.dumps(
            {
                "mode": "injection",
                "from": args.start,
                "to": args.end,
                "planted": len(keep),
                "size": args.size,
                "radius_m": args.radius,
                "hours": args.hours,
                "reporters": "unknown" if args.anonymous else "distinct",
                "detected_by_next_day": round(hit / len(keep), 3),
                "detected_same_day": round(same_day / len(keep), 3),
                "missed_categories": Counter(misses).most_common(10),
                "alerts_without_planted_rows_on_those_days": other,
                "seed": args.seed,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
