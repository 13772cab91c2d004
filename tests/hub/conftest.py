"""A small hub on the test city: a market-supervision bureau owning an inspections dataset
with every kind of field, a street office and a district housing bureau as consumers, and
people in every role the hub knows. Records are written straight into the tables (with the
keys derived as the loader derives them), so grant and query tests do not depend on loading.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.hub.models import Dataset, Domain, Frequency, Sharing
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories
from tests.hub import helpers


@pytest.fixture
def hub(city: dict[str, Any]) -> dict[str, Any]:
    made: dict[str, Any] = {"city": city}
    with transaction.atomic():
        made["market"] = org_services.save_unit(
            actor="test",
            code="T-MARKET",
            kind=UnitKind.DEPARTMENT,
            department_type="market_supervision",
            name_en="Market Supervision Bureau",
            name_zh="市场监督管理局",
            jurisdiction=city["T"],
        )
    made["street"] = city["T-D1-S1-office"]
    made["housing2"] = city["T-D2-housing"]
    made["steward"] = factories.member("steward", Role.DATA_STEWARD, made["market"])
    made["owner_leader"] = factories.member("mleader", Role.UNIT_LEADER, made["market"])
    made["owner_handler"] = factories.member("mhandler", Role.UNIT_HANDLER, made["market"])
    made["consumer"] = factories.member("analyst1", Role.ANALYST, made["street"])
    made["consumer_leader"] = factories.member("sleader", Role.UNIT_LEADER, made["street"])
    made["consumer_handler"] = factories.member("shandler", Role.UNIT_HANDLER, made["street"])
    made["outsider"] = factories.member("outsider", Role.UNIT_HANDLER, made["housing2"])
    made["auditor"] = factories.member("auditor1", Role.AUDITOR, city["centre"])
    made["resident"] = factories.UserFactory(username="resident1")
    made["dataset"] = helpers.inspections_dataset(made["market"], city["T"])
    return made


@pytest.fixture
def population(hub: dict[str, Any]) -> Dataset:
    """An unconditional dataset: residents per community (a profile population source)."""
    return helpers.make_dataset(
        code="t-population",
        owner=hub["street"],
        area=hub["city"]["T-D1-S1"],
        domain=Domain.COMMUNITY,
        frequency=Frequency.MONTHLY,
        sharing=Sharing.UNCONDITIONAL,
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("households", "integer", "public", "", True),
            ("residents", "integer", "public", "", True),
            ("elderly", "integer", "internal", "", False),
        ],
        profile_role="population",
        profile_field="residents",
    )
