"""The space-time permutation scan on generated data: planted clusters found, clean data
quiet, p-values sane, the counting checked against a brute-force count."""

from __future__ import annotations

import math

import numpy as np
import pytest

from civitas.risk.scan import stp
from civitas.risk.scan.stp import (
    ClusterDetector,
    ExpectationConfig,
    ExpectationScan,
    ScanConfig,
    SpaceTimePermutationScan,
    build_zones,
    collapse,
    gumbel_p,
)
from tests.risk.scan_data import stream

FAST = {"replicas": 199, "alpha": 0.01}


def test_planted_cluster_found_at_its_place_and_days() -> None:
    ev = stream(clusters=((0, 1500.0, -1200.0, 100, 4, 300.0),))
    det = ClusterDetector(ScanConfig(**FAST))
    found = det.run(ev.until(102), 102)
    hits = [f for f in found if f.category == "type0"]
    assert hits, found
    best = hits[0]
    assert math.hypot(best.x - 1500.0, best.y + 1200.0) < 300.0 + best.radius_m
    assert 100 <= best.start <= 102 and best.end == 102
    assert best.observed >= 10
    assert best.p_value is not None and best.p_value <= 0.01
    assert best.observed > best.expected
    # The rows behind it are mostly the planted ones (days 100..102, near the centre).
    assert best.rows.size >= 10
    assert (ev.day[best.rows] >= 100).all()
    assert best.numbers["recurrence_days"] >= 100


def test_clean_data_is_quiet() -> None:
    ev = stream(seed=3)
    det = ClusterDetector(ScanConfig(**FAST))
    alerts = sum(len(det.run(ev.until(d), d)) for d in range(90, 110))
    # 20 days x 2 categories at alpha 0.01: about 0.4 expected by chance.
    assert alerts <= 2


def test_prospective_same_result_with_or_without_later_rows() -> None:
    ev = stream(clusters=((1, -800.0, 900.0, 60, 4, 250.0),), seed=5)
    det = ClusterDetector(ScanConfig(**FAST))
    a = det.run(ev.until(61), 61)
    b = det.run(ev, 61)  # later rows present, including the cluster's last day
    assert [f.as_json(ev) for f in a] == [f.as_json(ev) for f in b]
    assert [f.rows.tolist() for f in a] == [f.rows.tolist() for f in b]


def test_p_values_are_uniform_ish_under_the_null() -> None:
    scanner = SpaceTimePermutationScan(
        ScanConfig(replicas=99, min_observed=2, radii_m=(500.0, 1000.0), grid_m=500.0)
    )
    rng = np.random.default_rng(11)
    ps = []
    for i in range(60):
        g = np.random.default_rng(1000 + i)
        n = 300
        day = np.sort(g.integers(0, 60, n))
        x = (g.random(n) - 0.5) * 6000
        y = (g.random(n) - 0.5) * 6000
        res = scanner.scan(x, y, day, 59, rng)
        ps.append(res.p_value)
    ps_arr = np.array(ps)
    assert (ps_arr <= 0.05).mean() <= 0.15
    assert (ps_arr <= 0.5).mean() >= 0.25
    assert 0.3 <= ps_arr.mean() <= 0.75


def test_sequential_monte_carlo_stops_early_on_insignificant_scans() -> None:
    ev = stream(seed=4)
    det = ClusterDetector(ScanConfig(replicas=999))
    det.run(ev.until(100), 100)
    assert det.last
    quiet = [r for r in det.last if r.p_value > 0.2]
    assert quiet and all(r.replicas_run < 999 for r in quiet)


def test_counts_and_statistic_match_a_brute_force_count() -> None:
    cfg = ScanConfig(min_observed=2, radii_m=(400.0, 900.0), grid_m=400.0, max_days=3)
    g = np.random.default_rng(2)
    n = 150
    x = (g.random(n) - 0.5) * 3000
    y = (g.random(n) - 0.5) * 3000
    day = np.sort(g.integers(0, 30, n))
    zones = build_zones(x, y, cfg)
    # Brute force over every occupied cell centre and radius.
    cells = np.unique(np.stack([np.floor(x / 400.0), np.floor(y / 400.0)], 1), axis=0)
    best = 0.0
    offset = 29 - day
    for cx, cy in (cells + 0.5) * 400.0:
        for r in (400.0, 900.0):
            inside = np.hypot(x - cx, y - cy) <= r
            cz = inside.sum()
            if cz < cfg.min_observed:
                continue
            for w in range(3):
                c = (inside & (offset <= w)).sum()
                cw = (offset <= w).sum()
                mu = cz * cw / n
                if c >= cfg.min_observed and c > mu:
                    llr = c * math.log(c / mu) + (n - c) * math.log((n - c) / (n - mu))
                    best = max(best, llr)
    assert zones.total.min() >= cfg.min_observed
    res = SpaceTimePermutationScan(cfg).scan(x, y, day, 29, np.random.default_rng(0))
    assert res.llr == pytest.approx(best, rel=1e-9)


