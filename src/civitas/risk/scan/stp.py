"""Space-time clusters of one matter: Kulldorff's space-time permutation scan, prospective.

On scan day ``d`` and for each category, the candidate clusters are cylinders: a circle
(centred on the centre of an occupied grid cell, radius from ``radii_m``) times a time window
that *ends on d* and lasts 1..``max_days`` days. Only located cases inside the study period
(the last ``study_days`` days up to d, or what exists) take part.

Expected counts come from the margins alone, so neither the population nor a baseline is
needed: ``mu = C_zone * C_window / C``. The score is the Poisson generalised likelihood ratio
``c ln(c/mu) + (C-c) ln((C-c)/(C-mu))`` for ``c > mu``; cylinders with fewer than
``min_observed`` cases are not candidates (in the data and in the replicas alike).

Significance is Monte Carlo over permuted dates. Permuting dates keeps every case's place and
every day's count, so all a permutation changes is *which* cases fall in the last
``max_days`` days: a replica is a uniform draw, without replacement, of as many cases as the
recent days hold, given those days in random order. Each replica therefore touches only the
zones of a few dozen cases, and many replicas are counted at once with one ``bincount``.
Sequential Monte Carlo (Besag and Clifford) stops as soon as ``stop_after`` replicas beat the
observed score, which settles the great majority of category-days after a few dozen replicas;
p-values below ``1/(R+1)`` come from a Gumbel fit to the replicas' maxima. The recurrence
interval of a daily analysis is ``1/p`` days.

:class:`ExpectationScan` (the expectation-based Poisson scan, baseline from each zone's own
history) shares the zones and counts and is kept for the comparison in docs/EVALUATION.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from civitas.risk.scan.events import Detector, Events, Found

EULER_GAMMA = 0.5772156649015329


@dataclass
class ScanConfig:
    max_days: int = 3  # longest time window (days, ending on the scan day); see EVALUATION
    study_days: int = 365  # the margins are taken over this many days up to the scan day
    radii_m: tuple[float, ...] = (250.0, 400.0, 600.0, 800.0, 1000.0)
    grid_m: float = 250.0  # circles are centred on the centres of occupied cells this wide
    min_observed: int = 5  # fewer cases in a cylinder never make a cluster
    replicas: int = 999
    stop_after: int = 10  # Besag-Clifford: stop once this many replicas beat the data
    extend_to: int = 9999  # beaten by none and too few to fit a tail: go on up to this many
    alpha: float = 3e-4  # report clusters with p at most this (recurrence >= 1/alpha days)
    max_clusters: int = 3  # per category and day: the most likely and non-overlapping others
    residents_only: bool = True  # staff and field crews' own entries are work, not appeals
    collapse_staff_hours: float = 1.0  # staff reports of one type at one point within this
    distinct_points_per_day: bool = True  # repeats at one exact point on one day count once
    sitting_minutes: float = 15.0  # one person's run of reports: each within this of the last
    sitting_m: float = 1000.0  # ... and this near it (same type and channel or reporter)
    seed: int = 20150101
    categories: Sequence[str] | None = None  # None: every category


def collapse(events: Events, config: ScanConfig) -> np.ndarray:
    """Mask of the located rows that count as separate cases.

    With ``residents_only`` (the default) staff and field crews' entries are left out: in
    Boston's data nearly every strong cluster of them is a crew logging a street's work (27
    tree jobs in 250 m in two days, all "Employee Generated"), which is not residents'
    demand. Without it, staff batches are still merged: tens of identical reports of one
    type at one point within an hour are one piece of work, not a cluster of appeals, so a
    staff row at the same point and of the same type as an earlier staff row less than
    ``collapse_staff_hours`` before it is dropped. With ``distinct_points_per_day``,
    repeated reports of one type at one exact point on one day (callers about the same
    street light) count once: a space-time cluster is many places; a pile at one point is
    a burst or a duplicate, which the burst detector and duplicate handling look at.

    One sitting counts once as well. In Boston's data most strong one-day "clusters" of
    residents' reports are one person walking a street and reporting every tree or tag:
    reports of one type through one channel, one to five minutes apart, at consecutive
    addresses. A report of the same type and channel (or the same reporter, when known) as
    the previous one, less than ``sitting_minutes`` after it and ``sitting_m`` from it,
    continues that sitting and is dropped.
    """
    keep = events.located.copy()
    if config.residents_only:
        keep &= ~events.staff
    n = len(events)
    if n == 0:
        return keep
    # Integer metres are finer than the source's 4-decimal rounding (about 8 m).
    xi = np.where(keep, np.round(np.nan_to_num(events.x)), 0).astype(np.int64)
    yi = np.where(keep, np.round(np.nan_to_num(events.y)), 0).astype(np.int64)
    if config.collapse_staff_hours > 0:
        s = np.flatnonzero(keep & events.staff)
        if s.size:
            order = np.lexsort((events.t[s], yi[s], xi[s], events.cat[s]))
            r = s[order]
            same = (
                (events.cat[r][1:] == events.cat[r][:-1])
                & (xi[r][1:] == xi[r][:-1])
                & (yi[r][1:] == yi[r][:-1])
                & (np.diff(events.t[r]) < config.collapse_staff_hours)
            )
            keep[r[1:][same]] = False
    if config.sitting_minutes > 0:
        s = np.flatnonzero(keep)
        who = events.reporter[s].astype(np.int64)
        src = events.extra.get("source")
        channel = (
            np.asarray(src)[s].astype(np.int64)
            if isinstance(src, np.ndarray)
            else np.zeros(s.size, dtype=np.int64)
        )
        # Known reporters chain by person, others by channel (shifted apart from persons).
        who = np.where(who >= 0, who, -1 - channel)
        order = np.lexsort((events.t[s], who, events.cat[s]))
        r = s[order]
        w = who[order]
        same = (
            (events.cat[r][1:] == events.cat[r][:-1])
            & (w[1:] == w[:-1])
            & (np.diff(events.t[r]) * 60.0 <= config.sitting_minutes)
            & (np.hypot(np.diff(events.x[r]), np.diff(events.y[r])) <= config.sitting_m)
        )
        keep[r[1:][same]] = False
    if config.distinct_points_per_day:
        s = np.flatnonzero(keep)
        order = np.lexsort((events.t[s], events.day[s], yi[s], xi[s], events.cat[s]))
        r = s[order]
        same = (
            (events.cat[r][1:] == events.cat[r][:-1])
            & (xi[r][1:] == xi[r][:-1])
            & (yi[r][1:] == yi[r][:-1])
            & (events.day[r][1:] == events.day[r][:-1])
        )
        keep[r[1:][same]] = False
    return keep


@dataclass
class Zones:
    """Circles for one category and day and which cases each contains (compressed by case)."""

    cx: np.ndarray  # centre x of each zone
    cy: np.ndarray
    radius: np.ndarray
    total: np.ndarray  # cases in each zone over the study period (C_zone)
    case_ptr: np.ndarray  # zones of case i are zone_of[case_ptr[i]:case_ptr[i+1]]
    zone_of: np.ndarray


def build_zones(x: np.ndarray, y: np.ndarray, config: ScanConfig) -> Zones:
    """Zones with at least ``min_observed`` cases over the study period (others never count)."""
    g = config.grid_m
    radii = np.asarray(sorted(config.radii_m), dtype=np.float64)
    k = radii.size
    cells = np.unique(np.stack([np.floor(x / g), np.floor(y / g)], axis=1), axis=0)
    centres = (cells + 0.5) * g
    pts, loc = np.unique(np.stack([x, y], axis=1), axis=0, return_inverse=True)
    loc = loc.reshape(-1)
    pairs = cKDTree(pts).sparse_distance_matrix(
        cKDTree(centres), float(radii[-1]), output_type="ndarray"
    )
    p_loc = pairs["i"].astype(np.int64)
    p_centre = pairs["j"].astype(np.int64)
    # A pair within radius r_j belongs to the zones of that centre with radius >= r_j.
    first = np.searchsorted(radii, pairs["v"], side="left")
    # sparse_distance_matrix leaves out exact zero distances: points at a cell's centre.
    zero_loc, zero_centre = _coincident(pts, centres)
    if zero_loc.size:
        p_loc = np.concatenate([p_loc, zero_loc])
        p_centre = np.concatenate([p_centre, zero_centre])
        first = np.concatenate([first, np.zeros(zero_loc.size, dtype=first.dtype)])
    reps = k - first
    loc_of_pair = np.repeat(p_loc, reps)
    step = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    zone = np.repeat(p_centre * k + first, reps) + step
    # Membership by location, then by case (cases sharing a point share its zones).
    per_loc = np.bincount(loc, minlength=pts.shape[0])
    total = np.bincount(zone, weights=per_loc[loc_of_pair], minlength=centres.shape[0] * k)
    good = total >= config.min_observed
    relabel = np.full(total.size, -1, dtype=np.int64)
    relabel[good] = np.arange(int(good.sum()))
    zone = relabel[zone]
    ok = zone >= 0
    loc_of_pair, zone = loc_of_pair[ok], zone[ok]
    order = np.argsort(loc_of_pair, kind="stable")
    loc_of_pair, zone = loc_of_pair[order], zone[order]
    loc_ptr = np.zeros(pts.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(loc_of_pair, minlength=pts.shape[0]), out=loc_ptr[1:])
    # Expand to cases.
    lens = (loc_ptr[1:] - loc_ptr[:-1])[loc]
    case_ptr = np.zeros(loc.size + 1, dtype=np.int64)
    np.cumsum(lens, out=case_ptr[1:])
    zone_of = zone[_ranges(loc_ptr[loc], lens)]
    zid = np.flatnonzero(good)
    return Zones(
        cx=centres[zid // k, 0],
        cy=centres[zid // k, 1],
        radius=radii[zid % k],
        total=total[good],
        case_ptr=case_ptr,
        zone_of=zone_of,
    )


def _coincident(pts: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, j = cKDTree(centres).query(pts, k=1)
    hit = np.flatnonzero(d == 0.0)
    return hit.astype(np.int64), j[hit].astype(np.int64)


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each (s, n), vectorised."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(lens) - lens
    return np.repeat(starts - offs, lens) + np.arange(total)


DENSE_CELLS = 1 << 22  # above this many (draw, zone, window) cells, count sparsely


def _window_counts(
    zones: Zones, cases: np.ndarray, offsets: np.ndarray, days: int, least: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For B draws of recent cases (``cases`` B×m, day offsets m: 0 = the scan day), the
    cylinders with at least ``least`` cases: (draw, zone, window index, count)."""
    b_count, m = cases.shape
    nz = zones.total.size
    flat = cases.reshape(-1)
    lens = zones.case_ptr[flat + 1] - zones.case_ptr[flat]
    idx = _ranges(zones.case_ptr[flat], lens)
    z = zones.zone_of[idx]
    draw = np.repeat(np.repeat(np.arange(b_count, dtype=np.int64), m), lens)
    off = np.repeat(np.tile(offsets.astype(np.int64), b_count), lens)
    key = (draw * nz + z) * days + off
    cells = b_count * nz * days
    if cells <= DENSE_CELLS:
        grid = np.bincount(key, minlength=cells).reshape(b_count * nz, days)
        np.cumsum(grid, axis=1, out=grid)
        g, w = np.nonzero(grid >= least)
        return g // nz, g % nz, w, grid[g, w]
    key.sort()
    if key.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e
    first_idx = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    uk = key[first_idx]
    counts = np.diff(np.append(first_idx, key.size))
    group = uk // days
    # Cumulative within each (draw, zone) group over increasing window lengths. The count
    # only changes where a case arrives and a fixed count scores lower in a longer window
    # (mu grows), so only those windows are candidates.
    cum = np.cumsum(counts)
    starts = np.r_[True, group[1:] != group[:-1]]
    base = np.maximum.accumulate(np.where(starts, cum - counts, 0))
    cum = cum - base
    ok = cum >= least
    return group[ok] // nz, group[ok] % nz, uk[ok] % days, cum[ok]


