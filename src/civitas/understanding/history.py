"""Which unit handles this? A learner of past handling, keyed by context from specific to general.

Each past case is described by a short list of *levels*, from the most specific to the most
general, for example::

    [("matter", "grid", "G-17"), ("matter", "street", "S-3"), ("matter", "district", "D1"),
     ("matter",)]

and the label is the unit (or queue) that handled it. A level may be ``None`` when a case does
not reach it (a case not located to a street has no street key). The learner counts labels per
key, weighting every case by its age: ``weight = 0.5 ** (age / half_life)``, where the age is
measured from the newest case seen, so that a queue reorganised in the spring wins over the
one that handled the matter in winter.

Prediction smooths from the general towards the specific (a Dirichlet chain, the idea behind
hierarchical Pitman–Yor back-off without the discount): starting from the labels' overall
shares, each level that has seen the key replaces the running distribution ``p`` by::

    p'(y) = (n(y) + alpha * p(y)) / (N + alpha)

with ``n`` the weighted counts of that key and ``N`` their sum. A key with many cases speaks
for itself; a key with two cases only nudges what its parent level says. The most specific
level that had seen the key is ``level_used``; ``support`` is how many past cases (unweighted)
that key had; ``confidence`` is the final probability of the predicted label, which on the
Boston data is close to the observed accuracy (see docs/EVALUATION.md).

Pure Python and picklable: no Django, no NumPy, so it trains on files as well as on the
database and is saved by the model store as it is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

Key = Hashable | None
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Prediction:
    label: str | None  # None: nothing learned at all
    confidence: float  # probability of ``label`` after smoothing, 0..1
    support: int  # past cases (unweighted) of the key at ``level_used``
    level_used: int | None  # index into the keys given; None when only the overall shares spoke
    share: float = 0.0  # the label's weighted share among those cases, 0..1
    count: int = 0  # of ``support``, how many (unweighted) had ``label``

    @property
    def known(self) -> bool:
        return self.label is not None


@dataclass(frozen=True)
class Example:
    keys: Sequence[Key]
    label: str
    when: float | datetime | None = None  # a POSIX timestamp or a datetime; None: "now"


def _seconds(when: float | datetime | None) -> float | None:
    if when is None:
        return None
    if isinstance(when, datetime):
        return when.timestamp()
    return float(when)


class _Tally:
    """Weighted and plain counts of labels for one key."""

    __slots__ = ("counts", "n", "total", "weights")

    def __init__(self) -> None:
        self.weights: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.total = 0.0
        self.n = 0

    def add(self, label: str, weight: float) -> None:
        self.weights[label] += weight
        self.counts[label] += 1
        self.total += weight
        self.n += 1

    def __getstate__(self) -> tuple[dict[str, float], dict[str, int], float, int]:
        return dict(self.weights), dict(self.counts), self.total, self.n

    def __setstate__(self, state: tuple[dict[str, float], dict[str, int], float, int]) -> None:
        weights, counts, self.total, self.n = state
        self.weights = defaultdict(float, weights)
        self.counts = defaultdict(int, counts)


class HistoryLearner:
    """Learns labels from keyed past cases; see the module docstring.

    ``levels`` names the levels (for reasons and reports); every example and query must give
    that many keys. ``half_life_days`` of None disables recency weighting. ``alpha`` is the
    strength of a level's prior (how many weighted cases it takes to outvote the parent).
    """

    def __init__(
        self,
        levels: Sequence[str],
        *,
        half_life_days: float | None = 60.0,
        alpha: float = 2.0,
    ) -> None:
        if not levels:
            raise ValueError("give at least one level")
        if half_life_days is not None and half_life_days <= 0:
            raise ValueError("half_life_days must be positive (or None for no recency weighting)")
        if alpha <= 0:
            raise ValueError("alpha must be positive")
        self.levels = tuple(levels)
        self.half_life_days = half_life_days
        self.alpha = float(alpha)
        self.tables: list[dict[Key, _Tally]] = [{} for _ in self.levels]
        self.overall = _Tally()
        self.as_of: float | None = None  # the newest case's time (POSIX seconds)
        self.n_examples = 0

    # -- training ----------------------------------------------------------------------------
    def _weight(self, when: float | None) -> float:
        if self.half_life_days is None or when is None or self.as_of is None:
            return 1.0
        age_days = max(0.0, (self.as_of - when) / SECONDS_PER_DAY)
        return math.pow(0.5, age_days / self.half_life_days)

    def fit(self, examples: Iterable[Example]) -> HistoryLearner:
        """Learn from the examples (replacing anything learned before)."""
        items = [(tuple(e.keys), e.label, _seconds(e.when)) for e in examples]
        times = [t for _, _, t in items if t is not None]
        self.tables = [{} for _ in self.levels]
        self.overall = _Tally()
        self.as_of = max(times) if times else None
        self.n_examples = 0
        for keys, label, when in items:
            self._add(keys, label, self._weight(when))
        return self

    def _add(self, keys: tuple[Key, ...], label: str, weight: float) -> None:
        if len(keys) != len(self.levels):
            raise ValueError(f"expected {len(self.levels)} keys ({self.levels}), got {len(keys)}")
        for table, key in zip(self.tables, keys, strict=True):
            if key is None:
                continue
            tally = table.get(key)
            if tally is None:
                tally = table[key] = _Tally()
            tally.add(label, weight)
        self.overall.add(label, weight)
        self.n_examples += 1

    # -- prediction --------------------------------------------------------------------------
    def distribution(self, keys: Sequence[Key]) -> tuple[dict[str, float], int | None]:
        """The smoothed label distribution for these keys and the most specific level used."""
        if len(keys) != len(self.levels):
            raise ValueError(f"expected {len(self.levels)} keys ({self.levels}), got {len(keys)}")
        if self.overall.total <= 0:
            return {}, None
        p = {label: w / self.overall.total for label, w in self.overall.weights.items()}
        used: int | None = None
        for i in range(len(self.levels) - 1, -1, -1):
            key = keys[i]
            tally = self.tables[i].get(key) if key is not None else None
            if tally is None or tally.total <= 0:
                continue
            denominator = tally.total + self.alpha
            p = {
                label: (tally.weights.get(label, 0.0) + self.alpha * prior) / denominator
                for label, prior in p.items()
            }
            used = i
        return p, used

    def predict(self, keys: Sequence[Key]) -> Prediction:
        p, used = self.distribution(keys)
        if not p:
            return Prediction(None, 0.0, 0, None)
        label = max(p, key=lambda k: (p[k], k))
        if used is None:
            tally = self.overall
        else:
            key = keys[used]
            assert key is not None
            tally = self.tables[used][key]
        share = tally.weights.get(label, 0.0) / tally.total if tally.total > 0 else 0.0
        return Prediction(label, p[label], tally.n, used, share, tally.counts.get(label, 0))

    def level_name(self, used: int | None) -> str:
        return "overall" if used is None else self.levels[used]

    # -- reading what was learned ------------------------------------------------------------
    def entries(self, level: int) -> Iterable[tuple[Key, str, int, int, float]]:
        """For every key of a level: (key, top label, its cases, all cases, weighted share)."""
        for key, tally in self.tables[level].items():
            if tally.total <= 0:
                continue
            label = max(tally.weights, key=lambda k: (tally.weights[k], k))
            yield key, label, tally.counts[label], tally.n, tally.weights[label] / tally.total

    def summary(self) -> dict[str, object]:
        return {
            "examples": self.n_examples,
            "labels": len(self.overall.counts),
            "keys": {name: len(t) for name, t in zip(self.levels, self.tables, strict=True)},
            "half_life_days": self.half_life_days,
            "alpha": self.alpha,
        }
