from __future__ import annotations

import pytest
from django.db import transaction

from civitas.kit.errors import InvalidInput
from civitas.matters import services


@pytest.mark.django_db
class TestMatterValidation:
    @pytest.mark.parametrize(
        "deadlines, fragment",
        [
            ({"soon": {"respond": "2h"}}, "unknown urgency"),
            ({"urgent": {"respond": "two hours"}}, "not a duration"),
            ({"urgent": {"respond": "0h"}}, "positive"),
            ({"urgent": {"reply": "2h"}}, "only 'respond' and 'resolve'"),
        ],
    )
    def test_bad_deadlines(self, deadlines: dict, fragment: str) -> None:
        with pytest.raises(InvalidInput, match=fragment), transaction.atomic():
            services.save_matter(
                actor="t", catalogue="T", code="M", name_en="m", name_zh="m", deadlines=deadlines
            )

    def test_durations_are_normalised(self, db: None) -> None:
        with transaction.atomic():
            m = services.save_matter(
                actor="t",
                catalogue="T",
                code="M",
                name_en="m",
                name_zh="m",
                deadlines={"normal": {"respond": " 24 h", "resolve": "15wd"}},
            )
        assert m.deadlines == {"normal": {"respond": "24h", "resolve": "15wd"}}

    def test_unknown_department_type(self, db: None) -> None:
        with pytest.raises(InvalidInput, match="department type"), transaction.atomic():
            services.save_matter(
                actor="t",
                catalogue="T",
                code="M",
                name_en="m",
                name_zh="m",
                responsible={"district": "magic"},
            )
