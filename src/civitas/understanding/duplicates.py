"""Duplicates: propose the open case a new appeal repeats, with a score and a readable reason.

The pure part works on plain ``Case`` records (no database), so ``civitas eval duplicates``
runs it on files and the triage step runs it on appeals:

- ``compare(new, old)`` describes a pair (same or related matter, metres apart or same address
  or same area when a point is missing, hours between them, text similarity) as a ``Pair``;
- ``features(pair)`` turns it into the numbers a score model reads;
- ``LogisticScore`` (weights fitted on labelled history) and ``WeightedRule`` (a transparent
  weighted sum with hand-set shapes, its weights calibrated on data) map features to [0, 1];
- ``reason(pair)`` says why in words a dispatcher reads ("same matter, 40 m away, 3 h earlier,
  text 82% similar"), in the active language;
- ``CandidateIndex`` finds candidates among many cases without scanning them all: buckets by
  parent matter and a spatial grid, by address and by area, each kept in time order and pruned
  to the search window.

The product step ``duplicate_step(appeal)`` runs at every intake: one query for open cases of
the same city, received in the window, of the same matter or a sibling (same parent), near the
point (a bounding box), at the same address, or in the same smallest jurisdiction when a point
is missing. It proposes the best candidate above ``CIVITAS_DUPLICATE_MIN_SCORE``; it never
marks an appeal as a duplicate — a dispatcher decides.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from django.conf import settings
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from civitas.kit import clock

# Where candidates are looked for: received at most WINDOW earlier, at most RADIUS_M away.
WINDOW = timedelta(days=30)
RADIUS_M = 300.0
# The product step reads at most this many candidates (the most recent first).
MAX_CANDIDATES = 200

_EARTH_M = 6_371_000.0
_M_PER_DEG = math.pi * _EARTH_M / 180


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on an equirectangular projection: exact enough within a city."""
    dlat = math.radians(lat2 - lat1)
    dlon = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return _EARTH_M * math.hypot(dlat, dlon)


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normal_address(text: str) -> str:
    """Lower case, punctuation and runs of spaces folded: "12  Elm St." == "12 elm st"."""
    return _NON_WORD.sub(" ", text.lower()).strip()


@dataclass(slots=True)
class Case:
    """What duplicate detection knows of a case.

    ``matter`` is the matter code (Boston: TYPE) and ``parent`` its parent in the catalogue
    (Boston: REASON); ``address`` is normalised with ``normal_address``; ``area`` is the
    smallest known area (a jurisdiction path, a precinct), "" when unknown; ``closed`` is
    when the case closed, None while it is open.
    """

    key: Any
    matter: str
    received: datetime
    parent: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    area: str = ""
    area_name: str = ""
    text: str = ""
    closed: datetime | None = None

    @property
    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None

    def open_at(self, at: datetime) -> bool:
        return self.received < at and (self.closed is None or self.closed > at)


@dataclass(frozen=True, slots=True)
class Pair:
    """How a new case relates to an earlier one.

    ``metres`` is None when either lacks a point; ``same_area`` is only set then (with a
    point on both sides, the distance says more). ``text`` is None when either has no text.
    ``crowd`` is how many candidates the new case had (on Boston, a spot with many open
    look-alikes is one people keep reporting: the fitted weight is positive). ``matter_rate``
    is how much more often than usual appeals of the new case's matter turned out to be
    duplicates (``MatterRates``)."""

    same_matter: bool
    same_address: bool
    metres: float | None
    same_area: bool
    hours: float
    text: float | None
    crowd: int = 1
    matter_rate: float = 0.0
    area_name: str = ""


def compare(
    new: Case, old: Case, text: float | None = None, crowd: int = 1, matter_rate: float = 0.0
) -> Pair:
    d = None
    if new.has_point and old.has_point:
        d = metres(new.lat, new.lon, old.lat, old.lon)  # type: ignore[arg-type]
    return Pair(
        same_matter=new.matter == old.matter,
        same_address=bool(new.address) and new.address == old.address,
        metres=d,
        same_area=d is None and bool(new.area) and new.area == old.area,
        hours=max(0.0, (new.received - old.received).total_seconds() / 3600),
        text=text,
        crowd=crowd,
        matter_rate=matter_rate,
        area_name=new.area_name if new.area_name and new.area == old.area else "",
    )


