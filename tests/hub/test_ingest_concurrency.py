"""Two runs of one batch at the same moment: one loads, the other is told (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from civitas.hub import ingest
from civitas.hub.models import Batch, BatchStatus, Record
from tests.hub.ingest_setup import rows, write_csv
from tests.racing import needs_postgres, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_runs_of_one_batch_load_once(hub: dict[str, Any], tmp_path: Path) -> None:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        batch = ingest.stage_file(
            hub["steward"],
            hub["dataset"],
            write_csv(tmp_path / "a.csv", rows(6000)),
            filename="a.csv",
        )
        results = race(lambda: ingest.run(batch), lambda: ingest.run(batch))
    assert sorted(results) == ["Conflict", "ok"]
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPLIED
    assert Record.objects.filter(batch=batch).count() == 6000


def test_two_batches_of_one_dataset_numbered_apart(hub: dict[str, Any], tmp_path: Path) -> None:
    made: list[Batch] = []
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        path = write_csv(tmp_path / "a.csv", rows(3))
        results = race(
            *[
                (
                    lambda: made.append(
                        ingest.stage_file(hub["steward"], hub["dataset"], path, filename="a.csv")
                    )
                )
                for _ in range(3)
            ]
        )
    assert results == ["ok", "ok", "ok"]
    assert sorted(b.number for b in made) == [1, 2, 3]


def test_append_and_replace_at_once_keep_the_count_true(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        first = ingest.stage_file(
            hub["steward"],
            hub["dataset"],
            write_csv(tmp_path / "a.csv", rows(50)),
            filename="a.csv",
        )
        ingest.run(first)
        append = ingest.stage_file(
            hub["steward"],
            hub["dataset"],
            write_csv(tmp_path / "b.csv", rows(5000)),
            filename="b.csv",
        )
        replace = ingest.stage_file(
            hub["steward"],
            hub["dataset"],
            write_csv(tmp_path / "c.csv", rows(20)),
            filename="c.csv",
            mode="replace",
        )
        results = race(lambda: ingest.run(append), lambda: ingest.run(replace))
    assert results == ["ok", "ok"]
    hub["dataset"].refresh_from_db()
    assert hub["dataset"].record_count == Record.objects.filter(dataset=hub["dataset"]).count()
    assert not Record.objects.filter(batch=first).exists()
