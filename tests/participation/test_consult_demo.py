"""The demo's consultations: made once through the services, an answered one fed into a
stability assessment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import consultations as demo
from civitas.participation import consultations as svc
from civitas.participation.models import Comment, Consultation

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-consult") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path, settings: Any, tmp_path: Path) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


def test_the_demo_consultations_are_made_once(demo_city: None) -> None:
    lines = demo.setup(progress=lambda _m: None)
    park = Consultation.objects.get(city=CITY, title=demo.PARK_TITLE)
    market = Consultation.objects.get(city=CITY, title=demo.MARKET_TITLE)
    assert park.status == "open" and park.area and park.jurisdiction.code == demo.COMMUNITY
    assert park.documents.get().content_type == "application/pdf"
    assert park.comments.count() == 25
    r = svc.result(park)
    assert r.in_favour and r.against and r.neutral
    assert Comment.supporters.through.objects.filter(comment__consultation=park).count() > 10
    assert market.status == "answered" and market.fed_at is not None
    a = market.assessment
    assert a is not None and a.consultation[0]["source"] == "online"
    assert a.consultation[0]["against"] == 4 and a.level == "high"  # 4 of 8 against
    assert park.code in lines[0] and a.code in lines[1]
    again = demo.setup(progress=lambda _m: None)
    assert again == lines
    assert Consultation.objects.filter(city=CITY).count() == 2
    assert Comment.objects.count() == 33
