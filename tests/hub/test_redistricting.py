"""Redistricting: when a community moves to another street, the hub's copies of jurisdiction
paths (datasets, grants, records) follow it in the same transaction, so a grant on the old
street no longer covers the community's rows and a grant on the new street does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from civitas.geo import services as geo_services
from civitas.geo.models import Jurisdiction
from civitas.hub import profile
from civitas.hub.models import Dataset, Grant, Record
from civitas.kit import audit
from civitas.kit.models import AuditEntry
from tests.hub import helpers
from tests.hub.test_grants_support import granted, key_client, loaded

pytestmark = pytest.mark.django_db

URL = "/api/hub/datasets/t-inspections/records"
C1 = "T-D1-S1-C1"
OLD = "/T/T-D1/T-D1-S1/T-D1-S1-C1/"
NEW = "/T/T-D1/T-D1-S2/T-D1-S1-C1/"


def move(city: dict[str, Any], code: str, parent: str) -> Jurisdiction:
    j = Jurisdiction.objects.get(code=code)
    with transaction.atomic():
        return geo_services.save_jurisdiction(
            actor="test",
            code=code,
            level=j.level,
            name_en=j.name_en,
            name_zh=j.name_zh,
            parent=city[parent],
            boundary=j.boundary,
            existing=j,
            reason="redistricting",
        )


def areas(client: Any, **params: Any) -> list[str]:
    r = client.get(URL, {"page_size": 500, **params})
    assert r.status_code == 200, r.content
    return [row["area"] for row in r.json()["rows"]]


def test_a_moved_community_leaves_the_old_streets_grant_and_joins_the_new(
    hub: dict[str, Any],
) -> None:
    city = hub["city"]
    loaded(hub, 12)
    on_s1 = granted(hub, fields=["enterprise"], area=city["T-D1-S1"])
    on_s2 = granted(hub, fields=["enterprise"], area=city["T-D1-S2"])
    api = key_client(hub["street"], ["hub:read"])
    before_s1 = areas(api, grant=on_s1.pk)
    before_s2 = areas(api, grant=on_s2.pk)
    in_c1 = before_s1.count(C1)
    assert in_c1 and C1 not in before_s2
    move(city, C1, "T-D1-S2")
    after_s1 = areas(api, grant=on_s1.pk)
    after_s2 = areas(api, grant=on_s2.pk)
    assert after_s1, "the grant still covers the rest of S1"
    assert C1 not in after_s1, "rows of a community now in S2"
    assert after_s2.count(C1) == in_c1
    assert len(after_s1) + len(after_s2) == len(before_s1) + len(before_s2)
    # and the profile of each street agrees
    analyst = hub["consumer"]
    (s2,) = profile.area_profile(analyst, Jurisdiction.objects.get(code="T-D1-S2"))
    assert s2.records == len(after_s2)


def test_rows_loaded_after_the_move_agree_with_the_moved_rows(hub: dict[str, Any]) -> None:
    city = hub["city"]
    old_rows = loaded(hub, 12)
    move(city, C1, "T-D1-S2")
    moved = set(
        Record.objects.filter(
            pk__in=[r.pk for r in old_rows if r.jurisdiction_path == OLD]
        ).values_list("jurisdiction_path", flat=True)
    )
    assert moved == {NEW}
    new_rows = helpers.put_records(hub["dataset"], helpers.inspection_rows(12))
    assert {r.jurisdiction_path for r in new_rows if r.jurisdiction.code == C1} == {NEW}
    assert not Record.objects.filter(jurisdiction_path__startswith=OLD).exists()
    # every record's copy equals its jurisdiction's path
    for rec in Record.objects.select_related("jurisdiction"):
        assert rec.jurisdiction is not None and rec.jurisdiction_path == rec.jurisdiction.path


def test_grants_and_datasets_on_the_moved_subtree_follow_it(hub: dict[str, Any]) -> None:
    """A dataset or a grant on the moved community (or below it) keeps covering it; those on
    other places are untouched, and a sibling whose code starts alike is not moved."""
    city = hub["city"]
    loaded(hub, 12)
    on_c1 = granted(hub, fields=["enterprise"], area=city[C1])
    whole = granted(hub, fields=["enterprise"])
    ds = helpers.make_dataset(
        code="t-c1-only",
        owner=hub["street"],
        area=city[C1],
        fields=[("grid", "string", "public", "grid_code", True)],
    )
    with transaction.atomic():
        lookalike = geo_services.save_jurisdiction(
            actor="test",
            code="T-D1-S1-C1X",
            level=city[C1].level,
            name_en="Lookalike",
            name_zh="相似",
            parent=city["T-D1-S1"],
        )
    helpers.put_records(ds, [{"grid": C1}])
    near = helpers.make_dataset(
        code="t-lookalike",
        owner=hub["street"],
        area=lookalike,
        fields=[("grid", "string", "public", "grid_code", True)],
    )
    helpers.put_records(near, [{"grid": "T-D1-S1-C1X"}])
    outside = Dataset.objects.get(code="t-inspections").jurisdiction_path
    entries = AuditEntry.objects.count()
    move(city, C1, "T-D1-S2")
    # only the move itself is audited
    assert AuditEntry.objects.count() == entries + 1
    assert AuditEntry.objects.order_by("-seq")[0].action == "jurisdiction.update"
    assert Grant.objects.get(pk=on_c1.pk).area_path == NEW
    assert Grant.objects.get(pk=whole.pk).area_path == ""
    assert Dataset.objects.get(pk=ds.pk).jurisdiction_path == NEW
    assert Record.objects.get(dataset=ds).jurisdiction_path == NEW
    assert Dataset.objects.get(code="t-inspections").jurisdiction_path == outside
    assert Dataset.objects.get(pk=near.pk).jurisdiction_path == "/T/T-D1/T-D1-S1/T-D1-S1-C1X/"
    assert Record.objects.get(dataset=near).jurisdiction_path == "/T/T-D1/T-D1-S1/T-D1-S1-C1X/"
    api = key_client(hub["street"], ["hub:read"])
    got = areas(api, grant=on_c1.pk)
    assert got and set(got) == {C1}
    with transaction.atomic():
        assert audit.verify().ok


def test_one_update_per_column_whatever_the_number_of_rows(hub: dict[str, Any]) -> None:
    loaded(hub, 40)
    city = hub["city"]
    with CaptureQueriesContext(connection) as few:
        move(city, C1, "T-D1-S2")
    hub_updates = [q["sql"] for q in few.captured_queries if q["sql"].startswith('UPDATE "hub_')]
    assert len(hub_updates) == 3, hub_updates


def test_a_move_rolled_back_leaves_the_hub_as_it_was(hub: dict[str, Any]) -> None:
    city = hub["city"]
    loaded(hub, 12)
    g = granted(hub, fields=["enterprise"], area=city[C1])
    j = city[C1]
    with pytest.raises(RuntimeError), transaction.atomic():
        geo_services.save_jurisdiction(
            actor="test",
            code=C1,
            level=j.level,
            name_en=j.name_en,
            name_zh=j.name_zh,
            parent=city["T-D1-S2"],
            boundary=j.boundary,
            existing=j,
        )
        assert Grant.objects.get(pk=g.pk).area_path == NEW
        raise RuntimeError("the redistricting was cancelled")
    assert Grant.objects.get(pk=g.pk).area_path == OLD
    assert Record.objects.filter(jurisdiction_path=OLD).exists()
    assert not Record.objects.filter(jurisdiction_path__startswith=NEW).exists()
