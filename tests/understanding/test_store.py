from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from civitas.kit import audit
from civitas.kit.errors import Conflict, NotFound
from civitas.understanding import store
from civitas.understanding.models import ModelVersion

pytestmark = pytest.mark.django_db


def _save(obj: object, **kw: object) -> ModelVersion:
    return store.save(
        kind="classifier", city="t", obj=obj, summary={"n_train": 3}, scores={}, by="test", **kw
    )


def test_save_writes_versions_and_activates_the_newest(model_dir: Path) -> None:
    v1 = _save({"weights": [1, 2]})
    v2 = _save({"weights": [3, 4]})
    assert (v1.version, v2.version) == (1, 2)
    assert (model_dir / v2.file).is_file()
    assert list(ModelVersion.objects.filter(active=True)) == [v2]
    mv, obj = store.load("classifier", "t")  # type: ignore[misc]
    assert mv == v2 and obj == {"weights": [3, 4]}
    assert audit.verify().ok


def test_a_version_can_be_stored_without_activating_it() -> None:
    v1 = _save("first")
    _save("second", activate=False)
    assert store.active("classifier", "t") == v1


def test_rollback_activates_the_previous_version_and_back_again() -> None:
    _save("first")
    _save("second")
    rolled = store.rollback(kind="classifier", city="t", by="test")
    assert rolled.version == 1
    assert store.load("classifier", "t")[1] == "first"  # type: ignore[index]
    with pytest.raises(Conflict, match="no earlier"):
        store.rollback(kind="classifier", city="t", by="test")
    store.activate(kind="classifier", city="t", version=2, by="test")
    assert store.load("classifier", "t")[1] == "second"  # type: ignore[index]
    with pytest.raises(NotFound):
        store.activate(kind="classifier", city="t", version=9, by="test")


def test_no_model_is_none_not_an_error() -> None:
    assert store.load("classifier", "nowhere") is None


def test_missing_file_is_a_clear_error(model_dir: Path) -> None:
    mv = _save("x")
    store.forget()
    (model_dir / mv.file).unlink()
    with pytest.raises(store.ModelUnavailable, match="missing; retrain"):
        store.load("classifier", "t")


def test_altered_file_fails_its_checksum(model_dir: Path) -> None:
    mv = _save("x")
    store.forget()
    (model_dir / mv.file).write_bytes(b"not a model")
    with pytest.raises(store.ModelUnavailable, match="checksum"):
        store.load("classifier", "t")
    with pytest.raises(store.ModelUnavailable), transaction.atomic():
        store.activate(kind="classifier", city="t", version=1, by="test")


def test_unreadable_file_with_matching_checksum_is_a_clear_error(model_dir: Path) -> None:
    mv = _save("x")
    store.forget()
    path = model_dir / mv.file
    path.write_bytes(b"garbage that is not a joblib pickle")
    ModelVersion.objects.filter(pk=mv.pk).update(sha256=store._sha256(path))
    with pytest.raises(store.ModelUnavailable, match="cannot be read"):
        store.load("classifier", "t")


def test_a_clearly_worse_version_is_kept_but_not_activated() -> None:
    def train(f1: float) -> ModelVersion:
        return store.save(
            kind="classifier",
            city="t",
            obj=f1,
            summary={},
            scores={"macro_f1": f1},
            by="test",
            activate=None,
            metric="macro_f1",
        )

    first = train(0.80)
    assert train(0.79).active  # within 0.02: activated
    assert not train(0.70).active  # clearly worse: stored only
    assert store.active("classifier", "t").version == 2  # type: ignore[union-attr]
    assert first.version == 1
