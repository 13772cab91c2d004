"""The learned classifier in the product: training from confirmed appeals, the triage step,
the fallback to keyword rules, the threshold that sends unsure cases to a person."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services
from civitas.appeals.models import Channel, Status
from civitas.matters.models import Matter
from civitas.understanding import classifier, store, tasks
from tests import factories
from tests.appeals.conftest import fresh, submit

pytestmark = pytest.mark.django_db

LIFT = [
    "The lift in building {n} is broken and stuck between floors",
    "电梯坏了，{n}号楼的老人下不了楼",
    "Elevator out of service again in block {n}, we are trapped upstairs",
    "{n}栋电梯停运三天了，没人维修",
]
WATER = [
    "Water pipe burst in the street near gate {n}, the road is flooded",
    "{n}号门前自来水管爆裂，路面积水严重",
    "No running water in building {n} since yesterday morning",
    "小区{n}栋停水两天了，供水公司不回电话",
]


@pytest.fixture
def two_matters(case_city: dict[str, Any]) -> dict[str, Any]:
    factories.water_matter(case_city, listed=True)
    return case_city


def _confirmed(city: dict[str, Any], per_matter: int = 6) -> None:
    """Appeals entered by staff with the matter chosen: confirmed labels."""
    for i in range(per_matter):
        for texts, matter in ((LIFT, city["leaf"]), (WATER, city["water"])):
            submit(
                city,
                text=texts[i % len(texts)].format(n=i + 1),
                matter_code=matter.code,
                channel=Channel.HOTLINE,
            )


def test_without_a_model_the_keyword_rules_classify(two_matters: dict[str, Any]) -> None:
    appeal = submit(two_matters, text="The lift is broken").appeal
    assert appeal.matter == two_matters["leaf"]
    assert appeal.matter_method == "keywords"
    assert appeal.matter_model == ""


def test_a_trained_model_classifies_new_appeals(two_matters: dict[str, Any]) -> None:
    _confirmed(two_matters)
    mv = classifier.train(city="T", by="test")
    assert mv.active and mv.summary["n_train"] == 12
    assert mv.summary["n_classes"] == 2
    assert 0.0 <= mv.scores["macro_f1"] <= 1.0
    appeal = submit(two_matters, text="电梯又坏了，老人被困").appeal
    assert appeal.matter == two_matters["leaf"]
    assert appeal.matter_method == "model"
    assert appeal.matter_model == mv.label
    assert 0.5 < appeal.matter_confidence <= 1.0
    received = appeal.events.get(action="received")
    assert received.data["model"] == mv.label
    assert received.data["alternatives"][0][0] == "T-M1-1-2"
    water = submit(two_matters, text="Burst water pipe, the street is flooded").appeal
    assert water.matter == two_matters["water"]


def test_a_broken_model_file_falls_back_to_the_rules(
    two_matters: dict[str, Any], model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _confirmed(two_matters)
    mv = classifier.train(city="T", by="test")
    store.forget()
    (model_dir / mv.file).write_bytes(b"\x00corrupted")
    with caplog.at_level(logging.ERROR):
        appeal = submit(two_matters, text="The lift is broken").appeal
    assert appeal.matter_method == "keywords"
    assert appeal.status == Status.DISPATCHED
    assert "checksum" in caplog.text
    (model_dir / mv.file).unlink()
    appeal = submit(two_matters, text="The lift is broken").appeal
    assert appeal.matter_method == "keywords"


def test_unsure_classifications_wait_for_a_person(
    two_matters: dict[str, Any], settings: Any
) -> None:
    _confirmed(two_matters)
    classifier.train(city="T", by="test")
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.999
    held = submit(two_matters, text="something happened near building 4").appeal
    assert held.matter_method == "model"
    assert held.status == Status.TRIAGE
    hold = held.events.get(action="hold_for_triage")
    assert "classification unsure" in hold.note
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.0
    sent = submit(two_matters, text="something happened near building 4").appeal
    assert sent.status == Status.DISPATCHED


def test_a_dispatchers_correction_is_learned_at_the_next_training(
    two_matters: dict[str, Any], settings: Any
) -> None:
    _confirmed(two_matters)
    first = classifier.train(city="T", by="test")
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.999
    held = submit(two_matters, text="Hydrant leaking in the courtyard, everything is wet").appeal
    with transaction.atomic():
        services.reclassify(
            actor=two_matters["dispatcher"], appeal=held, matter=two_matters["water"]
        )
    held = fresh(held)
    assert held.matter_method == "staff"
    assert tasks.due("T") is False  # fewer confirmed appeals than the retraining minimum
    settings.CIVITAS_RETRAIN_MIN_CONFIRMED = 5
    assert tasks.due("T") is True
    done = tasks.retrain()
    second = store.active("classifier", "T")
    assert second is not None and second.version == first.version + 1
    assert done["T/classifier"].startswith(second.label)
    assert second.summary["corrections"] == 1
    assert second.summary["n_train"] == first.summary["n_train"] + 1
    assert second.summary["confirmed_by"]["staff"] == 13
    assert tasks.due("T") is False  # nothing new since


def test_the_catalogue_seeds_a_model_with_no_confirmed_appeals(two_matters: dict[str, Any]) -> None:
    mv = classifier.train(city="T", by="test")
    assert mv.summary["n_train"] == 0 and mv.summary["n_seed_matters"] == 2
    assert mv.scores == {}
    appeal = submit(two_matters, text="供水 停水").appeal
    assert appeal.matter_method == "model"
    assert appeal.matter == Matter.objects.get(code="T-M1-1-2")


def test_sure_keywords_stand_when_the_model_is_unsure(
    two_matters: dict[str, Any], settings: Any
) -> None:
    _confirmed(two_matters)
    mv = classifier.train(city="T", by="test")
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.999
    appeal = submit(two_matters, text="Our lift has a strange noise").appeal
    assert (appeal.matter, appeal.matter_method) == (two_matters["leaf"], "keywords")
    assert appeal.status == Status.DISPATCHED
    received = appeal.events.get(action="received")
    assert received.data["model"] == mv.label and received.data["model_said"][1] < 0.999


def test_a_matter_nobody_confirmed_yet_can_still_be_predicted(
    two_matters: dict[str, Any], settings: Any
) -> None:
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.0  # the model's answer stands, sure or not
    for i in range(6):
        submit(
            two_matters,
            text=LIFT[i % len(LIFT)].format(n=i + 1),
            matter_code="T-M1-1-1",
            channel=Channel.HOTLINE,
        )
    mv = classifier.train(city="T", by="test")
    assert mv.summary["n_classes"] == 1  # confirmed labels: only the lift
    appeal = submit(two_matters, text="供水管道坏了，供水中断").appeal
    assert (appeal.matter, appeal.matter_method) == (two_matters["water"], "model")
