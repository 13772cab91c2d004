"""``civitas risk scan|evaluate``: the early-warning detectors over a file of requests.

``scan`` replays a CSV file day by day as the live system would and prints each alert as one
JSON line; ``evaluate`` plants synthetic clusters (and bursts) into the same real background
and prints sensitivity, detection delay and false alarms as one JSON object. Progress and
the reading summary go to stderr. Each subcommand is a ``(add_arguments, run)`` pair in
``SUBCOMMANDS``; adding one is adding an entry.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2015-08-01") from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="CSV file of requests (gzip or plain)")
    p.add_argument("--from", dest="start", required=True, type=_day, help="first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", required=True, type=_day, help="last day (YYYY-MM-DD)")
    p.add_argument("--replicas", type=int, default=999, help="Monte Carlo replicas (999)")
    p.add_argument("--seed", type=int, default=20150101)
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="report space-time clusters with p at most this (default 3e-4: a recurrence "
        "interval of about 3,300 days per matter)",
    )
    p.add_argument(
        "--detectors",
        default="cluster,burst,surge",
        help="comma-separated: cluster, burst, surge (default all that are installed)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="processes detecting days in parallel (2; the result does not depend on it)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _scan_args(p: argparse.ArgumentParser) -> None:
    _common(p)


def _evaluate_args(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--clusters", type=int, default=50, help="clusters to plant (50)")
    p.add_argument("--size", type=int, default=8, help="reports per cluster (8)")
    p.add_argument("--radius", type=float, default=400.0, help="cluster radius in metres (400)")
    p.add_argument("--days", type=int, default=3, help="days a cluster lasts (3)")
    p.add_argument("--within", type=int, default=2, help="detected by start + this many days")
    p.add_argument("--bursts", type=int, default=None, help="bursts to plant (as --clusters)")
    p.add_argument(
        "--per-run",
        type=int,
        default=10,
        help="clusters planted in one replay (more runs with fewer keep them from touching)",
    )
    p.add_argument(
        "--min-type-cases",
        type=int,
        default=52,
        help="plant only into types with this many located residents' reports in the year "
        "before the period (52: about one a week)",
    )


class Command(BaseCommand):
    help = "Early-warning detectors over a CSV file of requests: scan, evaluate."

    SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], str, str]] = {
        "scan": (
            _scan_args,
            "run the detectors day by day and print alerts as JSON lines",
            "civitas.risk.management.commands.risk.run_scan",
        ),
        "evaluate": (
            _evaluate_args,
            "plant clusters into real data and measure detection",
            "civitas.risk.management.commands.risk.run_evaluate",
        ),
    }

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        for name, (add, text, _) in self.SUBCOMMANDS.items():
            add(sub.add_parser(name, help=text, description=text))

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils.module_loading import import_string

        from civitas.risk.scan.csvinput import CsvInputError

        what = options["what"]
        runner = import_string(self.SUBCOMMANDS[what][2])
        try:
            runner(options, self.stdout)
        except (CsvInputError, ValueError) as exc:
            raise CommandError(str(exc)) from None


def _load(options: dict[str, Any]) -> tuple[Any, int, int]:
    from civitas.risk.scan.csvinput import read_events

    if options["end"] < options["start"]:
        raise ValueError(f"--to {options['end']} is before --from {options['start']}")
    events = read_events(options["input"], report=sys.stderr)
    if len(events) == 0:
        raise ValueError(f"{options['input']}: no usable rows")
    first, last = events.day_of(options["start"]), events.day_of(options["end"])
    if first < 0 or first > int(events.day.max()):
        span = f"{events.date_of(0)} .. {events.date_of(int(events.day.max()))}"
        raise ValueError(
            f"--from {options['start']} is outside the file's days ({span}); "
            "give a period the file covers"
        )
    return events, first, last


def _detectors(options: dict[str, Any]) -> list[Any]:
    from civitas.risk.scan.engine import default_detectors

    kinds = [k.strip() for k in options["detectors"].split(",") if k.strip()]
    unknown = set(kinds) - {"cluster", "burst", "surge"}
    if unknown:
        raise ValueError(
            f"unknown detector(s) {', '.join(sorted(unknown))}; use cluster, burst, surge"
        )
    dets = default_detectors(
        replicas=options["replicas"], seed=options["seed"], alpha=options["alpha"], kinds=kinds
    )
    present = {d.kind for d in dets}
    missing = [k for k in kinds if k not in present]
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}", file=sys.stderr)
    return dets


def _progress(options: dict[str, Any], total: int, label: str) -> tuple[Any, Callable[[int], None]]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="day", file=sys.stderr, disable=options["quiet"])
    return bar, lambda _day: bar.update(1)


def run_scan(options: dict[str, Any], out: Any) -> None:
    from civitas.risk.scan.engine import Engine

    events, first, last = _load(options)
    engine = Engine(_detectors(options))
    bar, tick = _progress(options, last - first + 1, "scan")
    try:
        for found in engine.run(events, first, last, tick, workers=options["workers"]):
            out.write(json.dumps(found.as_json(events), ensure_ascii=False))
            out.flush()
    finally:
        bar.close()


def run_evaluate(options: dict[str, Any], out: Any) -> None:
    import numpy as np

    from civitas.risk.scan.evaluate import inject_clusters, run_period

    events, first, last = _load(options)
    days = last - first + 1
    rng = np.random.default_rng(options["seed"])
    result: dict[str, Any] = {
        "input": str(options["input"]),
        "from": options["start"].isoformat(),
        "to": options["end"].isoformat(),
        "replicas": options["replicas"],
        "alpha": options["alpha"],
        "within_days": options["within"],
    }
    bar, tick = _progress(options, days, "real data")
    clean = run_period(events, _detectors(options), first, last, tick, workers=options["workers"])
    bar.close()
    months = days / 30.0
    kinds = [d.kind for d in _detectors(options)]
    result["false_alarms"] = {
        k: {
            "alerts": sum(f.kind == k for f in clean),
            "per_month": round(sum(f.kind == k for f in clean) / months, 2),
        }
        for k in sorted(set(kinds))
    }
    # Clusters go in over several replays so that planted clusters do not touch. A replay
    # only needs the days a planted cluster or burst can be detected on, and the cluster
    # scan only its categories: the other days and categories are the real data's, whose
    # alerts are counted above.
    per_run = max(1, options["per_run"])
    n_clusters = options["clusters"] if "cluster" in kinds else 0
    n_bursts = options["clusters"] if options["bursts"] is None else options["bursts"]
    n_bursts = n_bursts if "burst" in kinds and _inject_bursts() is not None else 0
    runs = max(math.ceil(n_clusters / per_run), math.ceil(n_bursts / per_run))
    pairs_c: list[Any] = []
    pairs_b: list[Any] = []
    left_c, left_b = n_clusters, n_bursts
    for r in range(runs):
        ev = events
        pc: list[Any] = []
        pb: list[Any] = []
        if left_c > 0:
            k = min(per_run, left_c)
            left_c -= k
            ev, pc = inject_clusters(
                ev,
                rng,
                k,
                first=first,
                last=last,
                size=options["size"],
                radius_m=options["radius"],
                days=options["days"],
                min_type_cases=options["min_type_cases"],
            )
        if left_b > 0:
            kb = min(per_run, left_b)
            ev, pb = _plant_bursts(ev, rng, kb, first, last)
            left_b -= len(pb)
        wanted = sorted(
            {d for p in pc for d in range(p.start, p.start + options["within"] + 1)}
            | {d for p in pb for d in range(p.start, p.start + 2)}
        )
        dets = _detectors(options)
        for det in dets:
            if det.kind == "cluster":
                det.config.categories = sorted({p.category for p in pc})
        bar, tick = _progress(options, len(wanted), f"planted {r + 1}/{runs}")
        found = run_period(ev, dets, first, last, tick, days=[d for d in wanted if d <= last])
        bar.close()
        pairs_c.append((pc, found))
        pairs_b.append((pb, found))
    if n_clusters:
        result["clusters"] = _score(pairs_c, "cluster", options["within"])
        result["clusters"].update(
            size=options["size"], radius_m=options["radius"], days=options["days"]
        )
    else:
        result["clusters"] = None
    result["bursts"] = _score(pairs_b, "burst", 1) if n_bursts else None
    out.write(json.dumps(result, ensure_ascii=False, sort_keys=True))


def _score(pairs: list[Any], kind: str, within: int) -> dict[str, Any]:
    from civitas.risk.scan.evaluate import Score, match

    total = Score(0, 0, [])
    for planted, found in pairs:
        s = match(planted, found, kind, within)
        total = Score(
            total.planted + s.planted, total.detected + s.detected, total.delays + s.delays
        )
    return total.as_dict()


def _inject_bursts() -> Callable[..., Any] | None:
    try:
        from civitas.risk.scan import bursts
    except ImportError:
        return None
    fn: Callable[..., Any] | None = getattr(bursts, "inject_bursts", None)
    return fn


def _plant_bursts(events: Any, rng: Any, n: int, first: int, last: int) -> tuple[Any, list[Any]]:
    """Bursts inside the period: ``inject_bursts`` places them anywhere in the stream, so
    plant more and keep (and count) those that start in the period; the others stay in the
    background as real-looking history."""
    inject = _inject_bursts()
    assert inject is not None
    total_days = int(events.day.max()) + 1
    share = max(1e-3, (last - first + 1) / max(1, total_days - 28))
    ev, planted = inject(events, rng, math.ceil(n / share * 1.2) + 1)
    inside = [p for p in planted if first <= p.start <= last][:n]
    return ev, inside
