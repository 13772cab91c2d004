"""The hub in the admin: every model listed, nothing changed there."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from civitas.hub.models import Dataset, SchemaVersion
from tests import factories
from tests.hub import helpers

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(hub: dict[str, Any], settings: Any) -> Client:
    c = Client()
    c.force_login(factories.UserFactory(username="root", is_staff=True, is_superuser=True))
    return c


@pytest.mark.parametrize("model", ["dataset", "schemaversion", "batch", "grant", "accesslog"])
def test_listed_and_read_only(root: Client, hub: dict[str, Any], model: str) -> None:
    helpers.put_records(hub["dataset"], helpers.inspection_rows(2))
    r = root.get(reverse(f"admin:hub_{model}_changelist"))
    assert r.status_code == 200
    assert root.get(reverse(f"admin:hub_{model}_add")).status_code == 403


def test_a_dataset_shows_its_schemas_and_a_schema_its_fields(
    root: Client, hub: dict[str, Any]
) -> None:
    ds: Dataset = hub["dataset"]
    html = root.get(reverse("admin:hub_dataset_change", args=[ds.pk])).content.decode()
    assert "t-inspections" in html and "schema version" in html.lower()
    schema = SchemaVersion.objects.get(dataset=ds)
    html = root.get(reverse("admin:hub_schemaversion_change", args=[schema.pk])).content.decode()
    assert "legal_rep_id" in html and "Identity card number" in html
    r = root.post(reverse("admin:hub_dataset_change", args=[ds.pk]), {"title_en": "changed"})
    assert r.status_code == 403
    ds.refresh_from_db()
    assert ds.title_en == "T Inspections"
    r = root.post(reverse("admin:hub_dataset_delete", args=[ds.pk]), {"post": "yes"})
    assert r.status_code == 403 and Dataset.objects.filter(pk=ds.pk).exists()