# Feature names, in the order the score models read them. Distances and time gaps are binned
# (mutually exclusive bins; beyond the last one is the implicit zero) so a linear model can
# learn a shape without assuming one.
DISTANCE_BINS = (15.0, 50.0, 150.0)
GAP_BINS = (1.0, 6.0, 24.0, 72.0, 24.0 * 7)
FEATURES: tuple[str, ...] = (
    "same_matter",
    "same_address",
    "near_15m",
    "near_50m",
    "near_150m",
    "point_far",
    "same_area",
    "gap_1h",
    "gap_6h",
    "gap_24h",
    "gap_72h",
    "gap_7d",
    "text",
    "no_text",
    "crowd",
    "matter_rate",
)

Columns = dict[str, np.ndarray]


def columns(pairs: Sequence[Pair]) -> Columns:
    """Pairs as columns (NaN where a distance or a text similarity is unknown)."""
    nan = float("nan")
    return {
        "same_matter": np.array([p.same_matter for p in pairs], dtype=float),
        "same_address": np.array([p.same_address for p in pairs], dtype=float),
        "metres": np.array([nan if p.metres is None else p.metres for p in pairs], dtype=float),
        "same_area": np.array([p.same_area for p in pairs], dtype=float),
        "hours": np.array([p.hours for p in pairs], dtype=float),
        "text": np.array([nan if p.text is None else p.text for p in pairs], dtype=float),
        "crowd": np.array([p.crowd for p in pairs], dtype=float),
        "matter_rate": np.array([p.matter_rate for p in pairs], dtype=float),
    }


def feature_matrix(cols: Columns) -> np.ndarray:
    """One row per pair, one column per name in ``FEATURES``."""
    m = cols["metres"]
    has_point = ~np.isnan(m)
    md = np.where(has_point, m, np.inf)
    d0, d1, d2 = DISTANCE_BINS
    h = cols["hours"]
    g = (0.0, *GAP_BINS)
    text = cols["text"]
    no_text = np.isnan(text)
    out = [
        cols["same_matter"],
        cols["same_address"],
        md <= d0,
        (md > d0) & (md <= d1),
        (md > d1) & (md <= d2),
        has_point & (md > d2),
        cols["same_area"],
        *((h > (g[i] if i else -1.0)) & (h <= g[i + 1]) for i in range(len(GAP_BINS))),
        np.where(no_text, 0.0, text),
        no_text,
        np.log1p(np.maximum(0.0, cols["crowd"] - 1)),
        cols["matter_rate"],
    ]
    return np.column_stack([np.asarray(c, dtype=float) for c in out])


def features(pair: Pair) -> dict[str, float]:
    row = feature_matrix(columns([pair]))[0]
    return {name: float(x) for name, x in zip(FEATURES, row, strict=True)}


class Scorer(Protocol):
    @property
    def threshold(self) -> float: ...

    def scores(self, cols: Columns) -> np.ndarray: ...


def score(scorer: Scorer, pair: Pair) -> float:
    return float(scorer.scores(columns([pair]))[0])


@dataclass(frozen=True)
class LogisticScore:
    """A logistic regression on ``features``: P(duplicate) = σ(bias + Σ weight·feature)."""

    weights: Mapping[str, float]
    bias: float
    threshold: float = 0.5

    def scores(self, cols: Columns) -> np.ndarray:
        w = np.array([self.weights.get(name, 0.0) for name in FEATURES])
        z = np.clip(feature_matrix(cols) @ w + self.bias, -30.0, 30.0)
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "logistic",
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "bias": round(self.bias, 4),
            "threshold": round(self.threshold, 4),
        }


