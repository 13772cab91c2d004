"""Detectors that only make sense on the live appeals: group appeals, repeat appellants, and
the spread of a matter across district boundaries.

- :class:`GroupDetector`: many distinct residents on one issue and place. Appeals are joined
  when the duplicate finder linked them (``duplicate_of``, or its candidate) or when they share
  the matter and the place (the community they were located in) within ``window_days``;
  a group of at least ``min_residents`` distinct residents (staff entries do not count, nor
  does one resident calling five times) is found on a day it grows, when that many is
  unusual for the place: a Poisson tail probability at most ``alpha`` against the mean of the
  ``baseline_weeks`` windows before (a busy place where the matter comes up every week is not
  a group appeal for reaching five).
- :class:`RepeatDetector`: one resident whose appeals multiply (at least ``min_appeals`` in
  ``window_days``, over at least two weeks), or whose words escalate (a new appeal mentions
  petitioning higher up, the media, a lawyer, or harm, after earlier appeals that did not).
- :func:`find_spread`: one matter with alerts (clusters, bursts, surges, groups) in at least
  two districts within ``SPREAD_DAYS`` days: a SPREAD alert naming the districts.

Group and repeat detectors implement ``scan.events.Detector`` over the columns of
``civitas.risk.detectors`` (``extra["place"]``, ``extra["dup"]``) and see only
``events.until(day)``. The duplicate links are those known when the detector runs: a link a
dispatcher made later than ``day`` is used by a re-run for that day (live runs are for today).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy.stats import poisson

from civitas.risk.scan.events import Detector, Events, Found

TextsOf = Callable[[list[int]], dict[int, str]]


def _texts_from_db(ids: list[int]) -> dict[int, str]:
    from civitas.appeals.models import Appeal

    rows = Appeal.objects.filter(pk__in=ids).values_list("pk", "title", "text")
    return {pk: f"{title}\n{text}" for pk, title, text in rows}


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _centre(events: Events, rows: np.ndarray) -> tuple[float | None, float | None, float | None]:
    located = rows[~np.isnan(events.x[rows])]
    if not len(located):
        return None, None, None
    x, y = float(events.x[located].mean()), float(events.y[located].mean())
    r = float(np.hypot(events.x[located] - x, events.y[located] - y).max())
    return x, y, max(r, 50.0)


def _area(events: Events, rows: np.ndarray) -> str | None:
    if events.area is None:
        return None
    codes = [int(a) for a in events.area[rows] if a >= 0]
    if not codes:
        return None
    return events.areas[Counter(codes).most_common(1)[0][0]]


class GroupDetector(Detector):
    kind = "group"

    def __init__(
        self,
        window_days: int = 7,
        min_residents: int = 5,
        baseline_weeks: int = 8,
        alpha: float = 1e-3,
    ) -> None:
        self.window_days = window_days
        self.min_residents = min_residents
        self.baseline_weeks = baseline_weeks
        self.alpha = alpha

    def _expected(self, known: Events, place: np.ndarray, cat: int, where: int, day: int) -> float:
        """Residents' appeals one window of this matter at this place usually brings: the mean
        over the ``baseline_weeks`` windows before this one (a place where the matter is
        reported every week is not a group appeal for reaching five)."""
        if where < 0:
            return 0.0
        end = day - self.window_days
        start = end - self.baseline_weeks * self.window_days
        before = (
            (known.day > start)
            & (known.day <= end)
            & (known.cat == cat)
            & (place == where)
            & ~known.staff
        )
        return float(before.sum()) / self.baseline_weeks

    def run(self, events: Events, day: int) -> list[Found]:
        known = events.until(day)
        in_window = (known.day > day - self.window_days) & ~known.staff
        blank = known.categories.index("") if "" in known.categories else -1
        in_window &= known.cat != blank
        rows = np.flatnonzero(in_window)
        if len(rows) < self.min_residents:
            return []
        place = known.extra.get("place", np.full(len(known), -1, dtype=np.int64))
        dup = known.extra.get("dup", np.full(len(known), -1, dtype=np.int64))
        union = _Union(len(rows))
        first_of: dict[tuple[int, int], int] = {}
        position = {int(known.ids[r]): i for i, r in enumerate(rows)}
        for i, r in enumerate(rows):
            if place[r] >= 0:
                key = (int(known.cat[r]), int(place[r]))
                if key in first_of:
                    union.join(first_of[key], i)
                else:
                    first_of[key] = i
            other = position.get(int(dup[r]))
            if other is not None:
                union.join(other, i)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            groups[union.find(i)].append(int(r))
        out = []
        for members in groups.values():
            idx = np.array(members, dtype=np.int64)
            if not (known.day[idx] == day).any():
                continue  # the group did not grow today
            reporters = {int(p) for p in known.reporter[idx] if p >= 0}
            if len(reporters) < self.min_residents:
                continue
            cat = Counter(int(c) for c in known.cat[idx]).most_common(1)[0][0]
            places = Counter(int(p) for p in place[idx] if p >= 0)
            top_place = places.most_common(1)[0][0] if places else -1
            expected = self._expected(known, place, cat, top_place, day)
            p_value = float(poisson.sf(len(reporters) - 1, max(expected, 0.1)))
            if p_value > self.alpha:
                continue  # as many as this place usually reports
            x, y, radius = _centre(known, idx)
            linked = int(sum(1 for r in idx if int(dup[r]) in position))
            out.append(
                Found(
                    kind=self.kind,
                    category=known.categories[cat],
                    detected_on=day,
                    start=int(known.day[idx].min()),
                    end=day,
                    observed=len(reporters),
                    expected=round(expected, 3),
                    p_value=p_value,
                    score=float(len(reporters)),
                    x=x,
                    y=y,
                    radius_m=radius,
                    area=_area(known, idx),
                    rows=idx,
                    numbers={
                        "residents": len(reporters),
                        "appeals": len(idx),
                        "threshold": self.min_residents,
                        "window_days": self.window_days,
                        "usual_per_window": round(expected, 3),
                        "baseline_weeks": self.baseline_weeks,
                        "duplicates_linked": linked,
                        "place": top_place,
                        "dedup": f"p{top_place}" if top_place >= 0 else None,
                    },
                )
            )
        return out


# Words that say a resident is escalating: going higher up, to the media or to court, or
# losing patience. Harm words (civitas.risk.harm) count too.
ESCALATION = re.compile(
    r"上访|信访|越级|到省里|去省里|省政府|进京|去北京|到北京|中央|找媒体|媒体|曝光|记者|电视台|"
    r"发到网上|网上发|微博|抖音|起诉|律师|打官司|讨个说法|忍无可忍|绝不罢休|后果自负|最后一次|"
    r"(?<![A-Za-z])(petition|the media|the press|newspaper|journalist|reporter|lawyer|sue|court|"
    r"had enough|last time|last warning|consequences|go public)(?![A-Za-z])",
    re.IGNORECASE,
)


def escalation_terms(text: str) -> list[str]:
    from civitas.risk import harm

    terms = [m.group(0) for m in ESCALATION.finditer(text or "")]
    found = harm.assess(text or "")
    if found is not None:
        terms += [h.term for h in found.hits]
    return terms


class RepeatDetector(Detector):
    kind = "repeat"
    with_unclassified = True  # a person's appeals count whether or not they were classified

    def __init__(
        self,
        window_days: int = 28,
        min_appeals: int = 4,
        escalation_days: int = 60,
        texts: TextsOf | None = None,
    ) -> None:
        self.window_days = window_days
        self.min_appeals = min_appeals
        self.escalation_days = escalation_days
        self.texts = texts or _texts_from_db

    def run(self, events: Events, day: int) -> list[Found]:
        known = events.until(day)
        resident = ~known.staff & (known.reporter >= 0)
        today = np.flatnonzero(resident & (known.day == day))
        if not len(today):
            return []
        out = []
        for who in sorted({int(p) for p in known.reporter[today]}):
            mine = np.flatnonzero(resident & (known.reporter == who))
            recent = mine[known.day[mine] > day - self.window_days]
            weeks = {int(d) // 7 for d in (day - known.day[recent])}
            earlier = mine[(known.day[mine] > day - self.escalation_days) & (known.day[mine] < day)]
            multiplies = len(recent) >= self.min_appeals and len(weeks) >= 2
            escalation: list[str] = []
            if len(earlier):
                new_today = mine[known.day[mine] == day]
                ids = [int(known.ids[r]) for r in np.concatenate([earlier, new_today])]
                texts = self.texts(ids)
                before = {
                    t for r in earlier for t in escalation_terms(texts.get(int(known.ids[r]), ""))
                }
                now_terms = [
                    t for r in new_today for t in escalation_terms(texts.get(int(known.ids[r]), ""))
                ]
                escalation = sorted({t for t in now_terms if t not in before})
            if not multiplies and not escalation:
                continue
            rows = np.union1d(recent, earlier if escalation else recent).astype(np.int64)
            previous = mine[
                (known.day[mine] <= day - self.window_days)
                & (known.day[mine] > day - 2 * self.window_days)
            ]
            cats = Counter(known.categories[int(c)] for c in known.cat[rows])
            category = next((c for c, _ in cats.most_common() if c), "")
            x, y, radius = _centre(known, rows)
            out.append(
                Found(
                    kind=self.kind,
                    category=category,
                    detected_on=day,
                    start=int(known.day[rows].min()),
                    end=day,
                    observed=len(recent),
                    expected=float(len(previous)),
                    p_value=None,
                    score=float(len(recent) + 2 * len(escalation)),
                    x=x,
                    y=y,
                    radius_m=radius,
                    area=_area(known, rows),
                    rows=rows,
                    numbers={
                        "appeals_in_window": len(recent),
                        "window_days": self.window_days,
                        "weeks": len(weeks),
                        "previous_window": len(previous),
                        "escalation": escalation,
                        "dedup": f"r{who}",
                    },
                )
            )
        return out


SPREAD_DAYS = 5
SPREAD_KINDS = ("cluster", "burst", "surge", "group")


def find_spread(
    city: str, day: date, events: Events, *, days: int = SPREAD_DAYS, min_districts: int = 2
) -> list[Found]:
    """One matter's alerts in ``min_districts`` or more districts detected within ``days``
    days up to ``day``: a finding naming the districts, with the appeals behind the alerts."""
    from civitas.geo.models import Jurisdiction
    from civitas.risk.detectors import district_of
    from civitas.risk.models import Alert, AlertAppeal, AlertStatus

    alerts = list(
        Alert.objects.filter(
            city=city,
            kind__in=SPREAD_KINDS,
            detected_on__gt=day - timedelta(days=days),
            detected_on__lte=day,
        )
        .exclude(status=AlertStatus.DISMISSED)
        .exclude(category="")
        .values_list("pk", "category", "jurisdiction_path", "start", "end", "kind")
    )
    by_category: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in alerts:
        by_category[row[1]].append(row)
    out = []
    d = events.day_of(day)
    for category, rows in sorted(by_category.items()):
        districts = sorted({district_of(r[2]) for r in rows} - {""})
        if len(districts) < min_districts:
            continue
        alert_ids = [r[0] for r in rows]
        appeal_ids = set(
            AlertAppeal.objects.filter(alert_id__in=alert_ids).values_list("appeal_id", flat=True)
        )
        idx = np.flatnonzero(np.isin(events.ids, np.fromiter(appeal_ids, dtype=np.int64)))
        names = {
            j.code: {"code": j.code, "name_en": j.name_en, "name_zh": j.name_zh}
            for j in Jurisdiction.objects.filter(code__in=districts)
        }
        out.append(
            Found(
                kind="spread",
                category=category,
                detected_on=d,
                start=events.day_of(min(r[3] for r in rows)),
                end=d,
                observed=len(districts),
                expected=1.0,
                p_value=None,
                score=float(len(districts)),
                rows=idx.astype(np.int64),
                numbers={
                    "districts": [names.get(c, {"code": c}) for c in districts],
                    "alerts": alert_ids,
                    "kinds": sorted({r[5] for r in rows}),
                    "days": days,
                    "dedup": "spread",
                },
            )
        )
    return out
