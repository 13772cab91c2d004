"""Duplicates: pair features, scores and reasons on plain cases; the candidate index; the
triage step through real intake (what it proposes, what it must not, how many queries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation

from civitas.appeals import services
from civitas.appeals.models import Appeal, Status
from civitas.kit import clock
from civitas.matters import services as matter_services
from civitas.understanding import duplicates as dup
from civitas.understanding.duplicates import (
    CandidateIndex,
    Case,
    LogisticScore,
    MatterRates,
    Pair,
    TextSimilarity,
    WeightedRule,
    compare,
    features,
    reason,
    score,
)
from tests import factories
from tests.appeals.conftest import case_city, fresh, submit  # noqa: F401  (fixture)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
# One degree of latitude is about 111 km: 0.0001° is 11 m.
M = 1 / 111_195


def case(key: Any, hours: float = 0.0, **kw: Any) -> Case:
    defaults: dict[str, Any] = {"matter": "lift", "parent": "property", "lat": 0.5, "lon": 0.5}
    return Case(key=key, received=T0 + timedelta(hours=hours), **{**defaults, **kw})


# -- features, scores, reasons ------------------------------------------------------------------


def test_metres_and_addresses() -> None:
    assert dup.metres(0.5, 0.5, 0.5 + 100 * M, 0.5) == pytest.approx(100, abs=0.5)
    assert dup.normal_address("12  Elm St.") == dup.normal_address("12 elm st") == "12 elm st"


def test_compare_describes_the_pair() -> None:
    old = case(1, address="12 elm st")
    new = case(2, hours=3, lat=0.5 + 40 * M, address="12 elm st")
    pair = compare(new, old, text=0.82)
    assert pair.same_matter and pair.same_address and not pair.same_area
    assert pair.metres == pytest.approx(40, abs=0.5)
    assert pair.hours == pytest.approx(3)
    sibling = compare(case(3, hours=1, matter="water"), old)
    assert not sibling.same_matter and not sibling.same_address


def test_same_area_counts_only_when_a_point_is_missing() -> None:
    old = case(1, area="/T/T-D1/")
    assert compare(case(2, area="/T/T-D1/"), old).same_area is False  # both have points
    unlocated = compare(case(3, lat=None, lon=None, area="/T/T-D1/"), old)
    assert unlocated.same_area and unlocated.metres is None
    assert not compare(case(4, lat=None, lon=None, area="/T/T-D2/"), old).same_area


def test_features_put_distance_and_time_in_one_bin_each() -> None:
    near = features(Pair(True, False, 10.0, False, 0.5, None))
    assert near["near_15m"] == 1 and near["near_50m"] == near["point_far"] == 0
    assert near["gap_1h"] == 1 and near["gap_6h"] == 0
    assert near["no_text"] == 1 and near["text"] == 0
    far = features(Pair(True, False, 250.0, False, 100.0, 0.4, crowd=3, matter_rate=1.2))
    assert far["point_far"] == 1 and far["near_15m"] == far["near_150m"] == 0
    assert far["gap_7d"] == 1 and far["gap_72h"] == 0
    assert far["text"] == pytest.approx(0.4) and far["no_text"] == 0
    assert far["crowd"] > 0 and far["matter_rate"] == pytest.approx(1.2)
    unlocated = features(Pair(True, False, None, True, 2.0, None))
    assert unlocated["same_area"] == 1
    assert sum(unlocated[k] for k in ("near_15m", "near_50m", "near_150m", "point_far")) == 0


def test_the_default_score_prefers_near_recent_similar_pairs() -> None:
    model = dup.DEFAULT_MODEL
    close = Pair(True, True, 5.0, False, 0.5, 0.9)
    assert 0.0 <= score(model, close) <= 1.0
    assert score(model, close) > score(model, Pair(True, False, 250.0, False, 0.5, 0.9))
    assert score(model, close) > score(model, Pair(True, True, 5.0, False, 0.5, 0.05))
    assert score(model, close) > score(model, Pair(False, True, 5.0, False, 0.5, 0.9))
    prone = Pair(True, True, 5.0, False, 0.5, 0.9, matter_rate=1.0)
    assert score(model, prone) > score(model, close)
    # Without text the pair scores as fitted: the hand-set text part is neutral at 0.25.
    untold = Pair(True, True, 5.0, False, 0.5, None)
    assert score(model, untold) == pytest.approx(
        score(model, Pair(True, True, 5.0, False, 0.5, 0.25))
    )


def test_logistic_weights_read_by_name() -> None:
    model = LogisticScore(weights={"same_address": 2.0}, bias=-1.0)
    assert score(model, Pair(True, True, 5.0, False, 1.0, None)) == pytest.approx(0.7311, abs=1e-4)
    assert score(model, Pair(True, False, 5.0, False, 1.0, None)) == pytest.approx(0.2689, abs=1e-4)


def test_weighted_rule_is_a_mean_of_parts_in_zero_one() -> None:
    rule = WeightedRule(matter=0.25, place=0.25, time=0.25, text=0.25, half_life_h=10)
    perfect = Pair(True, True, 0.0, False, 0.0, 1.0)
    assert score(rule, perfect) == pytest.approx(1.0)
    half = Pair(False, False, 300.0, False, 10.0, 0.5)  # 0.5, 0, 0.5, 0.5
    assert score(rule, half) == pytest.approx(0.375)
    assert score(rule, Pair(True, False, None, True, 0.0, 1.0)) == pytest.approx(0.875)


def test_reason_reads_like_a_sentence() -> None:
    with translation.override("en"):
        pair = Pair(True, False, 40.2, False, 3.1, 0.82)
        assert reason(pair) == "same matter, 40 m away, 3 h earlier, text 82% similar"
        assert reason(Pair(False, True, 3.0, False, 0.2, None)) == (
            "related matter, same address, 12 minutes earlier"
        )
        assert reason(Pair(True, False, None, True, 50.0, None, area_name="Oak 111")) == (
            "same matter, both in Oak 111, 2 days earlier"
        )
        assert reason(Pair(True, False, None, True, 24.4, None)) == (
            "same matter, same area, 24 h earlier"
        )
        assert reason(Pair(True, False, None, False, 47.4, None)) == "same matter, 47 h earlier"
        assert reason(Pair(True, False, None, False, 48.0, None)) == "same matter, 2 days earlier"


def test_text_similarity() -> None:
    sim = TextSimilarity()
    assert sim.similarity("The lift is broken", "The lift is broken") == 1.0
    assert sim.similarity("", "The lift is broken") is None
    related = sim.similarity(
        "The lift in building 3 is broken again",
        "Lift in building 3 broken, my grandmother cannot get out",
    )
    unrelated = sim.similarity(
        "The lift in building 3 is broken again", "Garbage not collected on Oak Avenue"
    )
    assert related is not None and unrelated is not None and related > unrelated + 0.2
    chinese = sim.similarity("3号楼电梯又坏了", "3号楼电梯坏了，老人下不了楼")
    other = sim.similarity("3号楼电梯又坏了", "小区门口垃圾没人清运")
    assert chinese is not None and other is not None and chinese > 0.4 > other


def test_matter_rates_shrink_towards_the_parent() -> None:
    rates = MatterRates(
        {
            ("graffiti", "street"): (100, 30),
            ("light", "street"): (100, 2),
            ("noise", "quiet"): (200, 4),
        }
    )
    assert rates.rate("graffiti", "street") > 0 > rates.rate("light", "street")
    unseen = rates.rate("new-type", "street")
    assert rates.rate("light", "street") < unseen < rates.rate("graffiti", "street")
    assert rates.rate("other", "") == pytest.approx(0.0)
    # Leaving a case's own outcome out lowers the rate of the duplicate it was.
    assert rates.rate("graffiti", "street", leave_out=True) < rates.rate("graffiti", "street")
    assert MatterRates({}).rate("x", "y") == pytest.approx(0.0)


# -- the candidate index ------------------------------------------------------------------------


def test_index_finds_open_near_related_cases_only() -> None:
    index = CandidateIndex(window=timedelta(days=30), radius=300)
    near = case("near", lat=0.5 + 100 * M)
    sibling = case("sibling", matter="water", lat=0.5 + 50 * M)
    far = case("far", lat=0.5 + 400 * M)
    other = case("other", matter="pothole", parent="roads")
    closed = case("closed", closed=T0 + timedelta(hours=1))
    address = case("address", lat=None, lon=None, address="12 elm st")
    area = case("area", lat=None, lon=None, area="p503")
    for c in (near, sibling, far, other, closed, address, area):
        index.add(c)
    new = case("new", hours=2, address="12 elm st", area="p503")
    got = {c.key for c in index.candidates(new)}
    assert got == {"near", "sibling", "address", "area"}


def test_index_forgets_cases_older_than_the_window() -> None:
    index = CandidateIndex(window=timedelta(days=30), radius=300)
    index.add(case("old"))
    assert [c.key for c in index.candidates(case("new", hours=24 * 29))] == ["old"]
    assert index.candidates(case("later", hours=24 * 31)) == []
    assert index.candidates(case("again", hours=24 * 29)) == []  # dropped for good


def test_index_needs_a_parent_or_the_same_matter() -> None:
    index = CandidateIndex()
    index.add(case("a", matter="x", parent=""))
    assert [c.key for c in index.candidates(case("b", hours=1, matter="x", parent=""))] == ["a"]
    assert index.candidates(case("c", hours=1, matter="y", parent="")) == []


# -- the triage step through real intake --------------------------------------------------------

STEPS = [
    "civitas.appeals.triage.locate_step",
    "civitas.appeals.triage.keyword_classifier",
    "civitas.appeals.triage.urgency_step",
    "civitas.understanding.duplicates.duplicate_step",
]
FIRST = "The lift in building 3 is broken again"
SECOND = "Lift in building 3 broken, my grandmother cannot get out"


@pytest.fixture
def steps(settings: Any, case_city: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    settings.CIVITAS_TRIAGE_STEPS = STEPS
    dup.forget()
    with transaction.atomic():
        factories.water_matter(case_city, keywords=("water",))
        roads = matter_services.save_matter(
            actor="test", catalogue="T", code="T-M2", name_en="Roads", name_zh="道路"
        )
        mid = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M2-1",
            name_en="Surface",
            name_zh="路面",
            parent=roads,
        )
        case_city["pothole"] = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code="T-M2-1-1",
            name_en="Pothole",
            name_zh="坑洼",
            parent=mid,
            keywords=["pothole"],
        )
    yield case_city
    dup.forget()


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_second_report_of_the_same_lift_is_proposed(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, FIRST, received_at=_at(0)).appeal
        second = submit(steps, SECOND, lat=0.5001, lon=0.5001, received_at=_at(1)).appeal
    got = fresh(second)
    assert got.duplicate_candidate == first
    assert got.duplicate_score is not None and got.duplicate_score >= dup.min_score()
    assert got.duplicate_reason.startswith("same matter, 16 m away, 1 h earlier, text ")
    assert got.duplicate_of is None and got.status != Status.CLOSED  # proposed, not decided
    assert fresh(first).duplicate_candidate is None


def test_a_sibling_matter_is_related(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, FIRST, matter_code="T-M1-1-2", received_at=_at(0)).appeal
        second = submit(steps, f"{FIRST}!", lat=0.5001, received_at=_at(1)).appeal
    assert first.matter == steps["water"] and second.matter == steps["leaf"]
    got = fresh(second)
    assert got.duplicate_candidate == first
    assert got.duplicate_reason.startswith("related matter, 11 m away")


def test_the_same_address_without_a_point(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, FIRST, lat=None, lon=None, address="12 Elm Road, gate 3").appeal
        second = submit(steps, SECOND, lat=None, lon=None, address="12 elm road gate 3").appeal
    got = fresh(second)
    assert got.duplicate_candidate == first
    assert "same address" in got.duplicate_reason


@pytest.mark.parametrize(
    ("why", "second"),
    [
        ("far", {"text": SECOND, "lat": 0.52}),
        ("old", {"text": SECOND, "received_at": _at(24 * 31)}),
        ("other matter", {"text": "Deep pothole outside building 3 is broken again"}),
    ],
)
def test_nothing_is_proposed_when(steps: dict[str, Any], why: str, second: dict[str, Any]) -> None:
    at = second.get("received_at", _at(1))
    with clock.frozen(at):
        submit(steps, FIRST, received_at=_at(0))
        got = submit(steps, **second).appeal
    if why == "other matter":
        assert got.matter == steps["pothole"]
    got = fresh(got)
    assert got.duplicate_candidate is None, why
    assert got.duplicate_score is None and got.duplicate_reason == ""


def test_nothing_is_proposed_when_the_first_case_is_closed(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, FIRST, received_at=_at(0)).appeal
        Appeal.objects.filter(pk=first.pk).update(status=Status.CLOSED)
        got = submit(steps, SECOND, lat=0.5001, received_at=_at(1)).appeal
    assert fresh(got).duplicate_candidate is None


def test_nothing_is_proposed_below_the_configured_score(
    steps: dict[str, Any], settings: Any
) -> None:
    settings.CIVITAS_DUPLICATE_MIN_SCORE = 0.99
    with clock.frozen(_at(1)):
        submit(steps, FIRST, received_at=_at(0))
        got = submit(steps, SECOND, lat=0.5001, received_at=_at(1)).appeal
    assert fresh(got).duplicate_candidate is None


def test_a_case_already_merged_is_not_proposed_again(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, FIRST, received_at=_at(0)).appeal
        second = submit(steps, SECOND, lat=0.5001, received_at=_at(0.5)).appeal
        with transaction.atomic():
            services.mark_duplicate(actor=steps["dispatcher"], appeal=fresh(second), of=first)
        third = submit(steps, SECOND, lat=0.5001, received_at=_at(1)).appeal
    assert fresh(third).duplicate_candidate == first


def test_the_step_reads_little(steps: dict[str, Any], django_assert_max_num_queries: Any) -> None:
    with clock.frozen(_at(1)):
        submit(steps, FIRST, received_at=_at(0))
        for i in range(5):
            submit(steps, f"Pothole number {i} on the road", lat=0.5 + 0.0001 * i)
        appeal = submit(steps, SECOND, lat=0.5001, received_at=_at(1)).appeal
        appeal = fresh(appeal)
        appeal.matter  # noqa: B018  (loaded by the classifier at intake)
        appeal.jurisdiction  # noqa: B018
        dup.forget()
        with django_assert_max_num_queries(2):  # candidates + the hourly matter rates
            dup.duplicate_step(appeal)
        with django_assert_max_num_queries(1):  # rates cached
            dup.duplicate_step(appeal)
    assert appeal.duplicate_candidate_id is not None


def test_matter_rates_come_from_marked_duplicates(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(3)):
        for i in range(3):
            first = submit(steps, FIRST, lat=0.2 + 0.1 * i, received_at=_at(0)).appeal
            again = submit(steps, SECOND, lat=0.2 + 0.1 * i, received_at=_at(1)).appeal
            with transaction.atomic():
                services.mark_duplicate(actor=steps["dispatcher"], appeal=fresh(again), of=first)
        submit(steps, "No water in building 9", lat=1.5)
        Appeal.objects.filter(matter=steps["water"]).update(status=Status.CLOSED)
        dup.forget()
        rates = dup.matter_rates("T")
    leaf, water = steps["leaf"], steps["water"]
    lift_rate = rates.rate(str(leaf.pk), str(leaf.parent_id))
    water_rate = rates.rate(str(water.pk), str(water.parent_id))
    assert lift_rate > 0 > water_rate


def test_without_points_the_same_community_counts(steps: dict[str, Any]) -> None:
    with clock.frozen(_at(1)):
        first = submit(steps, "The lift at Oak 111 Community is broken", lat=None, lon=None)
        second = submit(steps, "The lift at Oak 111 Community is broken again", lat=None, lon=None)
    got = fresh(second.appeal)
    assert got.jurisdiction == steps["T-D1-S1-C1"] and got.locate_method == "text"
    assert got.duplicate_candidate == first.appeal
    # Written in the installation's language (English here), with the community's name.
    assert got.duplicate_reason.startswith("same matter, both in Oak 111 Community, ")
