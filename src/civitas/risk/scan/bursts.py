"""Bursts: many residents reporting the same thing within hours, caught the same day.

A burst water main, a fire or a crowd gathering makes several *independent* residents report
one category at nearby places within an hour or two. Real streams also hold look-alikes that
are not emergencies, and the detector must not take them for one:

- **staff batches**: staff and field workers enter finished work in batches (in Boston 2015,
  708 runs of 3+ identical "Employee Generated" rows at one point within an hour, up to 63
  rows). Staff rows never count towards a burst; they are only reported beside one.
- **one person's sequence**: a resident (or a call-taker working through a list) files one
  report per house along a street, a minute or two apart, all through one channel. Without a
  reporter key these look like many residents. Rows of one channel that follow each other
  within ``chain_gap_min`` minutes and ``chain_step_m`` metres, or that repeat the same point
  or address within an hour, are merged into one *report unit*. When the reporter is known
  (the live system), one reporter is one unit whatever the channel. A cluster whose units all
  come through one channel with no reporter known needs ``min_units_one_channel`` units, and
  ``min_units_list`` when more than ``list_merged_share`` of its rows had to be merged.

The statistic counts report units of one category inside a disc of ``radius_m`` and a sliding
window of ``window_h`` hours ending at each of the day's resident reports, and compares it with
what the category's own history (the ``history_days`` before the day, within the same disc, in
the same hours of the day) leads one to expect: a Poisson tail probability. A burst fires when
it has at least ``min_units`` units at ``min_points`` distinct points and ``p <= alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import poisson

from civitas.risk.scan.events import Events, Found, Planted

__all__ = ["BurstDetector", "inject_bursts", "report_units"]

SAME_POINT_M = 1.0


# One channel's entries at most this many minutes and metres apart are one person's list of
# places, counted as one report (surges use the same rule).
CHAIN_GAP_MIN = 5.0
CHAIN_STEP_M = 150.0


def _channel(events: Events) -> np.ndarray:
    """The entry channel of each row: the ``source`` code when the input has one."""
    source = events.extra.get("source")
    if isinstance(source, np.ndarray) and source.shape[0] == len(events):
        return source.astype(np.int64)
    return events.staff.astype(np.int64)


def _address(events: Events) -> np.ndarray:
    address = events.extra.get("address")
    if isinstance(address, np.ndarray) and address.shape[0] == len(events):
        return address.astype(np.int64)
    return np.full(len(events), -1, dtype=np.int64)


def report_units(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    channel: np.ndarray,
    reporter: np.ndarray,
    address: np.ndarray,
    chain_gap_h: float,
    chain_step_m: float,
    repeat_h: float = 1.0,
) -> np.ndarray:
    """Give each row (sorted by ``t``) the id of the independent report it belongs to.

    A known reporter is one unit. Rows without a reporter join the unit of an earlier row of the
    same channel when they repeat its point or address within ``repeat_h`` hours, or follow the
    channel's previous row within ``chain_gap_h`` hours and ``chain_step_m`` metres (one person
    entering a sequence).
    """
    n = t.shape[0]
    unit = np.arange(n, dtype=np.int64)
    by_reporter: dict[int, int] = {}
    last_of_channel: dict[int, int] = {}
    for j in range(n):
        rep = int(reporter[j])
        if rep >= 0:
            first = by_reporter.setdefault(rep, j)
            unit[j] = unit[first]
            continue
        ch = int(channel[j])
        prev = last_of_channel.get(ch)
        last_of_channel[ch] = j
        if (
            prev is not None
            and t[j] - t[prev] <= chain_gap_h
            and math.hypot(x[j] - x[prev], y[j] - y[prev]) <= chain_step_m
        ):
            unit[j] = unit[prev]
            continue
        # a repeat of the same point or address through the same channel within the hour
        earlier = np.arange(j)
        near = earlier[
            (reporter[:j] < 0)
            & (channel[:j] == ch)
            & (t[:j] >= t[j] - repeat_h)
            & (
                (np.abs(x[:j] - x[j]) + np.abs(y[:j] - y[j]) < SAME_POINT_M)
                | ((address[:j] == address[j]) & (address[j] >= 0))
            )
        ]
        if near.size:
            unit[j] = unit[near[0]]
    return unit


@dataclass
class BurstDetector:
    """Same-day bursts of independent residents' reports of one category at one place."""

    kind: str = "burst"
    radius_m: float = 300.0
    window_h: float = 2.0
    min_units: int = 5
    min_points: int = 3
    alpha: float = 1e-4
    history_days: int = 56
    chain_gap_min: float = CHAIN_GAP_MIN
    chain_step_m: float = CHAIN_STEP_M
    repeat_h: float = 1.0
    min_units_one_channel: int = 6
    min_units_list: int = 8
    list_merged_share: float = 0.25

    def run(self, events: Events, day: int) -> list[Found]:
        n_known = int(np.searchsorted(events.day, day, side="right"))
        t_lo = day * 24.0 - self.window_h
        i0 = int(np.searchsorted(events.t[:n_known], t_lo, side="left"))
        idx = np.arange(i0, n_known)
        idx = idx[~np.isnan(events.x[idx])]
        if idx.size == 0:
            return []
        resident_today = idx[~events.staff[idx] & (events.day[idx] == day)]
        if resident_today.size < self.min_units:
            return []
        cats, counts = np.unique(events.cat[resident_today], return_counts=True)
        channel = _channel(events)
        address = _address(events)
        history = self._history(events, day)
        found: list[Found] = []
        for c in cats[counts >= 1]:
            rows = idx[events.cat[idx] == c]
            res = rows[~events.staff[rows]]
            if res.size < self.min_units:
                continue
            found.extend(self._category(events, day, int(c), rows, res, channel, address, history))
        return found

    def _history(self, events: Events, day: int) -> np.ndarray:
        lo = int(np.searchsorted(events.day, day - self.history_days, side="left"))
        hi = int(np.searchsorted(events.day, day, side="left"))
        h = np.arange(lo, hi)
        return h[~events.staff[h] & ~np.isnan(events.x[h])]

    def _category(
        self,
        events: Events,
        day: int,
        c: int,
        rows: np.ndarray,
        res: np.ndarray,
        channel: np.ndarray,
        address: np.ndarray,
        history: np.ndarray,
    ) -> list[Found]:
        t, x, y = events.t[res], events.x[res], events.y[res]
        unit = report_units(
            t,
            x,
            y,
            channel[res],
            events.reporter[res],
            address[res],
            self.chain_gap_min / 60.0,
            self.chain_step_m,
            self.repeat_h,
        )
        r2 = self.radius_m**2
        anchors = np.flatnonzero(events.day[res] == day)
        candidates: list[tuple[float, int, np.ndarray, float, float, float]] = []
        seen: set[bytes] = set()
        for a in anchors:
            in_time = (t <= t[a]) & (t >= t[a] - self.window_h)
            if np.unique(unit[in_time]).size < self.min_units:
                continue
            # two mean-shift steps from the report: a disc around one report of a burst
            # spread evenly around its source misses half of it
            cx, cy = float(x[a]), float(y[a])
            members = in_time & ((x - cx) ** 2 + (y - cy) ** 2 <= r2)
            best = int(np.unique(unit[members]).size)
            for _ in range(2):
                mx, my = float(x[members].mean()), float(y[members].mean())
                shifted = in_time & ((x - mx) ** 2 + (y - my) ** 2 <= r2)
                count = int(np.unique(unit[shifted]).size)
                if count < best:
                    break
                members, best, cx, cy = shifted, count, mx, my
            key = np.flatnonzero(members).tobytes()
            if key in seen:
                continue
            seen.add(key)
            n_units = int(np.unique(unit[members]).size)
            points = np.unique(np.round(np.c_[x[members], y[members]]), axis=0).shape[0]
            if n_units < self.min_units or points < self.min_points:
                continue
            if n_units < self._needed(
                channel[res[members]], events.reporter[res[members]], n_units
            ):
                continue
            expected = self._expected(events, c, history, cx, cy, float(t[a]))
            p = float(poisson.sf(n_units - 1, expected))
            if p <= self.alpha:
                candidates.append((p, n_units, np.flatnonzero(members), cx, cy, expected))
        out: list[Found] = []
        taken: set[int] = set()
        for p, n_units, members, cx, cy, expected in sorted(
            candidates, key=lambda z: (z[0], -z[1])
        ):
            units_here = set(unit[members].tolist())
            if units_here & taken:
                continue  # a neighbouring disc of a burst already reported
            taken |= units_here
            out.append(
                self._found(events, day, c, rows, res, members, n_units, p, expected, cx, cy)
            )
        return out

    def _needed(self, channel: np.ndarray, reporter: np.ndarray, n_units: int) -> int:
        """Units a cluster needs. All through one channel with no reporter known, it may be one
        person's list: more units, and more still when the sequence rule already had to fold
        many of its rows together (the mark of a list being typed in)."""
        if not (reporter < 0).all() or np.unique(channel).size > 1:
            return self.min_units
        if reporter.size - n_units > self.list_merged_share * reporter.size:
            return max(self.min_units, self.min_units_list)
        return max(self.min_units, self.min_units_one_channel)

    def _expected(
        self, events: Events, c: int, history: np.ndarray, cx: float, cy: float, t_end: float
    ) -> float:
        """Units expected in the disc and window from the category's own recent history."""
        h = history[events.cat[history] == c]
        hours = np.mod(events.t[h], 24.0)
        end = t_end % 24.0
        start = end - self.window_h
        if start >= 0:
            in_hours = (hours > start) & (hours <= end)
        else:
            in_hours = (hours > start + 24.0) | (hours <= end)
        # the share of the category's reports that fall in these hours of the day, city-wide,
        # with one pseudo-day spread evenly so a thin history does not give a zero share
        share = (float(in_hours.sum()) + self.window_h / 24.0) / (h.size + 1.0)
        near = (events.x[h] - cx) ** 2 + (events.y[h] - cy) ** 2 <= self.radius_m**2
        per_day = (float(near.sum()) + 0.5) / self.history_days
        return per_day * share

    def _found(
        self,
        events: Events,
        day: int,
        c: int,
        rows: np.ndarray,
        res: np.ndarray,
        members: np.ndarray,
        n_units: int,
        p: float,
        expected: float,
        cx: float,
        cy: float,
    ) -> Found:
        mrows = res[members]
        t0, t1 = float(events.t[mrows].min()), float(events.t[mrows].max())
        staff_rows = rows[events.staff[rows]]
        near_staff = staff_rows[
            (events.t[staff_rows] >= t0 - 1.0)
            & (events.t[staff_rows] <= t1 + 1.0)
            & (
                (events.x[staff_rows] - cx) ** 2 + (events.y[staff_rows] - cy) ** 2
                <= self.radius_m**2
            )
        ]
        dist = np.hypot(events.x[mrows] - cx, events.y[mrows] - cy)
        reporters = events.reporter[mrows]
        points = np.unique(np.round(np.c_[events.x[mrows], events.y[mrows]]), axis=0).shape[0]
        numbers: dict[str, Any] = {
            "residents": n_units,
            "resident_rows": int(mrows.size),
            "merged_rows": int(mrows.size - n_units),
            "staff_rows": int(near_staff.size),
            "distinct_points": int(points),
            "known_reporters": int(np.unique(reporters[reporters >= 0]).size),
            "channels": int(np.unique(_channel(events)[mrows]).size),
            "hours_span": round(t1 - t0, 2),
            "first_hour": round(t0 - day * 24.0, 2),
            "last_hour": round(t1 - day * 24.0, 2),
        }
        return Found(
            kind=self.kind,
            category=events.categories[c],
            detected_on=day,
            start=day,
            end=day,
            observed=n_units,
            expected=expected,
            p_value=p,
            score=-math.log10(max(p, 1e-300)),
            x=cx,
            y=cy,
            radius_m=float(max(dist.max(), 50.0)),
            rows=np.concatenate([mrows, near_staff]).astype(np.int64),
            numbers=numbers,
        )


