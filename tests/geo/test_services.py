from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.geo import services
from civitas.geo.models import Jurisdiction
from civitas.kit.errors import Conflict, InvalidInput
from tests.factories import rect

BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}


@pytest.mark.django_db
class TestJurisdictionWrites:
    def test_moving_a_street_rewrites_its_subtree_paths(self, city: dict[str, Any]) -> None:
        with transaction.atomic():
            services.save_jurisdiction(
                actor="t",
                code="T-D1-S2",
                level=city["levels"]["street"],
                parent=city["T-D2"],
                name_en="Moved",
                name_zh="迁移",
                boundary=city["T-D1-S2"].boundary,
            )
        assert Jurisdiction.objects.get(code="T-D1-S2-C1").path == "/T/T-D2/T-D1-S2/T-D1-S2-C1/"
        subtree = {j.code for j in Jurisdiction.objects.get(code="T-D2").subtree()}
        assert {"T-D1-S2", "T-D1-S2-C1", "T-D1-S2-C2"} <= subtree

    def test_cannot_move_under_own_descendant(self, city: dict[str, Any]) -> None:
        with pytest.raises(Conflict), transaction.atomic():
            services.save_jurisdiction(
                actor="t",
                code="T-D1",
                level=city["levels"]["district"],
                parent=city["T-D1-S1"],
                name_en="x",
                name_zh="x",
            )

    @pytest.mark.parametrize(
        "boundary, message",
        [
            (BOWTIE, "not a valid polygon"),
            ({"type": "Point", "coordinates": [0, 0]}, "Polygon or MultiPolygon"),
            ({"type": "Polygon", "coordinates": [[[0, 0], [1]]]}, "not readable"),
        ],
    )
    def test_bad_boundaries_are_refused(
        self, city: dict[str, Any], boundary: Any, message: str
    ) -> None:
        with pytest.raises(InvalidInput, match=message), transaction.atomic():
            services.save_jurisdiction(
                actor="t",
                code="T-X",
                level=city["levels"]["district"],
                parent=city["T"],
                name_en="x",
                name_zh="x",
                boundary=boundary,
            )
        assert not Jurisdiction.objects.filter(code="T-X").exists()

    @pytest.mark.parametrize("code", ["", "a/b", "has space", "x" * 41])
    def test_bad_codes(self, city: dict[str, Any], code: str) -> None:
        with pytest.raises(InvalidInput, match="code"), transaction.atomic():
            services.save_jurisdiction(
                actor="t",
                code=code,
                level=city["levels"]["district"],
                name_en="x",
                name_zh="x",
                boundary=rect(0, 0, 1, 1),
            )

    def test_centroid_lies_inside_a_concave_boundary(self, city: dict[str, Any]) -> None:
        u_shape = {
            "type": "Polygon",
            "coordinates": [
                [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]
            ],
        }
        with transaction.atomic():
            j = services.save_jurisdiction(
                actor="t",
                code="T-U",
                parent=city["T"],
                level=city["levels"]["district"],
                name_en="U",
                name_zh="U",
                boundary=u_shape,
            )
        from shapely.geometry import Point, shape

        assert shape(u_shape).contains(Point(j.centroid_lon, j.centroid_lat))