def _llr(c: np.ndarray, mu: np.ndarray, total: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = total - c
        second = np.where(rest > 0, rest * np.log(rest / (total - mu)), 0.0)
        val = c * np.log(c / mu) + second
    return np.where(c > mu, val, 0.0)


@dataclass
class CategoryScan:
    """What one category's scan on one day found, before the threshold is applied."""

    category: str
    cases: int  # located cases in the study period
    recent: int  # of them in the last max_days days
    llr: float
    clusters: list[dict[str, float]] = field(default_factory=list)  # best first
    replicas_run: int = 0
    exceed: int = 0
    p_value: float = 1.0
    gumbel_p: float | None = None


class SpaceTimePermutationScan:
    """The statistic and its Monte Carlo p-values for one category's located cases."""

    def __init__(self, config: ScanConfig | None = None) -> None:
        self.config = config or ScanConfig()

    def scan(
        self,
        x: np.ndarray,
        y: np.ndarray,
        day: np.ndarray,
        scan_day: int,
        rng: np.random.Generator,
        category: str = "",
    ) -> CategoryScan:
        """``x``, ``y``, ``day``: the category's located cases up to ``scan_day``."""
        cfg = self.config
        d_max = cfg.max_days
        in_study = day > scan_day - cfg.study_days
        x, y, day = x[in_study], y[in_study], day[in_study]
        n = int(day.size)
        offset = scan_day - day
        recent = np.flatnonzero(offset < d_max)
        out = CategoryScan(category, n, int(recent.size), 0.0)
        if recent.size < cfg.min_observed:
            return out
        zones = build_zones(x, y, cfg)
        if zones.total.size == 0:
            return out
        per_day = np.bincount(offset[recent], minlength=d_max)
        in_window = np.cumsum(per_day).astype(np.float64)  # C_window for lengths 1..D
        rec_off = offset[recent]
        obs = self._candidates(zones, recent[None, :], rec_off, in_window, n)
        if obs[0].size == 0:
            return out
        _, z, w, c, score = obs
        out.llr = float(score.max())
        out.clusters = self._distinct(zones, z, w, c, score, in_window, n)
        # Sequential Monte Carlo: batches growing so that clear non-clusters stop early.
        maxima: list[np.ndarray] = []
        done = 0
        exceed = 0
        batch = 19
        while done < cfg.replicas:
            fit = max(1, DENSE_CELLS // max(1, zones.total.size * d_max))
            b = min(batch, cfg.replicas - done, max(fit, 8))
            draws = _draw(rng, n, recent.size, b)
            mx = self._replica_maxima(zones, draws, rec_off, in_window, n)
            maxima.append(mx)
            exceed += int((mx >= out.llr - 1e-9).sum())
            done += b
            if exceed >= cfg.stop_after:
                break
            batch = min(batch * 2, 200)
        all_max = np.concatenate(maxima)
        if exceed == 0 and gumbel_p(out.llr, all_max) is None and cfg.extend_to > done:
            # A small matter: most replicas have no candidate cylinder at all, so neither
            # 999 replicas nor a tail fit can tell 1e-3 from 1e-5. Replicas of a small matter
            # are cheap; draw more until the tail can be fitted or the limit is reached.
            while done < cfg.extend_to:
                b = min(2000, cfg.extend_to - done, max(8, 4_000_000 // max(n, 1)))
                mx = self._replica_maxima(
                    zones, _draw(rng, n, recent.size, b), rec_off, in_window, n
                )
                maxima.append(mx)
                exceed += int((mx >= out.llr - 1e-9).sum())
                done += b
                all_max = np.concatenate(maxima)
                if exceed >= cfg.stop_after or gumbel_p(out.llr, all_max) is not None:
                    break
        out.replicas_run = done
        out.exceed = exceed
        full = max(cfg.replicas, min(done, cfg.extend_to))
        if exceed >= cfg.stop_after and done < full:
            out.p_value = exceed / done
        else:
            out.p_value = (exceed + 1) / (done + 1)
        if exceed == 0:
            out.gumbel_p = gumbel_p(out.llr, all_max)
            if out.gumbel_p is not None:
                out.p_value = min(out.p_value, out.gumbel_p)
        for cl in out.clusters:
            g = int((all_max >= cl["llr"] - 1e-9).sum())
            p = (g + 1) / (done + 1) if done >= full or g < cfg.stop_after else g / done
            tail = gumbel_p(cl["llr"], all_max) if g == 0 else None
            cl["p_value"] = p if tail is None else min(p, tail)
        return out

    def _candidates(
        self,
        zones: Zones,
        draws: np.ndarray,
        offsets: np.ndarray,
        in_window: np.ndarray,
        n: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        b, z, w, c = _window_counts(
            zones, draws, offsets, self.config.max_days, self.config.min_observed
        )
        c = c.astype(np.float64)
        mu = zones.total[z] * in_window[w] / n
        return b, z, w, c, _llr(c, mu, float(n))

    def _replica_maxima(
        self,
        zones: Zones,
        draws: np.ndarray,
        offsets: np.ndarray,
        in_window: np.ndarray,
        n: int,
    ) -> np.ndarray:
        b, _, _, _, score = self._candidates(zones, draws, offsets, in_window, n)
        out = np.zeros(draws.shape[0])
        np.maximum.at(out, b, score)
        return out

    def _distinct(
        self,
        zones: Zones,
        z: np.ndarray,
        w: np.ndarray,
        c: np.ndarray,
        score: np.ndarray,
        in_window: np.ndarray,
        n: int,
    ) -> list[dict[str, float]]:
        """The most likely cluster and the next best that do not overlap it in space."""
        out: list[dict[str, float]] = []
        order = np.argsort(-score, kind="stable")
        for i in order[:5000]:
            if score[i] <= 0 or len(out) >= self.config.max_clusters:
                break
            zx, zy, zr = zones.cx[z[i]], zones.cy[z[i]], zones.radius[z[i]]
            if any(math.hypot(zx - o["x"], zy - o["y"]) < zr + o["radius_m"] for o in out):
                continue
            out.append(
                {
                    "x": float(zx),
                    "y": float(zy),
                    "radius_m": float(zr),
                    "days": int(w[i]) + 1,
                    "observed": int(c[i]),
                    "expected": float(zones.total[z[i]] * in_window[w[i]] / n),
                    "zone_total": int(zones.total[z[i]]),
                    "llr": float(score[i]),
                }
            )
        return out


def _draw(rng: np.random.Generator, n: int, m: int, b: int) -> np.ndarray:
    """``b`` uniform draws of ``m`` of ``n`` cases without replacement, in random order."""
    keys = rng.random((b, n))
    part = np.argpartition(keys, m - 1, axis=1)[:, :m] if m < n else np.tile(np.arange(n), (b, 1))
    # argpartition's order is not random; order the chosen by their keys, which is.
    sub = np.take_along_axis(keys, part, axis=1)
    return np.take_along_axis(part, np.argsort(sub, axis=1), axis=1)


GUMBEL_MIN_FIT = 20  # fewer replicas with any candidate cylinder: no tail fit


def gumbel_p(value: float, maxima: np.ndarray) -> float | None:
    """Upper tail of the replicas' maximum score, from a Gumbel fit (by moments).

    In a small category most replicas have no cylinder with ``min_observed`` cases at all
    (maximum 0), which a single Gumbel cannot fit; so the fit is to the replicas that have
    one, times their share. ``None`` when too few have one to fit."""
    pos = maxima[maxima > 0]
    if pos.size < GUMBEL_MIN_FIT:
        return None
    sd = float(np.std(pos))
    if sd <= 0:
        return None
    beta = sd * math.sqrt(6.0) / math.pi
    loc = float(np.mean(pos)) - EULER_GAMMA * beta
    tail = -math.expm1(-math.exp(-(value - loc) / beta))
    return float(pos.size / maxima.size * tail)


class ClusterDetector(Detector):
    """Runs the space-time permutation scan per category on the day's known events."""

    kind = "cluster"

    def __init__(self, config: ScanConfig | None = None) -> None:
        self.config = config or ScanConfig()
        self.scanner = SpaceTimePermutationScan(self.config)
        self.last: list[CategoryScan] = []  # every category's scan of the last run (for tuning)

    def run(self, events: Events, day: int) -> list[Found]:
        cfg = self.config
        # Seed from the day so that a day's result does not depend on which days ran before.
        rng = np.random.default_rng([cfg.seed, int(day) + 1_000_000])
        keep = collapse(events, cfg)
        keep &= events.day > day - cfg.study_days
        keep &= events.day <= day
        rows = np.flatnonzero(keep)
        cats = events.cat[rows]
        recent = rows[events.day[rows] > day - cfg.max_days]
        recent_per_cat = np.bincount(events.cat[recent], minlength=len(events.categories))
        wanted = None if cfg.categories is None else set(cfg.categories)
        found: list[Found] = []
        self.last = []
        order = np.argsort(cats, kind="stable")
        rows_sorted = rows[order]
        bounds = np.searchsorted(cats[order], np.arange(len(events.categories) + 1))
        for ci, name in enumerate(events.categories):
            if recent_per_cat[ci] < cfg.min_observed:
                continue
            if wanted is not None and name not in wanted:
                continue
            r = rows_sorted[bounds[ci] : bounds[ci + 1]]
            res = self.scanner.scan(events.x[r], events.y[r], events.day[r], day, rng, name)
            self.last.append(res)
            for cl in res.clusters:
                p = cl.get("p_value", 1.0)
                if p > cfg.alpha:
                    continue
                found.append(self._found(events, r, day, res, cl))
        return found

    def _found(
        self, events: Events, r: np.ndarray, day: int, res: CategoryScan, cl: dict[str, float]
    ) -> Found:
        days = int(cl["days"])
        inside = (events.day[r] > day - days) & (
            np.hypot(events.x[r] - cl["x"], events.y[r] - cl["y"]) <= cl["radius_m"]
        )
        p = float(cl["p_value"])
        return Found(
            kind=self.kind,
            category=res.category,
            detected_on=day,
            start=day - days + 1,
            end=day,
            observed=int(cl["observed"]),
            expected=float(cl["expected"]),
            p_value=p,
            score=float(cl["llr"]),
            x=float(cl["x"]),
            y=float(cl["y"]),
            radius_m=float(cl["radius_m"]),
            rows=r[inside].astype(np.int64),
            numbers={
                "llr": round(float(cl["llr"]), 3),
                "recurrence_days": None if p <= 0 else round(1.0 / p, 1),
                "replicas": res.replicas_run,
                "cases_in_study_period": res.cases,
                "cases_in_zone": int(cl["zone_total"]),
                "recent_cases": res.recent,
                "gumbel": res.gumbel_p is not None,
            },
        )


@dataclass
class ExpectationConfig(ScanConfig):
    history_days: int = 365  # baseline: each zone's daily rate before the recent window
    threshold: float = 12.0  # score (log-likelihood ratio) to report; calibrated on real data


class ExpectationScan(Detector):
    """Expectation-based Poisson scan: counts against each zone's own history.

    The baseline of a cylinder is its zone's daily count over the history before the recent
    window times the window's length (with half a case added so that a new place is not
    infinitely surprising); the score is ``c ln(c/b) + b - c``. It has no permutation null,
    so its threshold is calibrated on real data (``threshold``), as in docs/EVALUATION.md.
    """

    kind = "cluster"

    def __init__(self, config: ExpectationConfig | None = None) -> None:
        self.config = config or ExpectationConfig()

    def run(self, events: Events, day: int) -> list[Found]:
        cfg = self.config
        keep = collapse(events, cfg) & (events.day <= day)
        keep &= events.day > day - cfg.max_days - cfg.history_days
        found: list[Found] = []
        for ci, name in enumerate(events.categories):
            r = np.flatnonzero(keep & (events.cat == ci))
            offset = day - events.day[r]
            recent = np.flatnonzero(offset < cfg.max_days)
            if recent.size < cfg.min_observed:
                continue
            hist = offset >= cfg.max_days
            span = max(1, min(cfg.history_days, day - cfg.max_days + 1))
            if hist.sum() == 0:
                continue
            zones = build_zones(events.x[r], events.y[r], cfg)
            if zones.total.size == 0:
                continue
            hist_zones = build_zones(events.x[r][hist], events.y[r][hist], _loose(cfg))
            rate = _zone_rate(zones, hist_zones) / span
            _, z, w, c = _window_counts(
                zones, recent[None, :], offset[recent], cfg.max_days, cfg.min_observed
            )
            c = c.astype(np.float64)
            if z.size == 0:
                continue
            base = (rate[z] + 0.5 / span) * (w + 1)
            with np.errstate(divide="ignore"):
                score = np.where(c > base, c * np.log(c / base) + base - c, 0.0)
            i = int(np.argmax(score))
            if score[i] < cfg.threshold:
                continue
            found.append(
                Found(
                    kind=self.kind,
                    category=name,
                    detected_on=day,
                    start=day - int(w[i]),
                    end=day,
                    observed=int(c[i]),
                    expected=float(base[i]),
                    p_value=None,
                    score=float(score[i]),
                    x=float(zones.cx[z[i]]),
                    y=float(zones.cy[z[i]]),
                    radius_m=float(zones.radius[z[i]]),
                    numbers={"score": round(float(score[i]), 3), "method": "expectation"},
                )
            )
        return found


def _loose(cfg: ScanConfig) -> ScanConfig:
    return ScanConfig(max_days=cfg.max_days, radii_m=cfg.radii_m, grid_m=cfg.grid_m, min_observed=0)


def _zone_rate(zones: Zones, hist: Zones) -> np.ndarray:
    """History count of each of ``zones`` (matched by centre and radius)."""
    key = np.round(zones.cx).astype(np.int64) * 10_000_019 + np.round(zones.cy).astype(np.int64)
    key = key * 100_003 + np.round(zones.radius).astype(np.int64)
    hkey = np.round(hist.cx).astype(np.int64) * 10_000_019 + np.round(hist.cy).astype(np.int64)
    hkey = hkey * 100_003 + np.round(hist.radius).astype(np.int64)
    order = np.argsort(hkey)
    pos = np.searchsorted(hkey[order], key)
    pos = np.minimum(pos, max(0, hkey.size - 1))
    out = np.zeros(zones.total.size)
    if hkey.size:
        hit = hkey[order][pos] == key
        out[hit] = hist.total[order][pos][hit]
    return out
