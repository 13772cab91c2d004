"""Demo appeals: seeded once through the real services, across every status, deterministic."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from civitas.appeals.models import OPEN_STATUSES, Appeal, Event, Rating, Request, Summons
from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import appeals as demo_appeals
from civitas.citypacks.demo import risk as demo_risk
from civitas.kit import audit
from civitas.kit.models import AuditEntry

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-appeals") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


@pytest.fixture
def seeded(demo_city: None) -> Counter[str]:
    return demo_appeals.seed(now=NOW)


def demo_cases() -> Any:
    return Appeal.objects.filter(city=CITY, external_id__startswith="demo-")


class TestDemoAppeals:
    def test_a_lived_in_city_seeded_once(self, seeded: Counter[str]) -> None:
        cases = demo_cases()
        assert cases.count() == sum(demo_appeals.MIX.values()) == sum(seeded.values())
        assert 280 <= cases.count() <= 320
        statuses = Counter(cases.values_list("status", flat=True))
        for status in (
            "dispatched",
            "accepted",
            "returned",
            "waiting_resident",
            "suspended",
            "resolved",
            "closed",
            "triage",
        ):
            assert statuses[status] > 0, status
        assert cases.filter(status__in=OPEN_STATUSES, resolve_due__lt=NOW).exists()  # overdue
        assert cases.filter(escalated_at__isnull=False).exists()
        verdicts = set(Rating.objects.values_list("satisfaction", flat=True))
        assert verdicts == {"satisfied", "basically_satisfied", "dissatisfied"}
        assert cases.filter(reopen_count__gt=0).exists()
        assert cases.filter(arbitrated=True).exists()
        assert cases.filter(duplicate_of__isnull=False).exists()
        assert Request.objects.filter(kind="extension").exists()
        whistled = Summons.objects.filter(appeal__in=cases)
        assert any(s.late for s in whistled) and any(not s.late for s in whistled)

        # history over the last 60 days, nothing in the future
        first = cases.order_by("received_at").first()
        assert first is not None
        assert (NOW - first.received_at).days <= demo_appeals.DAYS
        assert cases.filter(received_at__lt=NOW.replace(day=1)).exists()
        assert not Event.objects.filter(at__gt=NOW).exists()

        # bilingual texts
        texts = list(cases.values_list("text", flat=True))
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in texts)
        assert any(t.isascii() for t in texts)

        # through the real services: timeline, audit chain
        actions = set(Event.objects.values_list("action", flat=True))
        assert {"received", "dispatch", "accept", "resolve", "rate_closed", "rate_reopen"} <= (
            actions
        )
        assert {"return", "arbitrate", "whistle", "report_summons", "escalate"} <= actions
        assert AuditEntry.objects.filter(action="appeal.receive").count() == cases.count()
        assert AuditEntry.objects.filter(action="demo.appeals").count() == 1
        assert audit.verify().ok

        # idempotent
        assert demo_appeals.seed(now=NOW) == Counter()
        assert demo_cases().count() == sum(demo_appeals.MIX.values())

    def test_deterministic(self, demo_city: None) -> None:
        mix = dict.fromkeys(demo_appeals.MIX, 1)
        demo_appeals.seed(now=NOW, mix=mix)
        first = list(
            Appeal.objects.order_by("external_id").values_list(
                "external_id", "status", "received_at", "text"
            )
        )
        with transaction.atomic():
            Appeal.objects.all().delete()
        demo_appeals.seed(now=NOW, mix=mix)
        again = list(
            Appeal.objects.order_by("external_id").values_list(
                "external_id", "status", "received_at", "text"
            )
        )
        assert again == first

    def test_needs_the_demo_sign_ins(self, db: Any, pack: Path) -> None:
        from civitas.citypacks.importer import import_pack
        from civitas.kit.errors import NotFound

        with transaction.atomic():
            import_pack(pack, actor="test")
        with pytest.raises(NotFound, match="demo sign-ins"):
            demo_appeals.seed(now=NOW)


@pytest.mark.django_db
class TestDemoCommandSeeds:
    def test_demo_seeds_once(self, tmp_path: Path, settings: Any) -> None:
        settings.STATIC_ROOT = tmp_path / "static"
        out = io.StringIO()
        call_command("demo", "--no-serve", "--pack", str(tmp_path / "pack"), stdout=out)
        assert "5/7 seeding demo appeals" in out.getvalue()
        count = Appeal.objects.filter(city=CITY).count()
        planted = Appeal.objects.filter(city=CITY, external_id__startswith=demo_risk.PREFIX)
        assert count - planted.count() == sum(demo_appeals.MIX.values())
        assert planted.exists()  # the risk detectors' demo material, planted once as well
        again = io.StringIO()
        call_command("demo", "--no-serve", "--pack", str(tmp_path / "pack"), stdout=again)
        assert "already holds its demo appeals" in again.getvalue()
        assert Appeal.objects.filter(city=CITY).count() == count
