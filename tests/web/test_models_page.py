from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from civitas.org.models import User
from civitas.understanding import store
from civitas.understanding.models import ModelVersion
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _models(settings: Any, tmp_path: Any) -> None:
    settings.CIVITAS_MODEL_DIR = tmp_path / "models"
    store.forget()
    for note in ("first", "second"):
        store.save(
            kind="classifier",
            city="T",
            obj=note,
            summary={"n_train": 40, "corrections": 2},
            scores={"accuracy": 0.9, "macro_f1": 0.875},
            by="test",
        )


def test_administrators_see_versions_and_roll_back(people: dict[str, User]) -> None:
    c = client_for(people["admin"])
    page = c.get(reverse("models")).content.decode()
    assert "T-classifier-v2" in page and "T-classifier-v1" in page
    assert "88%" in page  # macro-F1 shown
    assert "Roll back" in page
    r = c.post(reverse("models-act"), {"city": "T", "kind": "classifier", "action": "rollback"})
    assert r.status_code == 302
    assert store.active("classifier", "T").version == 1  # type: ignore[union-attr]
    c.post(
        reverse("models-act"),
        {"city": "T", "kind": "classifier", "action": "activate", "version": "2"},
    )
    assert store.active("classifier", "T").version == 2  # type: ignore[union-attr]


def test_training_from_the_page_is_queued(people: dict[str, User]) -> None:
    from django_tasks_db.models import DBTaskResult

    c = client_for(people["admin"])
    with transaction.atomic():
        r = c.post(reverse("models-act"), {"city": "T", "kind": "classifier", "action": "train"})
    assert r.status_code == 302
    assert DBTaskResult.objects.filter(task_path__endswith="train_now").count() == 1


def test_a_missing_file_is_shown_with_what_to_do(people: dict[str, User], settings: Any) -> None:
    mv = ModelVersion.objects.get(active=True)
    (settings.CIVITAS_MODEL_DIR / mv.file).unlink()
    page = client_for(people["admin"]).get(reverse("models")).content.decode()
    assert "is missing" in page and "keyword rules" in page


def test_dispatchers_read_but_do_not_manage(people: dict[str, User]) -> None:
    c = client_for(people["centre"])
    page = c.get(reverse("models")).content.decode()
    assert "T-classifier-v2" in page and "Roll back" not in page
    r = c.post(reverse("models-act"), {"city": "T", "kind": "classifier", "action": "rollback"})
    assert r.status_code == 403
    assert store.active("classifier", "T").version == 2  # type: ignore[union-attr]


def test_handlers_and_residents_are_refused(people: dict[str, User]) -> None:
    for who in ("handler", "resident"):
        assert client_for(people[who]).get(reverse("models")).status_code == 403


def test_a_bad_version_is_a_message_not_a_crash(people: dict[str, User]) -> None:
    c = client_for(people["admin"])
    r = c.post(
        reverse("models-act"),
        {"city": "T", "kind": "classifier", "action": "activate", "version": "x"},
        follow=True,
    )
    assert r.status_code == 200
    assert "no classifier model version 0" in r.content.decode()


def test_only_managers_see_where_a_broken_file_lies(people: dict[str, User], settings: Any) -> None:
    mv = ModelVersion.objects.get(active=True)
    (settings.CIVITAS_MODEL_DIR / mv.file).unlink()
    admin_page = client_for(people["admin"]).get(reverse("models")).content.decode()
    dispatcher_page = client_for(people["centre"]).get(reverse("models")).content.decode()
    assert mv.file in admin_page
    assert mv.file not in dispatcher_page and "an administrator must retrain" in dispatcher_page
