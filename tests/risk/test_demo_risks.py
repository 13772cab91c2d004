"""The demo city opens with real alerts: planted appeals found by the live detectors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.appeals.models import Appeal
from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import appeals as demo_appeals
from civitas.citypacks.demo import risk as demo_risk
from civitas.matters.models import Urgency
from civitas.risk.models import Alert, AlertKind

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-risks") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path, settings: Any) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


def test_planted_risks_are_found(demo_city: None) -> None:
    demo_appeals.seed(now=NOW, mix=dict.fromkeys(demo_appeals.MIX, 1))
    made = demo_risk.plant(now=NOW)
    assert (made["cluster"], made["burst"], made["staff_batch"], made["harm"]) == (9, 8, 12, 1)
    lines = demo_risk.detect(now=NOW)
    assert not any("failed" in line for line in lines), lines
    kinds = set(Alert.objects.filter(city=CITY).values_list("kind", flat=True))
    assert {
        AlertKind.CLUSTER,
        AlertKind.BURST,
        AlertKind.GROUP,
        AlertKind.REPEAT,
        AlertKind.HARM,
        AlertKind.SPREAD,
    } <= kinds, (kinds, lines)
    harm = Alert.objects.get(kind=AlertKind.HARM)
    appeal = harm.appeals.get()
    assert appeal.urgency == Urgency.URGENT
    burst = Alert.objects.get(kind=AlertKind.BURST, category=demo_risk.WATER_OUTAGE)
    burst_ids = set(burst.appeals.values_list("external_id", flat=True))
    assert len(burst_ids) >= 5
    staff = set(
        Appeal.objects.filter(city=CITY, channel="grid", matter__code=demo_risk.SHARED_BIKES)
        .filter(external_id__startswith=demo_risk.PREFIX)
        .values_list("external_id", flat=True)
    )
    assert not Alert.objects.filter(kind=AlertKind.BURST, category=demo_risk.SHARED_BIKES).exists()
    assert not burst_ids & staff
    spread = Alert.objects.get(kind=AlertKind.SPREAD)
    assert spread.category == demo_risk.WATER_QUALITY
    assert len(spread.numbers["districts"]) == 2
    # planted once
    assert demo_risk.plant(now=NOW) == {}