def test_dense_and_sparse_counting_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = ScanConfig(min_observed=2)
    g = np.random.default_rng(9)
    x = (g.random(400) - 0.5) * 5000
    y = (g.random(400) - 0.5) * 5000
    zones = build_zones(x, y, cfg)
    draws = stp._draw(g, 400, 30, 12)
    offs = g.integers(0, 7, 30)
    dense = stp._window_counts(zones, draws, offs, 7, 2)
    monkeypatch.setattr(stp, "DENSE_CELLS", 0)
    sparse = stp._window_counts(zones, draws, offs, 7, 2)

    def best(res: tuple[np.ndarray, ...]) -> dict[tuple[int, int], int]:
        out: dict[tuple[int, int], int] = {}
        for b, z, _w, c in zip(*res, strict=True):
            out[(int(b), int(z))] = max(out.get((int(b), int(z)), 0), int(c))
        return out

    assert best(dense) == best(sparse)
    assert len(best(dense)) > 0


def test_gumbel_tail() -> None:
    g = np.random.default_rng(1)
    maxima = g.gumbel(5.0, 2.0, 5000)
    assert gumbel_p(5.0 + 2.0 * 4.6, maxima) == pytest.approx(0.01, rel=0.15)
    tails = [gumbel_p(v, maxima) for v in (30.0, 20.0, 10.0)]
    assert None not in tails and tails[0] < tails[1] < tails[2]  # type: ignore[operator]
    # Mostly empty replicas: the fit is to the rest, scaled by their share; too few, no fit.
    sparse = np.concatenate([np.zeros(45_000), maxima])
    assert gumbel_p(5.0 + 2.0 * 4.6, sparse) == pytest.approx(0.001, rel=0.15)
    assert gumbel_p(12.0, np.r_[np.zeros(990), maxima[:9]]) is None


def test_staff_batches_and_repeats_at_one_point_collapse() -> None:
    ev = stream(days=10, per_day=(1.0,), seed=2)
    # Twenty staff rows at one point within half an hour, and three residents at another.
    n = len(ev)
    ev.t = np.concatenate([ev.t, 5 * 24 + 9 + np.linspace(0, 0.5, 20), [5 * 24 + 10.0] * 3])
    ev.day = np.floor(ev.t / 24).astype(np.int32)
    ev.cat = np.concatenate([ev.cat, np.zeros(23, dtype=np.int32)])
    ev.x = np.concatenate([ev.x, [100.0] * 20, [900.0] * 3])
    ev.y = np.concatenate([ev.y, [100.0] * 20, [900.0] * 3])
    ev.staff = np.concatenate([ev.staff, [True] * 20, [False] * 3])
    ev.reporter = np.full(n + 23, -1)
    ev.ids = np.arange(n + 23)
    keep = collapse(
        ev, ScanConfig(residents_only=False, distinct_points_per_day=False, sitting_minutes=0)
    )
    assert keep[n : n + 20].sum() == 1
    assert keep[n + 20 :].sum() == 3
    keep = collapse(ev, ScanConfig())
    assert keep[n : n + 20].sum() == 0  # staff work is not residents' appeals
    assert keep[n + 20 :].sum() == 1


def test_one_sitting_counts_once_but_separate_residents_do_not() -> None:
    ev = stream(days=10, per_day=(0.5,), seed=2)
    n = len(ev)
    # One person walking a street: a report every two minutes, 40 m apart.
    walk_t = 5 * 24 + 13 + np.arange(10) * 2 / 60
    # Eight residents over two days at different hours, 100 m apart.
    apart_t = 5 * 24 + np.arange(8) * 6.0
    ev.t = np.concatenate([ev.t, walk_t, apart_t])
    order = np.argsort(ev.t, kind="stable")
    ev.t = ev.t[order]
    ev.day = np.floor(ev.t / 24).astype(np.int32)
    ev.cat = np.zeros(n + 18, dtype=np.int32)
    ev.x = np.concatenate([ev.x, np.arange(10) * 40.0, 2000 + np.arange(8) * 100.0])[order]
    ev.y = np.concatenate([ev.y, np.zeros(10), np.zeros(8)])[order]
    ev.staff = np.zeros(n + 18, dtype=bool)
    ev.reporter = np.full(n + 18, -1)
    ev.ids = np.concatenate([np.arange(n), 1000 + np.arange(10), 2000 + np.arange(8)])[order]
    keep = collapse(ev, ScanConfig())
    assert keep[(ev.ids >= 1000) & (ev.ids < 2000)].sum() == 1
    assert keep[ev.ids >= 2000].sum() == 8


def test_expectation_scan_finds_a_planted_cluster() -> None:
    ev = stream(clusters=((0, 500.0, 500.0, 100, 4, 300.0),), seed=6)
    found = ExpectationScan(ExpectationConfig(threshold=10.0)).run(ev.until(102), 102)
    assert any(
        f.category == "type0" and math.hypot(f.x - 500.0, f.y - 500.0) < 300 + f.radius_m
        for f in found
    )
    quiet = ExpectationScan(ExpectationConfig(threshold=10.0)).run(ev.until(90), 90)
    assert quiet == []
