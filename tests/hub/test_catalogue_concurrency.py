"""Two stewards saving the same dataset at the same moment: the second is told, and schema
version numbers stay dense. Threads need row locks (PostgreSQL); they skip on SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.hub import catalogue
from civitas.hub.models import Dataset, SchemaVersion
from civitas.kit import audit
from tests import factories
from tests.hub.test_catalogue import ACCIDENT_FIELDS
from tests.racing import needs_postgres, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_schemas_saved_from_the_same_version(hub: dict[str, Any]) -> None:
    ds: Dataset = hub["dataset"]
    other = factories.member("steward2", "data_steward", hub["market"])
    results = race(
        lambda: catalogue.save_schema(hub["steward"], ds, ACCIDENT_FIELDS[:3], version=1),
        lambda: catalogue.save_schema(other, ds, ACCIDENT_FIELDS[:4], version=1),
    )
    assert sorted(results) == ["StaleDataset", "ok"]
    numbers = list(SchemaVersion.objects.filter(dataset=ds).values_list("number", flat=True))
    assert sorted(numbers) == [1, 2]
    ds.refresh_from_db()
    assert ds.version == 2 and ds.schema is not None and ds.schema.number == 2
    assert audit.verify().ok


def test_an_edit_and_a_schema_from_the_same_version(hub: dict[str, Any]) -> None:
    ds: Dataset = hub["dataset"]
    results = race(
        lambda: catalogue.update_dataset(hub["steward"], ds, version=1, title_en="Checks"),
        lambda: catalogue.save_schema(hub["steward"], ds, ACCIDENT_FIELDS, version=1),
    )
    assert sorted(results) == ["StaleDataset", "ok"]
    ds.refresh_from_db()
    assert ds.version == 2
    assert audit.verify().ok
