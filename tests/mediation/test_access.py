"""Who sees which disputes, and whose parties' names and contacts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.geo import services as geo_services
from civitas.mediation import selectors, services
from civitas.mediation.models import Dispute
from civitas.mediation.services import PartyIn
from civitas.org.models import Role
from tests.factories import UserFactory, member
from tests.mediation.helpers import data, register

pytestmark = pytest.mark.django_db


def _codes(actor: Any) -> set[str]:
    return set(selectors.disputes(actor).values_list("code", flat=True))


def test_who_sees_which_disputes(med: dict[str, Any]) -> None:
    c1 = register(med)  # community committee of T-D1-S1-C1
    s2 = register(med, actor=med["mediator_s2"], place="T-D2-S1-C2")  # street T-D2-S1
    grid = services.register(actor=med["gridworker"], data=data(med, place="T-D1-S2-C1"))
    assert _codes(med["mediator_c"]) == {c1.code}
    assert _codes(med["mediator_s"]) == set()  # the street has not handled any yet
    assert _codes(med["mediator_s2"]) == {s2.code}
    assert _codes(med["gridworker"]) == {grid.code}  # the one they registered
    assert _codes(med["dispatcher"]) == {c1.code, s2.code, grid.code}
    assert _codes(med["analyst"]) == {c1.code, s2.code, grid.code}
    assert _codes(med["handler"]) == set()
    assert _codes(member("resident-x", Role.RESIDENT)) == set()
    assert _codes(None) == set()
    # passed up: the street sees it now, the community committee keeps sight of it
    services.escalate(actor=med["mediator_c"], dispute=c1, reason="too hard")
    assert c1.code in _codes(med["mediator_s"])
    assert c1.code in _codes(med["mediator_c"])
    assert selectors.dispute(med["mediator_s2"], c1.code) is None


def test_whose_parties_are_shown(med: dict[str, Any]) -> None:
    d = register(med)
    boss = UserFactory(username="root", is_superuser=True)
    yes = ["mediator_c"]
    no = ["mediator_s", "dispatcher", "analyst", "handler", "gridworker", "mediator_city"]
    for who in yes:
        assert services.may_see_parties(med[who], d), who
    for who in no:
        assert not services.may_see_parties(med[who], d), who
    assert services.may_see_parties(boss, d)
    assert not services.may_see_parties(None, d)
    d = services.escalate(actor=med["mediator_c"], dispute=d, reason="up")
    assert services.may_see_parties(med["mediator_s"], d)  # handles it now
    assert services.may_see_parties(med["mediator_c"], d)  # handled it before
    assert not services.may_see_parties(med["dispatcher"], d)


def test_masked_parties_read_as_labels(med: dict[str, Any]) -> None:
    parties = [
        PartyIn(side="applicant", name="Wang Fang", phone="138", address="Oak Road 1"),
        PartyIn(side="applicant", name="Wang Wei", phone="139"),
        PartyIn(
            side="respondent",
            kind="organisation",
            name="Green Property Services Ltd",
            phone="010-1234",
            representative="Chen Jie",
        ),
    ]
    d = register(med, parties=parties)
    seen = selectors.parties(med["dispatcher"], d)
    assert [p.name for p in seen] == [
        "Applicant 1",
        "Applicant 2",
        "Green Property Services Ltd",
    ]
    assert all(p.masked and not p.phone and not p.address for p in seen)
    assert seen[2].representative == ""
    shown = selectors.parties(med["mediator_c"], d)
    assert [p.name for p in shown] == ["Wang Fang", "Wang Wei", "Green Property Services Ltd"]
    assert shown[0].phone == "138" and shown[2].representative == "Chen Jie"
    x = selectors.detail(med["dispatcher"], d)
    assert not x.parties_visible and x.moves == ["escalate", "set_risk_level"]
    assert selectors.detail(med["mediator_c"], d).moves == [
        "accept",
        "escalate",
        "set_risk_level",
        "refer",
        "withdraw",
    ]


def test_a_moved_community_takes_its_disputes_along(med: dict[str, Any]) -> None:
    d = register(med)
    with transaction.atomic():
        geo_services.save_jurisdiction(
            actor="test",
            code="T-D1-S1-C1",
            level=med["levels"]["community"],
            parent=med["T-D2-S1"],
            name_en="Oak 111 Community",
            name_zh="橡树111社区",
        )
    d = Dispute.objects.get(pk=d.pk)
    assert d.jurisdiction_path == "/T/T-D2/T-D2-S1/T-D1-S1-C1/"
    d2_centre = member("d2-disp", Role.DISPATCHER, med["T-D2-centre"])
    d1_centre = member("d1-disp", Role.DISPATCHER, med["T-D1-centre"])
    assert d.code in _codes(d2_centre) and d.code not in _codes(d1_centre)
