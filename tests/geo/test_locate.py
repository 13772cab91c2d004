from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civitas.geo import services
from civitas.geo.locate import index, locate
from tests.factories import rect


@pytest.mark.django_db
class TestLocate:
    def test_deepest_jurisdiction_and_its_ancestors(self, city: dict[str, Any]) -> None:
        hit = locate(0.5, 2.5)  # lat 0.5, lon 2.5: district 2, street 1, community 1
        assert hit is not None
        assert hit.jurisdiction.code == "T-D2-S1-C1"
        assert [p.code for p in hit.ancestors] == ["T", "T-D2", "T-D2-S1"]
        assert hit.at_level("district").code == "T-D2"  # type: ignore[union-attr]

    def test_point_outside_every_boundary(self, city: dict[str, Any]) -> None:
        assert locate(5.0, 5.0) is None
        assert locate(-0.5, 1.0) is None

    def test_index_is_rebuilt_when_a_boundary_changes(self, city: dict[str, Any]) -> None:
        assert locate(1.5, 3.5).jurisdiction.code == "T-D2-S2-C2"  # type: ignore[union-attr]
        with transaction.atomic():
            services.save_jurisdiction(
                actor="test",
                code="T-D2-S2-C2",
                level=city["levels"]["community"],
                parent=city["T-D2-S2"],
                name_en="Shrunk",
                name_zh="缩小",
                boundary=rect(3, 1, 3.2, 1.2),
            )
        hit = locate(1.5, 3.5)
        assert hit is not None and hit.jurisdiction.code == "T-D2-S2"

    def test_many_points_at_once_match_single_calls(self, city: dict[str, Any]) -> None:
        rng = np.random.default_rng(7)
        lats, lons = rng.uniform(-0.5, 2.5, 300), rng.uniform(-0.5, 4.5, 300)
        many = index.locate_many(lats, lons)
        for lat, lon, hit in zip(lats, lons, many, strict=True):
            single = locate(float(lat), float(lon))
            assert (single and single.jurisdiction.code) == (hit and hit.jurisdiction.code)

    def test_jurisdiction_without_boundary_is_reachable_as_ancestor_only(
        self, city: dict[str, Any]
    ) -> None:
        with transaction.atomic():
            services.save_jurisdiction(
                actor="test",
                code="T-D1-S1-C1-G1",
                level=services.save_level(code="grid", rank=4, name_en="Grid", name_zh="网格"),
                parent=city["T-D1-S1-C1"],
                name_en="Grid 1",
                name_zh="一号网格",
            )
        hit = locate(0.5, 0.5)
        assert hit is not None and hit.jurisdiction.code == "T-D1-S1-C1"

    def test_api(self, city: dict[str, Any]) -> None:
        from tests.factories import member

        client = Client()
        client.force_login(member("r", "resident"))
        body = client.get("/api/locate", {"lat": 0.5, "lon": 0.5}).json()
        assert body["found"] and body["jurisdiction"]["code"] == "T-D1-S1-C1"
        assert client.get("/api/locate", {"lat": 95, "lon": 0}).status_code == 422
        assert client.get("/api/locate", {"lat": "x", "lon": 0}).status_code == 422
        assert client.get("/api/locate", {"lat": 50, "lon": 50}).json() == {
            "found": False,
            "jurisdiction": None,
            "ancestors": [],
            "overlays": [],
        }


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lat=st.floats(0.001, 1.999), lon=st.floats(0.001, 3.999))
def test_every_point_in_the_city_lands_in_the_community_that_contains_it(
    city: dict[str, Any], lat: float, lon: float
) -> None:
    hit = locate(lat, lon)
    assert hit is not None
    d, s, c = int(lon // 2) + 1, int(lon % 2) + 1, int(lat) + 1
    # (The strategy avoids shared edges only by chance; on an edge either side is correct.)
    if lat % 1 and lon % 1:
        assert hit.jurisdiction.code == f"T-D{d}-S{s}-C{c}"
