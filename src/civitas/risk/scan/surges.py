"""Surges: a matter's daily count in one area well above what its recent weeks predict.

Each series is one category in one area (``Events.area``; the whole city when the stream
has no areas). Its expected count for the day is a weekday-adjusted level fitted on the
``baseline_days`` before it:

    expected = level × weekday_factor,  level = (baseline count + 0.5) / Σ weekday factors

where the weekday factors are the category's own (pooled over areas, so that thin series
borrow the pattern of the whole city, with one pseudo-count per weekday). Counts of a matter
vary more than Poisson (weather, campaigns), so the tail probability comes from a negative
binomial with variance ``dispersion × expected``, the dispersion being the category's pooled
Pearson statistic over the baseline (at least 1, at most ``max_dispersion``).

The false-alarm rate is set, not found: with S series tested on a day, a series fires when its
tail probability is below ``false_alarms_per_month / (30.44 × S)``, so that under the model the
whole city expects ``false_alarms_per_month`` false surges a month (Bonferroni over the series,
which also bounds the rate when series are dependent). ``min_observed`` keeps a day of 2 in a
series that usually has none from firing.

Only residents' reports count (staff work entered in batches is not demand), and one channel's
repeats of the same point on the same day count once. A day that passes is counted once more
in independent reports (the bursts' rule: one channel's entries a few minutes and a short walk
apart are one person's list) and must pass again, so one person filing twenty addresses along a
street is not a surge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import nbinom, poisson

from civitas.risk.scan.bursts import CHAIN_GAP_MIN, CHAIN_STEP_M, report_units
from civitas.risk.scan.events import Events, Found

__all__ = ["SurgeDetector"]

DAYS_PER_MONTH = 30.44


@dataclass
class SurgeDetector:
    """Per category × area daily counts against a weekday-adjusted negative binomial baseline."""

    kind: str = "surge"
    baseline_days: int = 56
    false_alarms_per_month: float = 1.0
    min_observed: int = 5
    max_dispersion: float = 20.0

    def threshold(self, series: int) -> float:
        """The per-series tail probability that gives the designed rate over ``series``."""
        return self.false_alarms_per_month / (DAYS_PER_MONTH * max(series, 1))

    def run(self, events: Events, day: int) -> list[Found]:
        b = self.baseline_days
        first = day - b
        if first < 0:
            return []  # not enough history to know what is usual
        lo = int(np.searchsorted(events.day, first, side="left"))
        hi = int(np.searchsorted(events.day, day, side="right"))
        rows = np.arange(lo, hi)
        rows = rows[~events.staff[rows]]
        if events.area is not None:
            area = events.area[rows].astype(np.int64)
            rows, area = rows[area >= 0], area[area >= 0]
            n_areas = max(len(events.areas), int(area.max()) + 1 if area.size else 1)
        else:
            area = np.zeros(rows.size, dtype=np.int64)
            n_areas = 1
        keep = self._once_per_point(events, rows)
        rows, area = rows[keep], area[keep]
        n_cat = len(events.categories)
        series = events.cat[rows].astype(np.int64) * n_areas + area
        k = (events.day[rows] - first).astype(np.int64)
        counts = np.bincount(series * (b + 1) + k, minlength=n_cat * n_areas * (b + 1)).reshape(
            n_cat * n_areas, b + 1
        )
        today = counts[:, b]
        if not (today >= self.min_observed).any():
            return []
        past = counts[:, :b]

        weekday = np.array([(events.date_of(first + i)).weekday() for i in range(b + 1)])
        per_cat = past.reshape(n_cat, n_areas, b).sum(axis=1)
        by_weekday = np.stack([per_cat[:, weekday[:b] == w].sum(axis=1) for w in range(7)], 1)
        days_per_weekday = np.array([(weekday[:b] == w).sum() for w in range(7)])
        rate = (by_weekday + 1.0) / np.maximum(days_per_weekday, 1)
        factor = rate / rate.mean(axis=1, keepdims=True)  # (n_cat, 7)
        f_series = np.repeat(factor, n_areas, axis=0)  # (n_series, 7)
        f_past = f_series[:, weekday[:b]]  # (n_series, b)
        level = (past.sum(axis=1) + 0.5) / f_past.sum(axis=1)
        expected_today = level * f_series[:, weekday[b]]

        active = past.sum(axis=1) > 0
        tested = int(active.sum()) + int(((today >= self.min_observed) & ~active).sum())
        alpha = self.threshold(tested)
        dispersion = self._dispersion(past, level[:, None] * f_past, active, n_cat, n_areas)

        found: list[Found] = []
        for s in np.flatnonzero(today >= self.min_observed):
            c, a = divmod(int(s), n_areas)
            mu = float(expected_today[s])
            phi = float(dispersion[c])
            if self._tail(int(today[s]), mu, phi) > alpha:
                continue
            # count again in independent reports: one person's list of addresses is one report
            mine = rows[(series == s) & (k == b)]
            obs = self._units(events, mine)
            p = self._tail(obs, mu, phi)
            if obs < self.min_observed or p > alpha:
                continue
            found.append(
                self._found(
                    events,
                    day,
                    c,
                    a,
                    mine,
                    obs,
                    mu,
                    p,
                    phi,
                    alpha,
                    tested,
                    past[s],
                    float(f_series[s, weekday[b]]),
                )
            )
        return found

    @staticmethod
    def _units(events: Events, rows: np.ndarray) -> int:
        if rows.size == 0:
            return 0
        located = rows[~np.isnan(events.x[rows])]
        unlocated = int(rows.size - located.size)
        if located.size == 0:
            return unlocated
        source = events.extra.get("source")
        channel = (
            source[located].astype(np.int64)
            if isinstance(source, np.ndarray) and source.shape[0] == len(events)
            else np.zeros(located.size, dtype=np.int64)
        )
        address = events.extra.get("address")
        addr = (
            address[located].astype(np.int64)
            if isinstance(address, np.ndarray) and address.shape[0] == len(events)
            else np.full(located.size, -1, dtype=np.int64)
        )
        unit = report_units(
            events.t[located],
            events.x[located],
            events.y[located],
            channel,
            events.reporter[located],
            addr,
            CHAIN_GAP_MIN / 60.0,
            CHAIN_STEP_M,
        )
        return unlocated + int(np.unique(unit).size)

    @staticmethod
    def _once_per_point(events: Events, rows: np.ndarray) -> np.ndarray:
        """Keep the first of a channel's rows repeating one category, point and day."""
        located = ~np.isnan(events.x[rows])
        source = events.extra.get("source")
        channel = (
            source[rows].astype(np.int64)
            if isinstance(source, np.ndarray) and source.shape[0] == len(events)
            else np.zeros(rows.size, dtype=np.int64)
        )
        key = np.c_[
            events.cat[rows].astype(np.float64),
            events.day[rows].astype(np.float64),
            channel.astype(np.float64),
            np.round(np.nan_to_num(events.x[rows], nan=0.0)),
            np.round(np.nan_to_num(events.y[rows], nan=0.0)),
        ]
        keep = ~located  # rows without a location are all kept
        _, first = np.unique(key[located], axis=0, return_index=True)
        keep[np.flatnonzero(located)[first]] = True
        return keep

    def _dispersion(
        self,
        past: np.ndarray,
        mu: np.ndarray,
        active: np.ndarray,
        n_cat: int,
        n_areas: int,
    ) -> np.ndarray:
        """Each category's Pearson chi-square per degree of freedom over its active series."""
        pearson = ((past - mu) ** 2 / mu).sum(axis=1) * active
        n_active = active.reshape(n_cat, n_areas).sum(axis=1)
        dof = n_active * (past.shape[1] - 1) - 6
        phi = pearson.reshape(n_cat, n_areas).sum(axis=1) / np.maximum(dof, 1)
        phi = np.where(dof > 0, phi, 1.0)
        return np.clip(phi, 1.0, self.max_dispersion)

    @staticmethod
    def _tail(observed: int, mu: float, phi: float) -> float:
        """P(N >= observed) under mean ``mu`` and variance ``phi × mu``."""
        if phi <= 1.0 + 1e-9:
            return float(poisson.sf(observed - 1, mu))
        size = mu / (phi - 1.0)
        return float(nbinom.sf(observed - 1, size, 1.0 / phi))

    def _found(
        self,
        events: Events,
        day: int,
        c: int,
        a: int,
        rows: np.ndarray,
        observed: int,
        expected: float,
        p: float,
        phi: float,
        alpha: float,
        tested: int,
        past: np.ndarray,
        factor: float,
    ) -> Found:
        area = events.areas[a] if events.area is not None and a < len(events.areas) else None
        located = rows[~np.isnan(events.x[rows])]
        numbers: dict[str, Any] = {
            "scope": "area" if area is not None else "city",
            "baseline_days": self.baseline_days,
            "baseline_mean_per_day": round(float(past.mean()), 3),
            "last_7_days": [int(v) for v in past[-7:]],
            "weekday_factor": round(factor, 3),
            "dispersion": round(phi, 3),
            "threshold_p": float(f"{alpha:.3g}"),
            "series_tested": tested,
            "resident_rows": int(rows.size),
            "located_rows": int(located.size),
        }
        return Found(
            kind=self.kind,
            category=events.categories[c],
            detected_on=day,
            start=day,
            end=day,
            observed=observed,
            expected=expected,
            p_value=p,
            score=-math.log10(max(p, 1e-300)),
            area=area,
            rows=rows.astype(np.int64),
            numbers=numbers,
        )
