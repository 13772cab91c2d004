"""Plant synthetic clusters into real background and measure the detectors.

The rule for choosing where a cluster goes, stated once: its category is drawn uniformly
from the categories with at least ``min_type_cases`` located residents' reports in the year
before the period (so that it is a matter that really occurs); its centre is the location of
a real located report of that category drawn at random (so clusters land where the matter
already happens, the harder case); its ``size`` reports are spread uniformly over a disc of
``radius_m`` and over ``days`` days starting on a uniformly drawn day of the period (leaving
room for the cluster to end inside it), at uniformly drawn hours, entered as residents'
reports through a residents' channel.

A planted cluster is *detected* when the engine reports a space-time cluster alert of its
category whose circle overlaps the planted disc on a day from its start to ``start +
within_days``; the delay is that day minus the start. False alarms are the alerts on the
real data without anything planted, per 30 days of the period.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from civitas.risk.scan.engine import Engine
from civitas.risk.scan.events import Detector, Events, Found, Planted


def inject_clusters(
    events: Events,
    rng: np.random.Generator,
    n: int,
    *,
    first: int,
    last: int,
    size: int = 8,
    radius_m: float = 400.0,
    days: int = 3,
    min_type_cases: int = 52,
) -> tuple[Events, list[Planted]]:
    """``n`` clusters planted in days ``first..last`` (see the module's rule)."""
    located = events.located & ~events.staff
    history = located & (events.day < first) & (events.day >= first - 365)
    per_cat = np.bincount(events.cat[history], minlength=len(events.categories))
    eligible = np.flatnonzero(per_cat >= min_type_cases)
    if eligible.size == 0:
        raise ValueError(
            f"no category has {min_type_cases} located residents' reports before the period; "
            "give a longer history or a lower threshold"
        )
    resident_source = _resident_source(events)
    planted: list[Planted] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "cat", "x", "y", "ids")}
    next_id = -1
    last_start = max(first, last - days + 1)
    for _ in range(n):
        ci = int(rng.choice(eligible))
        rows = np.flatnonzero(history & (events.cat == ci))
        centre = int(rng.choice(rows))
        cx, cy = float(events.x[centre]), float(events.y[centre])
        start = int(rng.integers(first, last_start + 1))
        r = radius_m * np.sqrt(rng.random(size))
        a = rng.random(size) * 2 * math.pi
        d = start + rng.integers(0, days, size)
        # Make sure the cluster really spans its days: first and last report on them.
        d[0], d[-1] = start, start + days - 1
        t = d * 24.0 + rng.random(size) * 24.0
        ids = np.arange(next_id, next_id - size, -1, dtype=np.int64)
        next_id -= size
        cols["t"].append(t)
        cols["cat"].append(np.full(size, ci, dtype=np.int32))
        cols["x"].append(cx + r * np.cos(a))
        cols["y"].append(cy + r * np.sin(a))
        cols["ids"].append(ids)
        planted.append(
            Planted(
                "cluster",
                events.categories[ci],
                cx,
                cy,
                radius_m,
                start,
                start + days - 1,
                size,
                ids,
            )
        )
    t = np.concatenate(cols["t"]) if cols["t"] else np.zeros(0)
    k = t.size
    extra: dict[str, Any] = {}
    for key, val in events.extra.items():
        if isinstance(val, np.ndarray):
            fill = resident_source if key == "source" else -1
            extra[key] = np.concatenate([val, np.full(k, fill, dtype=val.dtype)])
        else:
            extra[key] = val
    merged = Events(
        day0=events.day0,
        t=np.concatenate([events.t, t]),
        day=np.concatenate([events.day, np.floor(t / 24.0).astype(np.int32)]),
        cat=np.concatenate([events.cat, *cols["cat"]]) if k else events.cat,
        categories=events.categories,
        x=np.concatenate([events.x, *cols["x"]]) if k else events.x,
        y=np.concatenate([events.y, *cols["y"]]) if k else events.y,
        projection=events.projection,
        staff=np.concatenate([events.staff, np.zeros(k, dtype=bool)]),
        reporter=np.concatenate([events.reporter, np.full(k, -1, dtype=np.int64)]),
        ids=np.concatenate([events.ids, *cols["ids"]]) if k else events.ids,
        area=None
        if events.area is None
        else np.concatenate([events.area, np.full(k, -1, dtype=np.int32)]),
        areas=events.areas,
        extra=extra,
    )
    order = np.argsort(merged.t, kind="stable")
    return merged.take(order), planted


def _resident_source(events: Events) -> int:
    names = events.extra.get("source_names")
    if isinstance(names, list):
        for i, name in enumerate(names):
            if str(name).lower() in ("constituent call", "citizens connect app", "self service"):
                return i
    return 0


@dataclass
class Score:
    planted: int
    detected: int
    delays: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "planted": self.planted,
            "detected": self.detected,
            "sensitivity": round(self.detected / self.planted, 3) if self.planted else None,
            "mean_delay_days": round(float(np.mean(self.delays)), 2) if self.delays else None,
            "delay_histogram": {str(d): self.delays.count(d) for d in sorted(set(self.delays))},
        }


def match(planted: list[Planted], found: list[Found], kind: str, within_days: int = 2) -> Score:
    delays: list[int] = []
    for p in planted:
        best: int | None = None
        for f in found:
            if f.kind != kind or f.category != p.category:
                continue
            if not (p.start <= f.detected_on <= p.start + within_days):
                continue
            if f.x is not None and f.y is not None:
                if math.hypot(f.x - p.x, f.y - p.y) > (f.radius_m or 0.0) + p.radius_m:
                    continue
            elif f.rows.size and not np.isin(p.ids, f.rows).any():
                continue
            delay = f.detected_on - p.start
            best = delay if best is None else min(best, delay)
        if best is not None:
            delays.append(best)
    return Score(len(planted), len(delays), delays)


def run_period(
    events: Events,
    detectors: list[Detector],
    first: int,
    last: int,
    progress: Callable[[int], None] | None = None,
    days: list[int] | None = None,
    workers: int = 1,
) -> list[Found]:
    """Every alert of the period (or of just ``days``: consecutive days share the engine's
    memory of continuing alerts, as they would live)."""
    engine = Engine(detectors)
    if days is None:
        found = list(engine.run(events, first, last, progress, workers=workers))
    else:
        found = []
        for d in days:
            found += engine.step(events, d)
            if progress is not None:
                progress(d)
    # Rows refer to the events the detector saw; give findings ids for matching planted rows.
    for f in found:
        if f.rows.size:
            f.rows = events.ids[f.rows]
    return found
