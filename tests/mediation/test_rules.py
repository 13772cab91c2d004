"""The assignment rules: the lowest capable level, the channel, the deadline, the body."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from civitas.mediation import rules
from civitas.mediation.models import Channel, Tier
from civitas.mediation.rules import Facts
from civitas.org import services as org_services
from civitas.org.models import UnitKind

D1 = ("T-D1",)


@pytest.mark.parametrize(
    ("facts", "tier", "codes"),
    [
        (Facts("neighbour", districts=D1), Tier.COMMUNITY, ["lowest"]),
        (Facts("family", amount=49_999.99), Tier.COMMUNITY, ["lowest"]),
        (Facts("family", amount=50_000), Tier.STREET, ["amount"]),
        (Facts("property", amount=Decimal("499999")), Tier.STREET, ["amount"]),
        (Facts("property", amount=500_000), Tier.DISTRICT, ["amount"]),
        (Facts("property", amount=10_000_000), Tier.CITY, ["amount"]),
        (Facts("neighbour", people_involved=4), Tier.COMMUNITY, ["lowest"]),
        (Facts("neighbour", people_involved=5), Tier.STREET, ["people"]),
        (Facts("labour", people_involved=30), Tier.DISTRICT, ["people"]),
        (Facts("land"), Tier.STREET, ["type"]),
        (Facts("medical"), Tier.DISTRICT, ["type"]),
        (Facts("neighbour", risk_level="medium"), Tier.STREET, ["risk"]),
        (Facts("neighbour", risk_level="high"), Tier.DISTRICT, ["risk"]),
        (Facts("neighbour", districts=("T-D1", "T-D2")), Tier.CITY, ["cross_district"]),
        (Facts("neighbour", districts=("T-D1", "T-D1", "")), Tier.COMMUNITY, ["lowest"]),
        # the highest need wins; every reason is kept
        (
            Facts("medical", amount=60_000, risk_level="medium", districts=("A", "B")),
            Tier.CITY,
            ["type", "risk", "amount", "cross_district"],
        ),
    ],
)
def test_assign_picks_the_lowest_capable_level(facts: Facts, tier: str, codes: list[str]) -> None:
    got = rules.assign(facts)
    assert got.tier == tier
    assert [r["code"] for r in got.reasons] == codes


@pytest.mark.parametrize(
    ("type_", "channel"),
    [
        ("labour", Channel.PEOPLES),
        ("traffic", Channel.ADMINISTRATIVE),
        ("consumer", Channel.ADMINISTRATIVE),
        ("neighbour", Channel.PEOPLES),
        ("medical", Channel.PEOPLES),
    ],
)
def test_channel_by_type(type_: str, channel: str) -> None:
    assert rules.assign(Facts(type_)).channel == channel


@pytest.mark.parametrize(
    ("type_", "tier", "channel", "kind", "to"),
    [
        ("labour", Tier.COMMUNITY, Channel.PEOPLES, "refer", Channel.LABOUR_ARBITRATION),
        ("traffic", Tier.STREET, Channel.ADMINISTRATIVE, "refer", Channel.COURT),
        ("neighbour", Tier.COMMUNITY, Channel.PEOPLES, "escalate", Tier.STREET),
        ("neighbour", Tier.DISTRICT, Channel.PEOPLES, "escalate", Tier.CITY),
        ("neighbour", Tier.CITY, Channel.PEOPLES, "refer", Channel.COURT),
    ],
)
def test_after_failure(type_: str, tier: str, channel: str, kind: str, to: str) -> None:
    step = rules.after_failure(type_, tier, channel)
    assert step.kind == kind
    assert (step.tier if kind == "escalate" else step.channel) == to


def test_deadlines_per_tier_and_for_labour() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert [(rules.deadline(t, "neighbour", start) - start).days for t in rules.TIERS] == [
        15,
        30,
        30,
        45,
    ]
    assert (rules.deadline(Tier.DISTRICT, "labour", start) - start).days == 15


def test_settings_override_thresholds(settings: Any) -> None:
    settings.CIVITAS_MEDIATION_RULES = {"street_amount": 1000, "deadline_days": {"community": 5}}
    assert rules.assign(Facts("family", amount=1000)).tier == Tier.STREET
    assert rules.setting("district_amount") == rules.DEFAULTS["district_amount"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert (rules.deadline(Tier.COMMUNITY, "family", start) - start).days == 5


def test_every_reason_has_words() -> None:
    for r in [
        {"code": "lowest"},
        {"code": "type", "type": "medical", "tier": "district"},
        {"code": "risk", "risk": "high", "tier": "district"},
        {"code": "amount", "amount": "60000", "threshold": 50000, "tier": "street"},
        {"code": "people", "people": 6, "threshold": 5, "tier": "street"},
        {"code": "cross_district", "districts": ["T-D1", "T-D2"]},
        {"code": "failed", "tier": "street"},
        {"code": "overdue", "tier": "street"},
        {"code": "manual", "note": "big"},
        {"code": "risk_rose", "risk": "high", "tier": "district"},
        {"code": "no_body", "tier": "street"},
        {"code": "labour_failed"},
    ]:
        text = rules.reason_text(r)
        assert text and text != r["code"]
    assert "T-D1, T-D2" in rules.reason_text(
        {"code": "cross_district", "districts": ["T-D1", "T-D2"]}
    )


def test_body_for_finds_the_lowest_existing_body(med: dict[str, Any]) -> None:
    c1, c2 = med["T-D1-S1-C1"], med["T-D1-S1-C2"]
    assert rules.body_for(c1, Tier.COMMUNITY) == (Tier.COMMUNITY, med["T-D1-S1-C1-med"])
    assert rules.body_for(c2, Tier.COMMUNITY) == (Tier.STREET, med["T-D1-S1-med"])
    assert rules.body_for(c1, Tier.DISTRICT) == (Tier.DISTRICT, med["T-D1-med"])
    assert rules.body_for(c1, Tier.CITY) == (Tier.CITY, med["T-med"])
    assert rules.district_of(c2) == "T-D1"
    # a community committee mediates where there is no mediation committee
    with transaction.atomic():
        cc = org_services.save_unit(
            actor="test",
            code="T-D1-S1-C2-CC",
            kind=UnitKind.COMMUNITY_COMMITTEE,
            name_en="C2 committee",
            name_zh="C2居委会",
            jurisdiction=c2,
        )
    assert rules.body_for(c2, Tier.COMMUNITY) == (Tier.COMMUNITY, cc)


def test_district_and_city_fall_back_to_their_centres(city: dict[str, Any]) -> None:
    place = city["T-D2-S2-C2"]
    assert rules.body_for(place, Tier.COMMUNITY) == (Tier.DISTRICT, city["T-D2-centre"])
    assert rules.body_for(place, Tier.CITY) == (Tier.CITY, city["centre"])