@dataclass(frozen=True)
class WeightedRule:
    """A transparent score: weighted sum of four parts, each in [0, 1].

    matter: 1 same, 0.5 related; place: 1 at the same address or within 15 m, falling
    linearly to 0 at ``radius`` metres, ``area`` for the same area without a point; time:
    halves every ``half_life_h`` hours; text: the similarity (0.5 when unknown). The score is
    the weighted mean, so it is in [0, 1]."""

    matter: float = 0.2
    place: float = 0.4
    time: float = 0.3
    text: float = 0.1
    half_life_h: float = 24.0
    area: float = 0.5
    radius: float = RADIUS_M
    threshold: float = 0.7

    def scores(self, cols: Columns) -> np.ndarray:
        m = cols["metres"]
        has_point = ~np.isnan(m)
        near = np.clip(1 - (np.where(has_point, m, 0.0) - 15) / (self.radius - 15), 0.0, 1.0)
        place = np.where(
            cols["same_address"] > 0,
            1.0,
            np.where(has_point, near, self.area * cols["same_area"]),
        )
        matter = np.where(cols["same_matter"] > 0, 1.0, 0.5)
        time = 0.5 ** (cols["hours"] / self.half_life_h)
        text = np.where(np.isnan(cols["text"]), 0.5, cols["text"])
        total = self.matter + self.place + self.time + self.text
        s = self.matter * matter + self.place * place + self.time * time + self.text * text
        return s / total if total > 0 else np.zeros_like(s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "rule",
            "weights": {
                "matter": self.matter,
                "place": self.place,
                "time": self.time,
                "text": self.text,
            },
            "half_life_h": self.half_life_h,
            "area": self.area,
            "threshold": round(self.threshold, 4),
        }


# The product's score. Fitted by `civitas eval duplicates` on Boston 311 January-September 2015
# (docs/EVALUATION.md, "Duplicates"), except the text part: Boston has no citizen text, so its
# weights are set by hand — similarity 0.25 (what unrelated short texts share in character
# n-grams) is neutral, each 0.1 above it adds 0.6 to the log-odds — and the bias is lowered by
# the same 1.5 that ``no_text`` adds, so that pairs without text score exactly as fitted.
DEFAULT_MODEL = LogisticScore(
    weights={
        "same_matter": 0.7455,
        "same_address": 0.9789,
        "near_15m": 0.2246,
        "near_50m": 0.1161,
        "near_150m": -1.2377,
        "point_far": -1.8264,
        "same_area": -0.7272,
        "gap_1h": 0.005,
        "gap_6h": 0.2396,
        "gap_24h": 0.4008,
        "gap_72h": 0.1598,
        "gap_7d": 0.6327,
        "text": 6.0,
        "no_text": 1.5,
        "crowd": 0.2641,
        "matter_rate": 0.8366,
    },
    bias=-3.5531 - 1.5,
    threshold=0.3372,
)
# The product proposes below the F1-optimal threshold of the evaluation: a wrong proposal costs
# a dispatcher a glance, a missed one sends a second unit to the same problem. Precision and
# recall at this threshold are in docs/EVALUATION.md.
DEFAULT_MIN_SCORE = 0.15


class MatterRates:
    """How duplicate-prone each matter is, from history: the log-odds of a matter's share of
    duplicates minus the log-odds of the overall share (0 = as usual, +1 ≈ 2.7 times the odds).

    Shares are shrunk towards the parent's share, and the parent's towards the overall one,
    by ``strength`` pseudo-appeals, so a matter with little history says little. A matter
    never seen gets its parent's value; with no history at all every value is 0."""

    def __init__(
        self,
        counts: Mapping[tuple[str, str], tuple[int, int]],
        strength: float = 20.0,
    ) -> None:
        """``counts`` maps (matter, parent) to (appeals, of which duplicates)."""
        self.strength = strength
        self.counts = dict(counts)
        n = sum(c for c, _d in self.counts.values())
        d = sum(d for _c, d in self.counts.values())
        self.base = (d + 0.5) / (n + 1.0)
        parents: dict[str, list[int]] = {}
        for (_m, parent), (c, dd) in self.counts.items():
            acc = parents.setdefault(parent, [0, 0])
            acc[0] += c
            acc[1] += dd
        self.parents = {p: self._shrink(c, dd, self.base) for p, (c, dd) in parents.items()}

    def _shrink(self, n: float, d: float, prior: float) -> float:
        return (d + self.strength * prior) / (n + self.strength)

    @staticmethod
    def _logit(p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p))

    def rate(self, matter: str, parent: str, leave_out: bool | None = None) -> float:
        """The value for a new case; ``leave_out`` removes that case's own outcome (for a
        case that is itself part of the history, as in training)."""
        parent_share = self.parents.get(parent, self.base) if parent else self.base
        n, d = self.counts.get((matter, parent), (0, 0))
        if leave_out is not None and n > 0:
            n, d = n - 1, d - int(leave_out)
        return self._logit(self._shrink(n, d, parent_share)) - self._logit(self.base)


