"""The demo's organisations, volunteers and tasks: every state, the 'volunteer' sign-in with
hours, tasks from appeals, made once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import participation as demo
from civitas.kit import audit
from civitas.participation import selectors_tasks
from civitas.participation.models import Organisation, Participant, Task, TaskTake


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-participation") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path, settings: Any) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


@pytest.mark.django_db
def test_demo_participation_once(demo_city: None) -> None:
    said: list[str] = []
    lines = demo.setup(said.append)
    assert lines and said
    orgs = Organisation.objects.filter(city=CITY)
    assert orgs.count() == 13
    assert set(orgs.values_list("kind", flat=True)) == {
        "social_org",
        "enterprise",
        "volunteer_team",
        "party_org",
    }
    assert Counter(orgs.values_list("state", flat=True)) == {
        "active": 11,
        "pending": 1,
        "suspended": 1,
    }
    people = Participant.objects.filter(city=CITY)
    assert people.count() == 31
    states = Counter(people.values_list("state", flat=True))
    assert states["pending"] == 2 and states["left"] == 1 and states["active"] == 28
    v = Participant.objects.get(user__username="volunteer")
    assert v.state == "active" and v.home.code == "DC-D01-S01-C01"
    mine = selectors_tasks.mine(v.user)
    assert mine.done >= 3 and mine.hours > 0
    tasks = Task.objects.filter(city=CITY)
    assert 18 <= tasks.count() <= 22
    assert set(tasks.values_list("status", flat=True)) == {"open", "full", "done", "cancelled"}
    assert TaskTake.objects.filter(state="no_show").exists()
    assert TaskTake.objects.filter(organisation__isnull=False, state="done").exists()
    if tasks.filter(appeal__isnull=False).count() == 0:
        from civitas.appeals.models import Appeal

        assert not Appeal.objects.filter(city=CITY).exists()
    assert audit.verify().ok
    # once
    before = (orgs.count(), people.count(), tasks.count())
    assert demo.setup(said.append)
    assert (orgs.count(), people.count(), tasks.count()) == before
