"""The demo's mediation step on the small test city: every state and level, made once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.demo import mediation as demo
from civitas.kit import clock
from civitas.mediation.models import Dispute, FollowUp, Stage, Status, Tier
from civitas.risk.models import RiskItem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_makes_disputes_in_every_state_once(med: dict[str, Any]) -> None:
    UserFactory(username="admin", is_superuser=True)
    said: list[str] = []
    lines = demo.setup(said.append, city="T")
    assert lines and any("mediator-community" in line for line in lines)
    assert Dispute.objects.count() == len(demo.SCENARIOS)
    statuses = Counter(Dispute.objects.values_list("status", flat=True))
    assert set(statuses) == set(Status.values)
    tiers = set(Dispute.objects.values_list("tier", flat=True))
    assert tiers == set(Tier.values)
    assert Dispute.objects.filter(cross_district=True, tier=Tier.CITY).exists()
    assert RiskItem.objects.count() == 1
    assert Dispute.objects.filter(risk__isnull=False, tier=Tier.DISTRICT).count() == 1
    assert Stage.objects.filter(result=Stage.Result.OVERDUE).count() == 1
    today = clock.today()
    due = FollowUp.objects.filter(done_at__isnull=True, due_on__lte=today)
    assert due.count() >= 2
    assert Dispute.objects.filter(received_at__lt=clock.now() - clock_days(80)).exists()
    # again: nothing new
    before = (Dispute.objects.count(), Stage.objects.count(), RiskItem.objects.count())
    again = demo.setup(said.append, city="T")
    assert again == lines
    assert (Dispute.objects.count(), Stage.objects.count(), RiskItem.objects.count()) == before
    assert "disputes: already there" in said


def clock_days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


# -- on the demo city itself -----------------------------------------------------------------

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from civitas.citypacks.demo import build_pack

    out = tmp_path_factory.mktemp("demo-mediation") / "pack"
    build_pack(None, out)
    return out


def test_the_demo_logins_each_have_disputes_to_handle(db: Any, pack: Path, settings: Any) -> None:
    from civitas.appeals.models import Appeal
    from civitas.citypacks.demo import CITY, create_demo_users
    from civitas.citypacks.demo import appeals as demo_appeals
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index
    from civitas.mediation import selectors, services
    from civitas.org.models import User

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()
    demo_appeals.seed(now=NOW, mix={"resolved": 40, "accepted": 30, "dispatched": 30})
    with clock.frozen(NOW):
        demo.setup(lambda message: None)
    assert Dispute.objects.filter(city=CITY).count() == len(demo.SCENARIOS)
    referred = Dispute.objects.filter(appeal__isnull=False)
    assert referred.exists()
    for d in referred:
        assert (
            Appeal.objects.get(pk=d.appeal_id)
            .events.filter(action="referred_to_mediation", public=False)
            .exists()
        )

    def user(name: str) -> User:
        return User.objects.get(username=name)

    for login, tier in (
        ("mediator-community", Tier.COMMUNITY),
        ("mediator", Tier.STREET),
        ("mediator-district", Tier.DISTRICT),
        (demo.CITY_MEDIATOR, Tier.CITY),
    ):
        mine = [
            d
            for d in selectors.disputes(user(login))
            if d.tier == tier and services.may_act(user(login), d)
        ]
        assert mine, login
        assert all(services.may_see_parties(user(login), d) for d in mine)
    # the street's mediator has disputes passed up from a community, one of them agreed there
    passed_up = [
        d
        for d in selectors.disputes(user("mediator"))
        if d.tier == Tier.STREET and d.stages.count() >= 2 and services.may_act(user("mediator"), d)
    ]
    assert len(passed_up) >= 3
    assert any(
        d.agreements.exists() and d.sessions.exclude(result="").count() >= 2 for d in passed_up
    )
    risky = Dispute.objects.get(risk__isnull=False)
    assert services.may_act(user("mediator-district"), risky)
    everything = selectors.disputes(user("dispatcher"))
    assert everything.count() == len(demo.SCENARIOS)
    # the dispatcher sees the names of the disputes they registered (hotline, appeals) only
    disp = user("dispatcher")
    shown = {d.code for d in everything if services.may_see_parties(disp, d)}
    assert shown == {d.code for d in everything if d.registered_by_user_id == disp.pk}
    assert len(shown) < len(everything)