def reason(pair: Pair) -> str:
    """Why the pair looks like a duplicate, in the active language."""
    parts = [_("same matter") if pair.same_matter else _("related matter")]
    if pair.same_address:
        parts.append(_("same address"))
    elif pair.metres is not None:
        parts.append(_("%(metres)d m away") % {"metres": round(pair.metres)})
    elif pair.same_area:
        parts.append(
            _("both in %(area)s") % {"area": pair.area_name} if pair.area_name else _("same area")
        )
    if pair.hours < 1:
        minutes = max(1, round(pair.hours * 60))
        parts.append(
            ngettext("%(minutes)d minute earlier", "%(minutes)d minutes earlier", minutes)
            % {"minutes": minutes}
        )
    elif pair.hours < 48:
        hours = round(pair.hours)
        parts.append(
            ngettext("%(hours)d h earlier", "%(hours)d h earlier", hours) % {"hours": hours}
        )
    else:
        days = round(pair.hours / 24)
        parts.append(
            ngettext("%(days)d day earlier", "%(days)d days earlier", days) % {"days": days}
        )
    if pair.text is not None:
        parts.append(_("text %(percent)d%% similar") % {"percent": round(100 * pair.text)})
    return pgettext("list separator", ", ").join(parts)


class TextSimilarity:
    """Cosine of character 2-3-gram count vectors (Chinese and English alike, no tokeniser).

    No IDF: the step compares a handful of texts at a time, too few to estimate it, and the
    hand-set text weights of ``DEFAULT_MODEL`` were chosen on plain counts. Vectors are cached
    per instance: one instance serves one comparison of a new case with its candidates."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, float]] = {}

    @staticmethod
    def grams(text: str) -> Counter[str]:
        t = f" {' '.join(text.lower().split())} "
        out: Counter[str] = Counter()
        for n in (2, 3):
            out.update(t[i : i + n] for i in range(len(t) - n + 1))
        return out

    def vector(self, text: str) -> dict[str, float]:
        v = self._cache.get(text)
        if v is None:
            counts = self.grams(text)
            norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
            v = {g: c / norm for g, c in counts.items()}
            self._cache[text] = v
        return v

    def similarity(self, a: str, b: str) -> float | None:
        """In [0, 1]; None when either text is empty."""
        if not a.strip() or not b.strip():
            return None
        if a == b:
            return 1.0
        va, vb = self.vector(a), self.vector(b)
        if len(va) > len(vb):
            va, vb = vb, va
        return min(1.0, sum(x * vb.get(g, 0.0) for g, x in va.items()))


class CandidateIndex:
    """Earlier cases by parent matter × grid cell, × address and × area, in time order.

    ``add`` cases in the order they were received; ``candidates(new)`` returns the cases
    open when ``new`` arrived, of its matter or a sibling, received within ``window`` and
    within ``radius`` metres (or at the same address, or in the same area when either lacks
    a point). Entries older than the window are dropped as time moves on, so memory and
    look-ups stay proportional to the window, not to the history."""

    def __init__(self, window: timedelta = WINDOW, radius: float = RADIUS_M) -> None:
        self.window = window
        self.radius = radius
        self.cell_deg = radius / _M_PER_DEG
        # One grid for the whole index: the cosine at the first latitude seen holds across a
        # city and stays fixed, so cells never move.
        self._lon_cell: float | None = None
        self._buckets: dict[tuple[Any, ...], deque[Case]] = {}

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        if self._lon_cell is None:
            self._lon_cell = self.cell_deg / max(0.1, math.cos(math.radians(lat)))
        return (math.floor(lat / self.cell_deg), math.floor(lon / self._lon_cell))

    def _keys(self, case: Case) -> Iterator[tuple[Any, ...]]:
        group = case.parent or case.matter
        if case.has_point:
            yield ("cell", group, *self._cell(case.lat, case.lon))  # type: ignore[arg-type]
        if case.address:
            yield ("address", group, case.address)
        if case.area:
            yield ("area", group, case.area)

    def add(self, case: Case) -> None:
        for key in self._keys(case):
            self._buckets.setdefault(key, deque()).append(case)

    def _bucket(self, key: tuple[Any, ...], since: datetime) -> deque[Case]:
        got = self._buckets.get(key)
        if got is None:
            return deque()
        while got and got[0].received < since:
            got.popleft()
        if not got:
            del self._buckets[key]
        return got

    def candidates(self, new: Case) -> list[Case]:
        since = new.received - self.window
        group = new.parent or new.matter
        keys: list[tuple[Any, ...]] = []
        if new.has_point:
            ci, cj = self._cell(new.lat, new.lon)  # type: ignore[arg-type]
            keys += [("cell", group, ci + di, cj + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)]
        if new.address:
            keys.append(("address", group, new.address))
        if new.area:
            keys.append(("area", group, new.area))
        found: dict[int, Case] = {}
        for key in keys:
            for c in self._bucket(key, since):
                found.setdefault(id(c), c)
        return [
            c
            for c in found.values()
            if c.key != new.key
            and c.open_at(new.received)
            and related(new, c)
            and within_reach(new, c, self.radius)
        ]


def related(a: Case, b: Case) -> bool:
    return a.matter == b.matter or (bool(a.parent) and a.parent == b.parent)


@dataclass(frozen=True)
class Proposal:
    case: Case
    pair: Pair
    score: float


@dataclass
class Matcher:
    """Score a new case against its candidates and keep the best."""

    scorer: Scorer = DEFAULT_MODEL
    matter_rate: float = 0.0

    def pairs(self, new: Case, candidates: Sequence[Case]) -> list[Pair]:
        text = TextSimilarity()
        n = len(candidates)
        return [
            compare(new, c, text.similarity(new.text, c.text), n, self.matter_rate)
            for c in candidates
        ]

    def best(self, new: Case, candidates: Sequence[Case]) -> Proposal | None:
        """The highest score; between equal scores, the most recent case."""
        if not candidates:
            return None
        pairs = self.pairs(new, candidates)
        s = self.scorer.scores(columns(pairs))
        hours = np.array([p.hours for p in pairs])
        i = int(np.lexsort((hours, -s))[0])
        return Proposal(candidates[i], pairs[i], float(s[i]))


# ---------------------------------------------------------------------------------------------
# The product step

RATES_HISTORY = timedelta(days=365)
RATES_TTL_SECONDS = 3600.0
_rates_lock = threading.Lock()
_rates: dict[str, tuple[float, MatterRates]] = {}


def forget() -> None:
    """Drop the cached matter rates (tests; after a bulk import)."""
    with _rates_lock:
        _rates.clear()


def matter_rates(city: str) -> MatterRates:
    """Each matter's share of duplicates among the city's cases closed in the last year,
    counted once an hour per process (one grouped query)."""
    from civitas.appeals.models import Appeal, Status

    now = time.monotonic()
    with _rates_lock:
        cached = _rates.get(city)
        if cached is not None and cached[0] > now:
            return cached[1]
    rows = (
        Appeal.objects.filter(
            city=city,
            status=Status.CLOSED,
            matter__isnull=False,
            received_at__gte=clock.now() - RATES_HISTORY,
        )
        .values("matter_id", "matter__parent_id")
        .annotate(n=Count("pk"), d=Count("pk", filter=Q(duplicate_of__isnull=False)))
        .order_by()
    )
    rates = MatterRates(
        {(str(r["matter_id"]), str(r["matter__parent_id"] or "")): (r["n"], r["d"]) for r in rows}
    )
    with _rates_lock:
        _rates[city] = (now + RATES_TTL_SECONDS, rates)
    return rates


def min_score() -> float:
    return float(getattr(settings, "CIVITAS_DUPLICATE_MIN_SCORE", DEFAULT_MIN_SCORE))


def _appeal_text(title: str, text: str) -> str:
    return f"{title} {text}".strip()


def _place_q(appeal: Any, has_point: bool, located: bool) -> Q:
    place = Q(pk__in=[])
    if has_point:
        dlat = RADIUS_M / _M_PER_DEG
        dlon = dlat / max(0.1, math.cos(math.radians(appeal.lat)))
        place |= Q(
            lat__range=(appeal.lat - dlat, appeal.lat + dlat),
            lon__range=(appeal.lon - dlon, appeal.lon + dlon),
        )
    if located:
        area = Q(jurisdiction_id=appeal.jurisdiction_id)
        place |= (area & Q(lat__isnull=True)) if has_point else area
    words = normal_address(appeal.address or "").split()
    if words:
        # The same address however it is spaced and punctuated (works on SQLite and PostgreSQL).
        sep = r"(?:\W|_)"
        pattern = f"^{sep}*" + f"{sep}+".join(re.escape(w) for w in words) + f"{sep}*$"
        place |= Q(address__iregex=pattern)
    return place


def duplicate_step(appeal: Any) -> None:
    """Propose (never decide) the open case this appeal most likely repeats.

    One query for candidates (open, same city, received in the window, same matter or a
    sibling, near the point or at the same address or in the same smallest jurisdiction),
    plus the hourly matter-rate count. Sets ``duplicate_candidate``, ``duplicate_score`` and
    ``duplicate_reason`` (in the installation's language, for the dispatchers) when the best
    candidate scores at least ``CIVITAS_DUPLICATE_MIN_SCORE``."""
    from civitas.appeals.models import OPEN_STATUSES, Appeal, LocateMethod

    appeal.duplicate_candidate = None
    appeal.duplicate_score = None
    appeal.duplicate_reason = ""
    if appeal.matter_id is None:
        return
    matter = appeal.matter
    has_point = appeal.lat is not None and appeal.lon is not None
    located = appeal.jurisdiction_id is not None and appeal.locate_method != LocateMethod.NONE
    related = Q(matter_id=matter.pk)
    if matter.parent_id is not None:
        related |= Q(matter__parent_id=matter.parent_id)
    query = Appeal.objects.filter(
        related,
        _place_q(appeal, has_point, located),
        city=appeal.city,
        status__in=OPEN_STATUSES,
        duplicate_of__isnull=True,
        received_at__gte=appeal.received_at - WINDOW,
        received_at__lte=appeal.received_at,
    )
    if appeal.pk is not None:
        query = query.exclude(pk=appeal.pk)
    fields = ("pk", "matter_id", "lat", "lon", "address", "jurisdiction_id", "received_at")
    rows = list(query.order_by("-received_at").values(*fields, "title", "text")[:MAX_CANDIDATES])
    if not rows:
        return
    parent = str(matter.parent_id or "")
    new = Case(
        key=appeal.pk,
        matter=str(matter.pk),
        parent=parent,
        received=appeal.received_at,
        lat=appeal.lat,
        lon=appeal.lon,
        address=normal_address(appeal.address),
        area=str(appeal.jurisdiction_id) if located else "",
        text=_appeal_text(appeal.title, appeal.text),
    )
    candidates = [
        Case(
            key=r["pk"],
            matter=str(r["matter_id"]),
            parent=parent,  # the query returns the matter and its siblings only
            received=r["received_at"],
            lat=r["lat"],
            lon=r["lon"],
            address=normal_address(r["address"]),
            area=str(r["jurisdiction_id"] or ""),
            text=_appeal_text(r["title"], r["text"]),
        )
        for r in rows
    ]
    candidates = [c for c in candidates if within_reach(new, c)]
    if not candidates:
        return
    rate = matter_rates(appeal.city).rate(new.matter, new.parent)
    best = Matcher(matter_rate=rate).best(new, candidates)
    if best is None or best.score < min_score():
        return
    appeal.duplicate_candidate_id = best.case.key
    appeal.duplicate_score = round(best.score, 3)
    with translation.override(settings.LANGUAGE_CODE):
        pair = best.pair
        if pair.same_area:
            pair = dataclasses.replace(pair, area_name=appeal.jurisdiction.name)
        appeal.duplicate_reason = reason(pair)[:300]


def within_reach(new: Case, old: Case, radius: float = RADIUS_M) -> bool:
    """Within the radius when both have a point (the query's box is a square), else at the
    same address or in the same area."""
    if new.address and new.address == old.address:
        return True
    if new.has_point and old.has_point:
        return metres(new.lat, new.lon, old.lat, old.lon) <= radius  # type: ignore[arg-type]
    return bool(new.area) and new.area == old.area
