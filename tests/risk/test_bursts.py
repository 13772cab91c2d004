"""The burst detector on generated streams (and one real month of Boston when the data is
there): residents' bursts are found the same day, staff batches and one person's lists are
not bursts, and a day's result does not depend on later rows."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from civitas.risk.scan.bursts import BurstDetector, inject_bursts
from civitas.risk.scan.events import Events, Found, Projection

DAY0 = date(2015, 3, 1)
PROJ = Projection(42.33, -71.07)
CITY_M = 8000.0
CALL, APP, WEB, EMPLOYEE = 0, 1, 2, 3
BURST_DAY = 60


def background(days: int = 70, seed: int = 3, rates: tuple[float, ...] = (30, 10, 5, 2)) -> Events:
    """Residents' reports (three channels, no reporter key) and some staff work, uniform over
    an 8 km square, at uniform times of day."""
    rng = np.random.default_rng(seed)
    parts = []
    for c, rate in enumerate(rates):
        n = int(rng.poisson(rate * days))
        staff = rng.random(n) < 0.15
        parts.append(
            {
                "t": rng.random(n) * days * 24.0,
                "x": (rng.random(n) - 0.5) * CITY_M,
                "y": (rng.random(n) - 0.5) * CITY_M,
                "cat": np.full(n, c),
                "source": np.where(staff, EMPLOYEE, rng.integers(0, 3, n)),
                "staff": staff,
                "reporter": np.full(n, -1),
            }
        )
    return build([*parts], categories=[f"type{i}" for i in range(len(rates))])


def build(parts: list[dict[str, np.ndarray]], categories: list[str]) -> Events:
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(cols["t"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    n = cols["t"].size
    ids = cols.get("ids", np.arange(n))
    return Events(
        day0=DAY0,
        t=cols["t"],
        day=np.floor(cols["t"] / 24.0).astype(np.int32),
        cat=cols["cat"].astype(np.int32),
        categories=categories,
        x=cols["x"].astype(np.float64),
        y=cols["y"].astype(np.float64),
        projection=PROJ,
        staff=cols["staff"].astype(bool),
        reporter=cols["reporter"].astype(np.int64),
        ids=ids.astype(np.int64),
        extra={
            "source": cols["source"].astype(np.int32),
            "address": np.full(n, -1, dtype=np.int64),
        },
    )


def add(ev: Events, **rows: np.ndarray) -> Events:
    """``ev`` plus ``rows`` (t, x, y, cat, source, staff, reporter; ids continue after ev's)."""
    n = rows["t"].size
    start = int(ev.ids.max()) + 1
    old = {
        "t": ev.t,
        "x": ev.x,
        "y": ev.y,
        "cat": ev.cat,
        "source": ev.extra["source"],
        "staff": ev.staff,
        "reporter": ev.reporter,
        "ids": ev.ids,
    }
    new = {k: np.broadcast_to(np.asarray(v), (n,)).copy() for k, v in rows.items()}
    new["ids"] = np.arange(start, start + n)
    return build([old, new], ev.categories)


def burst_rows(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    *,
    n: int = 8,
    day: int = BURST_DAY,
    hour: float = 10.0,
    cat: int = 1,
    reporters: bool = False,
) -> dict[str, np.ndarray]:
    """``n`` residents' reports spread over 2 hours and a 300 m disc, through mixed channels."""
    r = 300.0 * np.sqrt(rng.random(n))
    a = rng.random(n) * 2 * math.pi
    return {
        "t": day * 24.0 + hour + np.sort(rng.random(n)) * 2.0,
        "x": cx + r * np.cos(a),
        "y": cy + r * np.sin(a),
        "cat": np.full(n, cat),
        "source": rng.integers(0, 3, n),
        "staff": np.zeros(n, dtype=bool),
        "reporter": np.arange(1000, 1000 + n) if reporters else np.full(n, -1),
    }


def staff_batch(x: float, y: float, *, n: int = 30, cat: int = 1, hour: float = 10.5):
    """``n`` identical reports at one point within an hour, entered by staff."""
    return {
        "t": BURST_DAY * 24.0 + hour + np.linspace(0.0, 0.9, n),
        "x": np.full(n, x),
        "y": np.full(n, y),
        "cat": np.full(n, cat),
        "source": np.full(n, EMPLOYEE),
        "staff": np.ones(n, dtype=bool),
        "reporter": np.full(n, -1),
    }


def ids_of(ev: Events, f: Found) -> set[int]:
    return set(ev.ids[f.rows].tolist())


def test_the_background_alone_has_no_burst() -> None:
    ev = background()
    det = BurstDetector()
    assert [f for d in range(50, 70) for f in det.run(ev.until(d), d)] == []


def test_a_burst_of_residents_is_found_the_same_day() -> None:
    rng = np.random.default_rng(7)
    ev = add(background(), **burst_rows(rng, 1000.0, -500.0))
    planted = set(ev.ids[ev.ids >= int(ev.ids.max()) - 7].tolist())
    found = BurstDetector().run(ev.until(BURST_DAY), BURST_DAY)
    assert len(found) == 1
    f = found[0]
    assert (f.kind, f.category, f.start, f.end, f.detected_on) == (
        "burst",
        "type1",
        BURST_DAY,
        BURST_DAY,
        BURST_DAY,
    )
    # the disc is centred on the reports' mean, so one at the burst's rim may fall outside
    assert len(planted & ids_of(ev, f)) >= 7
    assert f.observed >= 7 and f.numbers["residents"] == f.observed
    assert f.numbers["staff_rows"] == 0
    assert f.numbers["distinct_points"] == f.numbers["resident_rows"] == len(f.rows)
    assert f.expected < 0.5 and f.p_value is not None and f.p_value < 1e-6
    assert f.x is not None and f.y is not None
    assert math.hypot(f.x - 1000.0, f.y + 500.0) < 300.0
    line = f.as_json(ev)
    assert line["lat"] is not None and line["radius_m"] <= 600.0
    assert line["start"] == line["end"] == line["detected_on"] == "2015-04-30"


def test_a_staff_batch_of_thirty_identical_reports_is_not_a_burst() -> None:
    ev = add(background(), **staff_batch(500.0, 500.0))
    assert BurstDetector().run(ev.until(BURST_DAY), BURST_DAY) == []


def test_the_same_batch_through_a_residents_channel_without_reporters_is_one_report() -> None:
    rows = staff_batch(500.0, 500.0) | {"source": np.full(30, CALL), "staff": np.zeros(30, bool)}
    ev = add(background(), **rows)
    assert BurstDetector().run(ev.until(BURST_DAY), BURST_DAY) == []


def test_a_staff_batch_beside_a_burst_is_counted_but_does_not_add_to_it() -> None:
    rng = np.random.default_rng(7)
    ev = add(background(), **burst_rows(rng, 1000.0, -500.0))
    burst_ids = set(ev.ids[ev.ids > int(ev.ids.max()) - 8].tolist())
    ev = add(ev, **staff_batch(1050.0, -450.0))
    batch_ids = set(ev.ids[ev.ids > int(ev.ids.max()) - 30].tolist())
    found = BurstDetector().run(ev.until(BURST_DAY), BURST_DAY)
    assert len(found) == 1
    f = found[0]
    assert 7 <= f.observed <= 8
    assert f.numbers["staff_rows"] == 30
    assert f.numbers["resident_rows"] == len(burst_ids & ids_of(ev, f)) >= 7
    assert batch_ids <= ids_of(ev, f)


def test_residents_all_calling_by_phone_without_reporter_keys_are_still_a_burst() -> None:
    rng = np.random.default_rng(7)
    rows = burst_rows(rng, 1000.0, -500.0) | {"source": np.full(8, CALL)}
    ev = add(background(), **rows)
    found = BurstDetector().run(ev.until(BURST_DAY), BURST_DAY)
    assert [f.category for f in found] == ["type1"]
    assert found[0].numbers["channels"] == 1 and found[0].numbers["known_reporters"] == 0
    assert found[0].observed >= BurstDetector().min_units_one_channel


def walk(reporters: bool) -> dict[str, np.ndarray]:
    """Twenty reports along a street, 60 m and 90 seconds apart, through one channel."""
    n = 20
    return {
        "t": BURST_DAY * 24.0 + 9.0 + np.arange(n) * 1.5 / 60.0,
        "x": -2000.0 + np.arange(n) * 60.0,
        "y": np.full(n, 1500.0),
        "cat": np.full(n, 2),
        "source": np.full(n, APP),
        "staff": np.zeros(n, dtype=bool),
        "reporter": np.arange(500, 500 + n) if reporters else np.full(n, -1),
    }


def test_one_persons_list_along_a_street_is_not_a_burst() -> None:
    ev = add(background(), **walk(reporters=False))
    assert BurstDetector().run(ev.until(BURST_DAY), BURST_DAY) == []


def test_the_same_reports_from_distinct_reporters_are_a_burst() -> None:
    ev = add(background(), **walk(reporters=True))
    found = BurstDetector().run(ev.until(BURST_DAY), BURST_DAY)
    # the street is 1.1 km long, more than one 300 m disc holds: disjoint stretches of it
    assert found and {f.category for f in found} == {"type2"}
    rows = [set(ev.ids[f.rows].tolist()) for f in found]
    assert sum(len(r) for r in rows) == len(set().union(*rows)) >= 16
    for f in found:
        assert f.observed >= 5 and f.numbers["known_reporters"] == f.observed


def test_planted_bursts_are_what_was_asked_for_and_are_found() -> None:
    ev = background(days=120)
    rng = np.random.default_rng(11)
    out, planted = inject_bursts(ev, rng, 20, size=8, radius_m=300.0, hours=2.0)
    assert len(planted) == 20 and len(out) == len(ev) + 160
    assert np.array_equal(np.sort(out.ids[out.ids >= 0]), np.sort(ev.ids))
    det = BurstDetector()
    found_by_next_day = 0
    for p in planted:
        rows = np.flatnonzero(np.isin(out.ids, p.ids))
        assert rows.size == 8 and (p.ids < 0).all()
        assert not out.staff[rows].any()
        assert np.unique(out.reporter[rows]).size == 8 and (out.reporter[rows] >= 0).all()
        assert np.unique(np.c_[out.x[rows], out.y[rows]], axis=0).shape[0] == 8
        assert (np.hypot(out.x[rows] - p.x, out.y[rows] - p.y) <= 300.0).all()
        assert out.t[rows].max() - out.t[rows].min() <= 2.0
        assert (out.cat[rows] == out.categories.index(p.category)).all()
        assert p.start >= 28 and p.end - p.start <= 1
        for d in (p.start, p.start + 1):
            fs = det.run(out.until(d), d)
            if any(f.category == p.category and len(ids_of(out, f) & set(p.ids)) >= 5 for f in fs):
                found_by_next_day += 1
                break
    assert found_by_next_day >= 18


def same(a: list[Found], b: list[Found], ev_a: Events, ev_b: Events) -> bool:
    def key(f: Found, ev: Events) -> tuple[object, ...]:
        return (f.as_json(ev), f.numbers, sorted(ev.ids[f.rows].tolist()))

    return [key(f, ev_a) for f in a] == [key(f, ev_b) for f in b]


def test_a_days_result_does_not_change_with_later_rows() -> None:
    rng = np.random.default_rng(5)
    ev = add(background(), **burst_rows(rng, 1000.0, -500.0, hour=21.5))
    det = BurstDetector()
    today = det.run(ev.until(BURST_DAY), BURST_DAY)
    assert len(today) == 1
    # more reports of the same burst after midnight, and a staff batch the next morning
    later = add(ev, **burst_rows(rng, 1000.0, -500.0, day=BURST_DAY + 1, hour=0.1))
    later = add(later, **staff_batch(1000.0, -500.0) | {"t": (BURST_DAY + 1) * 24.0 + np.ones(30)})
    assert same(today, det.run(later.until(BURST_DAY), BURST_DAY), ev, later)
    assert same(today, det.run(later, BURST_DAY), ev, later)


def test_one_month_of_boston_gives_few_bursts(shared_data: Path) -> None:
    from civitas.risk.scan.csvinput import read_events

    ev = read_events(shared_data / "boston" / "requests_2015_jan_oct.csv.gz", quiet=True)
    det = BurstDetector()
    first, last = ev.day_of(date(2015, 8, 1)), ev.day_of(date(2015, 8, 31))
    found = [f for d in range(first, last + 1) for f in det.run(ev.until(d), d)]
    # measured: two in August 2015, eight from March to October (docs/EVALUATION.md)
    assert len(found) <= 3
    for f in found:
        assert not ev.staff[f.rows[: f.numbers["resident_rows"]]].any()
        assert f.observed >= det.min_units
    # the month holds staff batches of 20 and more identical reports, none of them an alert
    staff = ev.take(ev.staff & (ev.day >= first) & (ev.day <= last) & ev.located)
    _, sizes = np.unique(np.c_[staff.day, staff.cat, staff.x, staff.y], axis=0, return_counts=True)
    assert sizes.max() >= 20


@pytest.mark.parametrize("radius", [150.0, 300.0])
def test_bursts_are_found_at_their_own_radius(radius: float) -> None:
    rng = np.random.default_rng(2)
    rows = burst_rows(rng, -1500.0, 2000.0, cat=0)
    rows["x"] = -1500.0 + (rows["x"] + 1500.0) * radius / 300.0
    rows["y"] = 2000.0 + (rows["y"] - 2000.0) * radius / 300.0
    ev = add(background(), **rows)
    found = BurstDetector().run(ev.until(BURST_DAY), BURST_DAY)
    assert [f.category for f in found] == ["type0"]
    assert found[0].radius_m is not None and found[0].radius_m <= 300.0
