"""The history learner on small generated data: back-off, smoothing, recency, confidence."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timedelta

import pytest

from civitas.understanding.history import Example, HistoryLearner

LEVELS = ("matter×street", "matter×district", "matter")
JAN = datetime(2025, 1, 10, 9, 0)


def keys(matter: str, district: str | None, street: str | None) -> list[tuple[str, ...] | None]:
    return [
        (matter, street) if street else None,
        (matter, district) if district else None,
        (matter,),
    ]


def examples(
    matter: str, district: str | None, street: str | None, label: str, n: int, when: datetime = JAN
) -> list[Example]:
    return [Example(keys(matter, district, street), label, when) for _ in range(n)]


def test_the_most_specific_known_key_decides_and_says_so() -> None:
    learner = HistoryLearner(LEVELS, half_life_days=None).fit(
        examples("lift", "D1", "S1", "street-office", 30)
        + examples("lift", "D1", "S2", "district-housing", 30)
        + examples("lift", "D2", "S3", "d2-housing", 40)
    )
    p = learner.predict(keys("lift", "D1", "S1"))
    assert (p.label, p.level_used, p.support) == ("street-office", 0, 30)
    assert p.share == 1.0 and p.confidence > 0.9
    assert learner.level_name(p.level_used) == "matter×street"

    # An unseen street backs off to the district, where both units are known.
    p = learner.predict(keys("lift", "D2", "S9"))
    assert (p.label, p.level_used, p.support) == ("d2-housing", 1, 40)

    # A case not located to a street (None) skips that level.
    p = learner.predict(keys("lift", "D1", None))
    assert p.level_used == 1 and p.support == 60
    assert p.label in {"street-office", "district-housing"} and p.confidence < 0.6


def test_an_unseen_matter_falls_back_to_the_overall_shares() -> None:
    learner = HistoryLearner(LEVELS, half_life_days=None).fit(
        examples("lift", "D1", "S1", "a", 3) + examples("noise", "D1", "S1", "b", 1)
    )
    p = learner.predict(keys("water", "D1", "S1"))
    assert p.label == "a" and p.level_used is None and p.support == 4
    assert p.confidence == pytest.approx(0.75)
    assert learner.level_name(None) == "overall"


def test_a_few_cases_only_nudge_a_strong_parent() -> None:
    base = examples("lift", "D1", "S1", "district", 50)
    one = HistoryLearner(LEVELS, half_life_days=None, alpha=2).fit(
        base + examples("lift", "D1", "S2", "odd", 1)
    )
    p = one.predict(keys("lift", "D1", "S2"))
    # p(odd) = (1 + 2·p_parent(odd)) / 3: the district's unit stays ahead.
    assert p.label == "district" and p.level_used == 0 and p.support == 1
    assert p.share == 0.0

    many = HistoryLearner(LEVELS, half_life_days=None, alpha=2).fit(
        base + examples("lift", "D1", "S2", "odd", 8)
    )
    p = many.predict(keys("lift", "D1", "S2"))
    assert p.label == "odd" and p.confidence > 0.75 and p.share == 1.0


def test_recent_cases_outweigh_a_queue_that_was_reorganised() -> None:
    before = examples("trash", "D1", None, "old-queue", 60, JAN)
    after = examples("trash", "D1", None, "new-queue", 20, JAN + timedelta(days=90))
    timeless = HistoryLearner(LEVELS, half_life_days=None).fit(before + after)
    assert timeless.predict(keys("trash", "D1", None)).label == "old-queue"

    recent = HistoryLearner(LEVELS, half_life_days=30).fit(before + after)
    p = recent.predict(keys("trash", "D1", None))
    # 60 cases three half-lives old weigh 7.5 against 20 new ones.
    assert p.label == "new-queue"
    assert p.share == pytest.approx(20 / 27.5, abs=0.01)
    assert p.support == 80  # support counts cases, not weights


def test_confidence_follows_how_often_the_label_was_right() -> None:
    rng = random.Random(7)
    train, test = [], []
    for d in range(20):
        district = f"D{d}"
        rate = 0.55 + 0.02 * d  # 0.55 .. 0.93
        for _ in range(400):
            label = "main" if rng.random() < rate else rng.choice(["x", "y"])
            train.append(Example(keys("lift", district, None), label, JAN))
        for _ in range(400):
            label = "main" if rng.random() < rate else rng.choice(["x", "y"])
            test.append((keys("lift", district, None), label))
    learner = HistoryLearner(LEVELS, half_life_days=None).fit(train)
    pairs = [(learner.predict(k), y) for k, y in test]
    for lo, hi in ((0.5, 0.7), (0.7, 0.85), (0.85, 1.0)):
        band = [p.label == y for p, y in pairs if lo <= p.confidence < hi]
        mean_conf = sum(p.confidence for p, _ in pairs if lo <= p.confidence < hi) / len(band)
        assert abs(sum(band) / len(band) - mean_conf) < 0.05, (lo, hi)


def test_nothing_learned_predicts_nothing() -> None:
    learner = HistoryLearner(LEVELS).fit([])
    p = learner.predict(keys("lift", "D1", "S1"))
    assert (p.label, p.confidence, p.support, p.level_used, p.known) == (None, 0.0, 0, None, False)


def test_keys_must_match_the_levels() -> None:
    learner = HistoryLearner(LEVELS)
    with pytest.raises(ValueError, match="expected 3 keys"):
        learner.fit([Example([("lift",)], "a")])
    with pytest.raises(ValueError, match="expected 3 keys"):
        learner.predict([("lift",)])
    with pytest.raises(ValueError):
        HistoryLearner(())
    with pytest.raises(ValueError):
        HistoryLearner(LEVELS, half_life_days=0)
    with pytest.raises(ValueError):
        HistoryLearner(LEVELS, alpha=0)


def test_a_pickled_learner_predicts_the_same() -> None:
    learner = HistoryLearner(LEVELS, half_life_days=45).fit(
        examples("lift", "D1", "S1", "a", 5, JAN)
        + examples("lift", "D1", "S1", "b", 4, JAN + timedelta(days=40))
    )
    copy = pickle.loads(pickle.dumps(learner))  # noqa: S301 (our own object)
    for k in (keys("lift", "D1", "S1"), keys("lift", "D2", None), keys("x", None, None)):
        assert copy.predict(k) == learner.predict(k)
    copy.fit(examples("lift", "D1", "S1", "c", 3))
    assert copy.predict(keys("lift", "D1", "S1")).label == "c"


def test_entries_list_each_keys_leading_label() -> None:
    learner = HistoryLearner(LEVELS, half_life_days=None).fit(
        examples("lift", "D1", "S1", "a", 3)
        + examples("lift", "D1", "S1", "b", 1)
        + examples("lift", "D2", None, "c", 2)
    )
    by_key = {e[0]: e[1:] for e in learner.entries(1)}
    assert by_key[("lift", "D1")] == ("a", 3, 4, 0.75)
    assert by_key[("lift", "D2")] == ("c", 2, 2, 1.0)
    assert learner.summary()["examples"] == 6
