"""Generated request streams for the detectors' tests: background plus planted clusters."""

from __future__ import annotations

import csv
import gzip
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from civitas.risk.scan.events import Events, Projection

DAY0 = date(2015, 1, 1)
PROJ = Projection(42.33, -71.07)
CITY_M = 8000.0  # background spread over an 8 km square around the centre


def stream(
    *,
    days: int = 120,
    per_day: tuple[float, ...] = (6.0, 3.0),
    clusters: tuple[tuple[int, float, float, int, int, float], ...] = (),
    seed: int = 1,
    staff_share: float = 0.0,
) -> Events:
    """Poisson background of ``len(per_day)`` categories ("type0", "type1", ...) uniform over
    the square, plus ``clusters``: (category, x, y, first day, n per day for 3 days, radius)."""
    rng = np.random.default_rng(seed)
    t: list[np.ndarray] = []
    cat: list[np.ndarray] = []
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    staff: list[np.ndarray] = []
    for c, rate in enumerate(per_day):
        n = rng.poisson(rate * days)
        t.append(rng.random(n) * days * 24.0)
        cat.append(np.full(n, c))
        xs.append((rng.random(n) - 0.5) * CITY_M)
        ys.append((rng.random(n) - 0.5) * CITY_M)
        staff.append(rng.random(n) < staff_share)
    for c, x, y, first, n, radius in clusters:
        for d in range(first, first + 3):
            r = radius * np.sqrt(rng.random(n))
            a = rng.random(n) * 2 * np.pi
            t.append(d * 24.0 + 8.0 + rng.random(n) * 10.0)
            cat.append(np.full(n, c))
            xs.append(x + r * np.cos(a))
            ys.append(y + r * np.sin(a))
            staff.append(np.zeros(n, dtype=bool))
    tt = np.concatenate(t)
    order = np.argsort(tt, kind="stable")
    tt = tt[order]
    n_all = tt.size
    return Events(
        day0=DAY0,
        t=tt,
        day=np.floor(tt / 24.0).astype(np.int32),
        cat=np.concatenate(cat).astype(np.int32)[order],
        categories=[f"type{i}" for i in range(len(per_day))],
        x=np.concatenate(xs)[order],
        y=np.concatenate(ys)[order],
        projection=PROJ,
        staff=np.concatenate(staff)[order],
        reporter=np.full(n_all, -1, dtype=np.int64),
        ids=np.arange(n_all, dtype=np.int64),
    )


def write_csv(events: Events, path: Path, *, gz: bool) -> Path:
    """The stream as a Boston-style export (with a few extra columns and a placeholder row)."""
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as fh:  # type: ignore[operator]
        w = csv.writer(fh)
        w.writerow(
            ["CASE_ENQUIRY_ID", "OPEN_DT", "TYPE", "Location", "LATITUDE", "LONGITUDE", "Source"]
        )
        for i in range(len(events)):
            when = datetime.combine(DAY0, datetime.min.time()) + timedelta(hours=events.t[i])
            la, lo = PROJ.to_latlon(float(events.x[i]), float(events.y[i]))
            w.writerow(
                [
                    100 + i,
                    when.strftime("%m/%d/%Y %I:%M:%S %p"),
                    events.categories[int(events.cat[i])],
                    f"{i} Main St",
                    f"{la:.6f}",
                    f"{lo:.6f}",
                    "Employee Generated" if events.staff[i] else "Constituent Call",
                ]
            )
        # City Hall's placeholder means "no location".
        w.writerow(
            [1, "01/05/2015 10:00:00 AM", "type0", "", "42.3594", "-71.0587", "Self Service"]
        )
    return path
