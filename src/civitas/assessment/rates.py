"""The six rates and the composite score, from summed roll-up counts. Pure functions.

- response rate = accepted within the response deadline / (dispatched − still inside the
  response deadline and not yet accepted): a case whose deadline passed without acceptance
  counts as not responded;
- resolution rate = rated "solved" / rated; satisfaction rate = (satisfied + w × basically
  satisfied) / rated, with w = ``CIVITAS_ASSESSMENT_BASIC_WEIGHT`` (0.8);
- on-time rate = resolved in time / (resolved + open and overdue);
- return rate = returned / (dispatched + returned): of the times the case was handed to the
  unit, how often it handed it back;
- redo rate = reopened / resolved at least once.

Composite: the weighted mean of the four positive rates available (weights renormalised
over those with a denominator), times 100, minus ``return`` and ``redo`` weights times their
rates times 100. Weights: ``CIVITAS_ASSESSMENT_WEIGHTS``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings

DEFAULT_WEIGHTS = {
    "response": 0.2,
    "resolution": 0.3,
    "satisfaction": 0.4,
    "on_time": 0.1,
    "return": 0.1,
    "redo": 0.1,
}
POSITIVE = ("response", "resolution", "satisfaction", "on_time")
PENALTIES = ("return", "redo")
RATES = (*POSITIVE, *PENALTIES)


def weights() -> dict[str, float]:
    chosen = dict(DEFAULT_WEIGHTS)
    chosen.update(getattr(settings, "CIVITAS_ASSESSMENT_WEIGHTS", {}) or {})
    return {k: float(chosen[k]) for k in DEFAULT_WEIGHTS}


def basic_weight() -> float:
    return float(getattr(settings, "CIVITAS_ASSESSMENT_BASIC_WEIGHT", 0.8))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def rates(c: Mapping[str, int]) -> dict[str, float | None]:
    """``c``: summed counters plus ``open_overdue`` and ``awaiting`` (live counts)."""
    judged = c["dispatched"] - c.get("awaiting", 0)
    return {
        "response": _ratio(c["responded_on_time"], judged),
        "resolution": _ratio(c["solved"], c["rated"]),
        "satisfaction": _ratio(c["satisfied"] + basic_weight() * c["basic"], c["rated"]),
        "on_time": _ratio(c["resolved_on_time"], c["resolved"] + c.get("open_overdue", 0)),
        "return": _ratio(c["returned"], c["dispatched"] + c["returned"]),
        "redo": _ratio(c["reopened"], c["resolved_ever"]),
    }


def composite(r: Mapping[str, float | None], w: Mapping[str, float] | None = None) -> float | None:
    w = w or weights()
    have = [k for k in POSITIVE if r.get(k) is not None and w[k] > 0]
    total = sum(w[k] for k in have)
    if not total:
        return None
    score = 100 * sum(w[k] * (r[k] or 0.0) for k in have) / total
    score -= 100 * sum(w[k] * (r.get(k) or 0.0) for k in PENALTIES)
    return round(score, 2)