def inject_bursts(
    events: Events,
    rng: np.random.Generator,
    n: int,
    size: int = 8,
    radius_m: float = 300.0,
    hours: float = 2.0,
) -> tuple[Events, list[Planted]]:
    """Plant ``n`` bursts of ``size`` residents' reports into real background.

    The rule: each burst takes the category and the place of a located resident report drawn
    at random from the stream (so busy categories and places are chosen as often as they are
    busy), on a day at least 28 days into the stream; it starts at a uniform time between
    07:00 and 20:00 of that report's day and spreads its reports uniformly over ``hours``
    hours and uniformly over a disc of ``radius_m`` around the place. Each report comes
    through a resident channel drawn from the real resident rows of that category, from a
    reporter of its own, at a point of its own. Planted rows get negative ids, reporter keys
    above every real one and unknown addresses.
    """
    located = np.flatnonzero(~events.staff & events.located & (events.day >= 28))
    if located.size == 0:
        raise ValueError("no located resident reports after the first 28 days to plant bursts near")
    channel = _channel(events)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "x", "y", "cat", "ch", "area")}
    planted: list[Planted] = []
    next_id = -1
    if events.ids.size and events.ids.min() < 0:
        next_id = int(events.ids.min()) - 1
    next_reporter = int(events.reporter.max()) + 1 if len(events) else 0
    for _ in range(n):
        seed_row = int(rng.choice(located))
        c = int(events.cat[seed_row])
        day = int(events.day[seed_row])
        start = day * 24.0 + rng.uniform(7.0, 20.0)
        t = np.sort(start + rng.uniform(0.0, hours, size))
        rad = radius_m * np.sqrt(rng.uniform(0.0, 1.0, size))
        ang = rng.uniform(0.0, 2 * math.pi, size)
        x = events.x[seed_row] + rad * np.cos(ang)
        y = events.y[seed_row] + rad * np.sin(ang)
        same = np.flatnonzero(~events.staff & (events.cat == c))
        chans = channel[same] if same.size else channel[located]
        parts["t"].append(t)
        parts["x"].append(x)
        parts["y"].append(y)
        parts["cat"].append(np.full(size, c, dtype=np.int64))
        parts["ch"].append(rng.choice(chans, size))
        if events.area is not None:
            parts["area"].append(np.full(size, events.area[seed_row], dtype=events.area.dtype))
        ids = np.arange(next_id, next_id - size, -1, dtype=np.int64)
        next_id -= size
        planted.append(
            Planted(
                kind="burst",
                category=events.categories[c],
                x=float(events.x[seed_row]),
                y=float(events.y[seed_row]),
                radius_m=radius_m,
                start=math.floor(t[0] / 24.0),
                end=math.floor(t[-1] / 24.0),
                size=size,
                ids=ids,
            )
        )
    if not planted:
        return events, planted
    new_ids = np.concatenate([p.ids for p in planted])
    new_t = np.concatenate(parts["t"])
    m = new_t.shape[0]
    extra: dict[str, Any] = {}
    for key, value in events.extra.items():
        if not isinstance(value, np.ndarray) or value.shape[0] != len(events):
            extra[key] = value
            continue
        if key == "source":
            add = np.concatenate(parts["ch"]).astype(value.dtype)
        elif np.issubdtype(value.dtype, np.integer):
            add = np.full(m, -1, dtype=value.dtype)
        elif np.issubdtype(value.dtype, np.floating):
            add = np.full(m, np.nan, dtype=value.dtype)
        else:
            add = np.full(m, None, dtype=value.dtype)
        extra[key] = np.concatenate([value, add])
    t_all = np.concatenate([events.t, new_t])
    order = np.argsort(t_all, kind="stable")
    area = None
    if events.area is not None:
        area = np.concatenate([events.area, np.concatenate(parts["area"])])[order]
    merged = Events(
        day0=events.day0,
        t=t_all[order],
        day=np.floor(t_all / 24.0).astype(events.day.dtype)[order],
        cat=np.concatenate([events.cat, np.concatenate(parts["cat"]).astype(events.cat.dtype)])[
            order
        ],
        categories=events.categories,
        x=np.concatenate([events.x, np.concatenate(parts["x"])])[order],
        y=np.concatenate([events.y, np.concatenate(parts["y"])])[order],
        projection=events.projection,
        staff=np.concatenate([events.staff, np.zeros(m, dtype=bool)])[order],
        reporter=np.concatenate(
            [
                events.reporter,
                np.arange(next_reporter, next_reporter + m, dtype=events.reporter.dtype),
            ]
        )[order],
        ids=np.concatenate([events.ids, new_ids.astype(events.ids.dtype)])[order],
        area=area,
        areas=events.areas,
        extra={k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in extra.items()},
    )
    return merged, planted
