"""``civitas eval duplicates --train FILE --test FILE``: flag records that repeat an open case.

Files are Boston 311 CSV (plain or gzip). Every record is a ``Case``: TYPE is the matter and
REASON its parent, the point is LATITUDE/LONGITUDE (the City Hall point 42.3594, -71.0587
stands for "no location" and is dropped), Location is the address, the precinct (else the
ward) the area. CASE_TITLE is not used as text: it is the TYPE in most rows and otherwise
staff notes ("PRINTED", "sent to contractor") that may be written after intake. Records are
replayed in order of OPEN_DT; a record's candidates are the earlier records (train, then earlier
test rows) still open when it arrived — OPEN_DT before it and CLOSED_DT empty or after it — of
the same TYPE or REASON, within 30 days and 300 m (or at the same address, or in the same area
when a point is missing).

Ground truth (``is_duplicate``): the record's own CLOSURE_REASON says it was a duplicate — a
word starting with "dup" (duplicate, dupe, dup, and misspellings like "dupilcate"), or
"diplicate"/"duolicate", or that the request already existed ("exists already", "already
exists", "already been registered", "already in the system", "already entered", "please follow
case"). A test record's closing fields are read only for its label and, once it is an earlier
case for a later record, to know whether it was still open then.

Learning uses --train only. Each matter's duplicate rate (``MatterRates``) is counted on train
records (leaving a train record's own outcome out of its own rate). The logistic score is
fitted on train records' pairs: a record's label is known, not which candidate it repeats, so
the first fit labels every pair of a duplicate record and later rounds only its best-scoring
pair. Each score's threshold is the one that maximises F1 on train records. A test record is
flagged when its best candidate scores at or above the threshold. Beside it: the transparent
weighted rule calibrated the same way, and the baseline rule of the product before this module
(same TYPE, open, both points within 300 m, at most 72 h earlier).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from civitas.understanding.duplicates import (
    DEFAULT_MIN_SCORE,
    FEATURES,
    RADIUS_M,
    WINDOW,
    CandidateIndex,
    Case,
    Columns,
    LogisticScore,
    MatterRates,
    Pair,
    WeightedRule,
    columns,
    compare,
    feature_matrix,
    normal_address,
)
from civitas.understanding.evaluation import (
    BOSTON_DATE_FORMAT,
    BOSTON_NO_LOCATION,
    InputError,
    boston_date,
    progress,
    read_rows,
)

REQUIRED = (
    "CASE_ENQUIRY_ID",
    "OPEN_DT",
    "CLOSED_DT",
    "CLOSURE_REASON",
    "TYPE",
    "LATITUDE",
    "LONGITUDE",
)
DATE_FORMAT = BOSTON_DATE_FORMAT
NO_LOCATION = BOSTON_NO_LOCATION
BASELINE_WINDOW = timedelta(hours=72)
MIL_ROUNDS = 3

DUPLICATE = re.compile(
    r"\bdup\w*|\bdiplicat|\bduolicat"
    r"|exists already|already exists|already been registered|already in the system"
    r"|already ent\w*red|please follow case",
    re.IGNORECASE,
)


def is_duplicate(closure_reason: str) -> bool:
    """The ground-truth rule: the closing note says the record was a duplicate."""
    return DUPLICATE.search(closure_reason) is not None


@dataclass(slots=True)
class Record:
    case: Case
    label: bool
    test: bool
    pairs: list[Pair] = field(default_factory=list)


def _number(value: str, path: str, row: int, column: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{path}, row {row}: {column} {value!r} is not a number") from None
    if not math.isfinite(x):
        raise InputError(f"{path}, row {row}: {column} {value!r} is not a number")
    return x


def _area(row: dict[str, str]) -> str:
    for column, prefix in (("precinct", "p"), ("ward", "w")):
        digits = re.sub(r"\D", "", (row.get(column) or "").split(".")[0])
        if digits:
            return f"{prefix}{int(digits)}"
    return ""


def read(path: str, test: bool) -> list[Record]:
    out: list[Record] = []
    for i, row in enumerate(read_rows(path, REQUIRED), start=1):
        lat = _number(row["LATITUDE"], path, i, "LATITUDE")
        lon = _number(row["LONGITUDE"], path, i, "LONGITUDE")
        if lat is None or lon is None or (round(lat, 4), round(lon, 4)) == NO_LOCATION:
            lat = lon = None
        elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(f"{path}, row {i}: LATITUDE/LONGITUDE {lat}, {lon} is off the map")
        matter = row["TYPE"].strip()
        if not matter:
            raise InputError(f"{path}, row {i}: TYPE is empty; every record needs its type")
        case = Case(
            key=row["CASE_ENQUIRY_ID"].strip() or f"{path}:{i}",
            matter=matter,
            parent=(row.get("REASON") or "").strip(),
            received=boston_date(row["OPEN_DT"], path, i, "OPEN_DT", required=True),  # type: ignore[arg-type]
            lat=lat,
            lon=lon,
            address=normal_address(row.get("Location") or ""),
            area=_area(row),
            closed=boston_date(row["CLOSED_DT"], path, i, "CLOSED_DT"),
        )
        out.append(Record(case, is_duplicate(row["CLOSURE_REASON"]), test))
    if not out:
        raise InputError(f"{path}: no records")
    return out


def matter_rates(records: Sequence[Record]) -> MatterRates:
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for r in records:
        n, d = counts.get((r.case.matter, r.case.parent), (0, 0))
        counts[(r.case.matter, r.case.parent)] = (n + 1, d + int(r.label))
    return MatterRates(counts)


def replay(records: list[Record], rates: MatterRates) -> None:
    """Fill each record's pairs with the earlier cases still open when it arrived.

    A training record's matter rate leaves its own outcome out; a test record's is what the
    training records say."""
    index = CandidateIndex(WINDOW, RADIUS_M)
    records.sort(key=lambda r: (r.case.received, r.test))
    step = max(1, len(records) // 10)
    for n, r in enumerate(records, start=1):
        found = index.candidates(r.case)
        if found:
            own = None if r.test else r.label
            rate = rates.rate(r.case.matter, r.case.parent, leave_out=own)
            k = len(found)
            r.pairs = [compare(r.case, c, None, k, rate) for c in found]
        index.add(r.case)
        if n % step == 0:
            progress(f"duplicates: replayed {n:,} of {len(records):,} records")


@dataclass
class Table:
    """The pairs of some records as columns, with the record each pair belongs to."""

    records: Sequence[Record]
    cols: Columns
    owner: np.ndarray

    @classmethod
    def of(cls, records: Sequence[Record]) -> Table:
        pairs = [p for r in records for p in r.pairs]
        owner = np.repeat(np.arange(len(records)), [len(r.pairs) for r in records])
        return cls(records, columns(pairs), owner)

    @property
    def labels(self) -> list[bool]:
        return [r.label for r in self.records]

    def best(self, pair_scores: np.ndarray) -> np.ndarray:
        """Each record's best candidate score (0 without candidates)."""
        out = np.zeros(len(self.records))
        np.maximum.at(out, self.owner, pair_scores)
        return out


