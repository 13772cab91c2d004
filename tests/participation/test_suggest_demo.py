"""The demo's suggestions: made once through the services; the demo leader finds work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import suggestions as demo
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import User
from civitas.participation import moderation, selectors_suggest
from civitas.participation.models import Report, Suggestion, Support

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-suggest") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path, settings: Any) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CIVITAS_SUGGESTION_THRESHOLD = 30
    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


def test_the_demo_suggestions_are_made_once_and_give_the_leader_work(demo_city: None) -> None:
    lines = demo.setup(progress=lambda _m: None)
    assert Suggestion.objects.filter(city=CITY).count() == len(demo.PLANS) == 15
    by_title = {s.title: s for s in Suggestion.objects.filter(city=CITY)}
    due = by_title[demo.PLANS[0].title]
    late = by_title[demo.PLANS[1].title]
    answered = by_title[demo.PLANS[2].title]
    assert due.status == "due" and due.support_count > due.threshold == 30
    assert due.unit is not None and due.unit.code == f"{demo.STREET}-OFFICE"
    assert late.status == "due" and selectors_suggest.is_overdue(late)
    assert AuditEntry.objects.filter(action="suggestion.overdue", object_id=late.code).exists()
    assert answered.status == "answered" and answered.answer
    assert by_title[demo.PLANS[5].title].status == "closed"
    hidden = by_title[demo.PLANS[10].title]
    assert hidden.hidden_at is not None
    assert sum(1 for s in by_title.values() if s.status == "open") >= 8
    leader = User.objects.get(username="leader")
    work = list(selectors_suggest.staff_suggestions(leader))
    assert [s.code for s in work[:2]] == [late.code, due.code]  # overdue first, then due
    queue = moderation.queue(leader)
    assert len(queue) >= 2 and all(g.target in ("suggestion", "comment") for g in queue)
    assert due.code in lines[0] and hidden.code in lines[1]
    counts = (
        Suggestion.objects.count(),
        Support.objects.count(),
        Report.objects.count(),
        OutboxMessage.objects.count(),
    )
    assert demo.setup(progress=lambda _m: None) == lines
    again = (
        Suggestion.objects.count(),
        Support.objects.count(),
        Report.objects.count(),
        OutboxMessage.objects.count(),
    )
    assert again == counts


def test_without_the_demo_city_it_skips(db: Any) -> None:
    assert demo.setup(progress=lambda _m: None)[0].startswith("skipped")
    assert not Suggestion.objects.exists()
