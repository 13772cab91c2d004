from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.kit.errors import InvalidInput
from civitas.kit.models import AuditEntry
from civitas.org import services
from civitas.org.models import ResponsibilityRevision


@pytest.mark.django_db
class TestResponsibilityList:
    def _create(self, city: dict[str, Any], **extra: Any) -> Any:
        with transaction.atomic():
            return services.save_responsibility(
                actor="admin",
                reason="initial list",
                matter=city["leaf"],
                level=city["levels"]["district"],
                city="T",
                unit_type="housing",
                **extra,
            )

    def test_every_change_is_versioned_with_who_and_why(self, city: dict[str, Any]) -> None:
        rule = self._create(city)
        with transaction.atomic():
            services.save_responsibility(
                actor="admin2",
                reason="lifts moved to the street",
                rule=rule,
                matter=city["leaf"],
                level=city["levels"]["street"],
                city="T",
                unit_type="street_office",
            )
        revisions = list(ResponsibilityRevision.objects.filter(rule=rule))
        assert [r.version for r in revisions] == [1, 2]
        assert revisions[1].actor == "admin2" and revisions[1].reason.startswith("lifts")
        assert revisions[0].snapshot["unit_type"] == "housing"
        assert revisions[1].snapshot["level"] == "street"
        entries = AuditEntry.objects.filter(object_type="org.responsibility")
        assert [e.action for e in entries] == ["responsibility.create", "responsibility.update"]
        assert entries[1].summary["before"]["level"] == "district"

    def test_unchanged_save_makes_no_revision(self, city: dict[str, Any]) -> None:
        rule = self._create(city)
        with transaction.atomic():
            services.save_responsibility(
                actor="admin",
                reason="again",
                rule=rule,
                matter=city["leaf"],
                level=city["levels"]["district"],
                city="T",
                unit_type="housing",
            )
        assert rule.revisions.count() == 1

    @pytest.mark.parametrize(
        "bad, field",
        [
            ({"reason": " "}, "reason"),
            ({"unit_type": ""}, "unit_type"),
            ({"unit_type": "wizardry"}, "unit_type"),
        ],
    )
    def test_bad_input_is_named(
        self, city: dict[str, Any], bad: dict[str, Any], field: str
    ) -> None:
        args: dict[str, Any] = {
            "actor": "a",
            "reason": "r",
            "matter": city["leaf"],
            "level": city["levels"]["district"],
            "city": "T",
            "unit_type": "housing",
            **bad,
        }
        with pytest.raises(InvalidInput) as err, transaction.atomic():
            services.save_responsibility(**args)
        assert err.value.details == {"field": field}

    def test_jurisdiction_must_belong_to_the_city(self, city: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput, match="not in the city"), transaction.atomic():
            services.save_responsibility(
                actor="a",
                reason="r",
                matter=city["leaf"],
                level=city["levels"]["district"],
                city="OTHER",
                jurisdiction=city["T-D1"],
                unit_type="housing",
            )