def scores_f1(labels: Sequence[bool], flagged: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for y, f in zip(labels, flagged, strict=True) if y and f)
    fp = sum(1 for y, f in zip(labels, flagged, strict=True) if f and not y)
    fn = sum(1 for y, f in zip(labels, flagged, strict=True) if y and not f)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def best_threshold(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """The threshold that maximises F1 on these records (ties: fewer flags), placed halfway
    between the lowest score flagged and the next score below it, not on a training score."""
    order = sorted(zip(scores, labels, strict=True), key=lambda x: -x[0])
    positives = sum(labels)
    if positives == 0:
        return 1.0
    tp = fp = 0
    best_f1, best_t = -1.0, 1.0
    for i, (s, y) in enumerate(order):
        tp += int(y)
        fp += int(not y)
        below = order[i + 1][0] if i + 1 < len(order) else 0.0
        if below == s:
            continue
        f1 = 2 * tp / (tp + fp + positives)
        if s > 0 and f1 > best_f1:
            best_f1, best_t = f1, (s + below) / 2
    return best_t


def fit_logistic(table: Table) -> LogisticScore:
    """Fit the pair model on train records: multiple-instance rounds, then the threshold."""
    from sklearn.linear_model import LogisticRegression

    labels = np.array(table.labels, dtype=bool)
    if len(table.owner) == 0 or not labels[table.owner].any() or labels[table.owner].all():
        raise InputError(
            "train: need records with candidates, some marked duplicate in CLOSURE_REASON "
            "and some not, to learn from; give a longer training period"
        )
    x = feature_matrix(table.cols)
    # Features that never vary here (Boston has no citizen text) cannot be learned: left at 0.
    varies = x.std(axis=0) > 0
    x = x[:, varies]
    y = labels[table.owner].astype(float)
    per_record = 1.0 / np.bincount(table.owner, minlength=len(labels))[table.owner]
    keep = np.ones(len(y), dtype=bool)
    weight = per_record
    model: LogisticScore | None = None
    for _round in range(MIL_ROUNDS):
        lr = LogisticRegression(C=1.0, max_iter=1000)
        lr.fit(x[keep], y[keep], sample_weight=weight[keep])
        weights = dict.fromkeys(FEATURES, 0.0)
        learned = (f for f, v in zip(FEATURES, varies, strict=True) if v)
        weights.update(zip(learned, (float(w) for w in lr.coef_[0]), strict=True))
        model = LogisticScore(weights=weights, bias=float(lr.intercept_[0]))
        # A duplicate record repeats one case: from now on its best-scoring pair is the
        # positive example and its other pairs are left out.
        s = model.scores(table.cols)
        order = np.lexsort((-s, table.owner))
        first = np.r_[True, table.owner[order][1:] != table.owner[order][:-1]]
        top = np.zeros(len(y), dtype=bool)
        top[order[first]] = True
        keep = (y == 0) | top
        weight = np.where(y > 0, 1.0, per_record)
    assert model is not None
    t = best_threshold(table.labels, table.best(model.scores(table.cols)).tolist())
    return LogisticScore(weights=model.weights, bias=model.bias, threshold=t)


# The rule's weights tried (the text weight stays at 0.1: without text on either side the text
# part is a constant, which does not change the order of scores).
RULE_GRID: tuple[dict[str, float], ...] = tuple(
    {"matter": m, "place": p, "time": t, "text": 0.1, "half_life_h": h}
    for m in (0.0, 0.1, 0.2)
    for p in (0.3, 0.5, 0.7)
    for t in (0.1, 0.2, 0.3, 0.4)
    for h in (24.0, 72.0, 168.0)
)


def fit_rule(table: Table) -> WeightedRule:
    """Choose the rule's weights, time half-life and threshold by F1 on train records."""
    labels = table.labels
    best: tuple[float, WeightedRule] | None = None
    for w in RULE_GRID:
        scores = table.best(WeightedRule(**w).scores(table.cols)).tolist()
        t = best_threshold(labels, scores)
        f1 = scores_f1(labels, [s >= t for s in scores])["f1"]
        if best is None or f1 > best[0]:
            best = (f1, WeightedRule(threshold=t, **w))
    assert best is not None
    return best[1]


def baseline(cols: Columns) -> np.ndarray:
    """The rule before learning: same TYPE, both points within 300 m, at most 72 h earlier."""
    near = np.nan_to_num(cols["metres"], nan=np.inf) <= RADIUS_M
    recent = cols["hours"] <= BASELINE_WINDOW.total_seconds() / 3600
    return ((cols["same_matter"] > 0) & near & recent).astype(float)


def evaluate(table: Table, scores: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = (table.best(scores) >= threshold).tolist()
    return scores_f1(table.labels, flagged)


def run(train: str, test: str) -> dict[str, Any]:
    progress(f"duplicates: reading {train} and {test}")
    train_records = read(train, test=False)
    test_records = read(test, test=True)
    replay(train_records + test_records, matter_rates(train_records))
    progress("duplicates: fitting the scores on the training records")
    fit_on, score_on = Table.of(train_records), Table.of(test_records)
    logistic = fit_logistic(fit_on)
    rule = fit_rule(fit_on)
    return {
        **evaluate(score_on, logistic.scores(score_on.cols), logistic.threshold),
        "n_test": len(test_records),
        "n_test_duplicates": sum(score_on.labels),
        "n_test_with_candidates": sum(1 for r in test_records if r.pairs),
        "n_train": len(train_records),
        "n_train_duplicates": sum(fit_on.labels),
        "model": logistic.to_dict(),
        "at_product_threshold": {
            **evaluate(score_on, logistic.scores(score_on.cols), DEFAULT_MIN_SCORE),
            "threshold": DEFAULT_MIN_SCORE,
        },
        "rule": {
            **evaluate(score_on, rule.scores(score_on.cols), rule.threshold),
            **rule.to_dict(),
        },
        "baseline": evaluate(score_on, baseline(score_on.cols), 1.0),
    }
