"""Organisations and participants (双报到): registration, confirmation, suspension, leaving."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.hub import keys
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from civitas.participation import orgs
from civitas.participation.models import Organisation, OrgKind, Participant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD_CODE = keys.complete_credit_code("91110000600037341")


def data(c: dict[str, Any], **kw: Any) -> orgs.OrgIn:
    base: dict[str, Any] = {
        "kind": OrgKind.SOCIAL_ORG,
        "name_en": "Elder Care Society",
        "name_zh": "敬老协会",
        "jurisdiction": c["T-D1-S1-C1"],
        "offers": ["elder_care", "medical"],
        "contact_name": "Ms Wang",
        "contact_phone": "13900000001",
    }
    base.update(kw)
    return orgs.OrgIn(**base)


def test_staff_register_active_and_residents_pending(part: dict[str, Any]) -> None:
    c = part
    o = orgs.register_organisation(actor=c["handler"], data=data(c, credit_code=GOOD_CODE))
    assert o.state == "active" and o.code == f"T-ORG-{o.pk:04d}"
    assert o.partner_unit == c["T-D1-S1-C1-cc"] and o.credit_code == GOOD_CODE
    r = c["residents"][0]
    p = orgs.register_organisation(actor=r, data=data(c, name_en="Tenants", name_zh="租户会"))
    assert p.state == "pending"
    assert p.partner_unit == c["T-D1-S1-C1-cc"]  # the community committee looks after it
    assert list(p.managers.all()) == [r]
    with pytest.raises(Forbidden):  # another street cannot confirm
        orgs.move_organisation(actor=c["other_street"], org=p.code, move="confirm")
    with pytest.raises(Forbidden):  # nor can the resident confirm their own
        orgs.move_organisation(actor=r, org=p.code, move="confirm")
    done = orgs.move_organisation(actor=c["community"], org=p.code, move="confirm")
    assert done.state == "active" and done.version == 2
    with pytest.raises(Conflict):  # confirmed twice
        orgs.move_organisation(actor=c["community"], org=p.code, move="confirm")
    assert AuditEntry.objects.filter(action="participation.org_confirm").count() == 1


def test_registration_refusals(part: dict[str, Any]) -> None:
    c = part
    bad = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")
    for kw, field in [
        ({"kind": "club"}, "kind"),
        ({"name_en": "", "name_zh": " "}, "name_en"),
        ({"offers": ["dancing"]}, "offers"),
        ({"credit_code": bad}, "credit_code"),
        ({"credit_code": "123"}, "credit_code"),
    ]:
        with pytest.raises(InvalidInput) as e:
            orgs.register_organisation(actor=c["handler"], data=data(c, **kw))
        assert e.value.details == {"field": field}, kw
    orgs.register_organisation(actor=c["handler"], data=data(c, credit_code=GOOD_CODE))
    with pytest.raises(InvalidInput) as e:  # the same credit code twice
        orgs.register_organisation(actor=c["handler"], data=data(c, credit_code=GOOD_CODE))
    assert e.value.details == {"field": "credit_code"}
    with pytest.raises(Forbidden):
        orgs.register_organisation(actor=None, data=data(c))
    assert Organisation.objects.count() == 1


def test_suspend_and_reactivate_need_reasons(part: dict[str, Any]) -> None:
    c = part
    o = orgs.register_organisation(actor=c["handler"], data=data(c))
    with pytest.raises(InvalidInput) as e:
        orgs.move_organisation(actor=c["handler"], org=o.code, move="suspend", reason="")
    assert e.value.details == {"field": "reason"}
    with pytest.raises(Conflict):  # not suspended yet
        orgs.move_organisation(actor=c["handler"], org=o.code, move="reactivate", reason="ok")
    with pytest.raises(Conflict):  # stale
        orgs.move_organisation(
            actor=c["handler"], org=o.code, move="suspend", reason="x", version=9
        )
    s = orgs.move_organisation(actor=c["handler"], org=o.code, move="suspend", reason="complaints")
    assert s.state == "suspended" and s.state_reason == "complaints"
    with pytest.raises(Forbidden):
        orgs.move_organisation(actor=c["other_street"], org=o.code, move="reactivate", reason="ok")
    r = orgs.move_organisation(actor=c["leader"], org=o.code, move="reactivate", reason="resolved")
    assert r.state == "active"
    with pytest.raises(InvalidInput):
        orgs.move_organisation(actor=c["leader"], org=o.code, move="explode")


def test_contacts_only_for_the_area_staff_and_managers(part: dict[str, Any]) -> None:
    c = part
    manager = c["residents"][1]
    o = orgs.register_organisation(actor=c["handler"], data=data(c), managers=[manager])
    assert orgs.may_see_contacts(c["handler"], o)
    assert orgs.may_see_contacts(c["community"], o)
    assert orgs.may_see_contacts(manager, o)
    assert not orgs.may_see_contacts(c["other_street"], o)
    assert not orgs.may_see_contacts(c["residents"][0], o)
    assert not orgs.may_see_contacts(None, o)


def test_report_confirm_decline_leave(part: dict[str, Any]) -> None:
    c = part
    r = c["residents"][0]
    o = orgs.register_organisation(actor=c["handler"], data=data(c))
    p = orgs.report(
        actor=r,
        home=c["T-D1-S1-C1"],
        is_volunteer=True,
        is_party_member=True,
        organisation=o,
        skills=["repairs"],
    )
    assert p.state == "pending" and p.home_path == c["T-D1-S1-C1"].path
    with pytest.raises(Conflict):  # twice
        orgs.report(actor=r, home=c["T-D1-S1-C2"], is_volunteer=True, is_party_member=False)
    with pytest.raises(Forbidden):  # another street's staff
        orgs.decide_participant(actor=c["other_street"], participant=p.pk, confirm=True)
    with pytest.raises(Forbidden):  # the person themselves
        orgs.decide_participant(actor=r, participant=p.pk, confirm=True)
    with pytest.raises(InvalidInput):  # declining needs a reason
        orgs.decide_participant(actor=c["community"], participant=p.pk, confirm=False)
    d = orgs.decide_participant(
        actor=c["community"], participant=p.pk, confirm=False, reason="not living here"
    )
    assert d.state == "left" and d.note == "not living here"
    with pytest.raises(Conflict):
        orgs.decide_participant(actor=c["community"], participant=p.pk, confirm=True)
    # reports again, is confirmed, leaves
    again = orgs.report(actor=r, home=c["T-D1-S1-C1"], is_volunteer=True, is_party_member=False)
    assert again.pk == p.pk and again.state == "pending" and again.note == ""
    ok = orgs.decide_participant(actor=c["community"], participant=p.pk, confirm=True)
    assert ok.state == "active" and ok.confirmed_at is not None
    left = orgs.leave(actor=r)
    assert left.state == "left"
    with pytest.raises(Conflict):
        orgs.leave(actor=r)


def test_report_refusals(part: dict[str, Any]) -> None:
    c = part
    r = c["residents"][0]
    with pytest.raises(InvalidInput) as e:
        orgs.report(actor=r, home=c["T-D1-S1-C1"], is_volunteer=False, is_party_member=False)
    assert e.value.details == {"field": "is_volunteer"}
    with pytest.raises(InvalidInput) as e:  # a street, not a community with a committee
        orgs.report(actor=r, home=c["T-D1-S1"], is_volunteer=True, is_party_member=False)
    assert e.value.details == {"field": "home"}
    with pytest.raises(InvalidInput) as e:  # a community without a committee
        orgs.report(actor=r, home=c["T-D2-S2-C1"], is_volunteer=True, is_party_member=False)
    pending = orgs.register_organisation(actor=c["residents"][1], data=data(c))
    with pytest.raises(InvalidInput) as e:
        orgs.report(
            actor=r,
            home=c["T-D1-S1-C1"],
            is_volunteer=True,
            is_party_member=False,
            organisation=pending,
        )
    assert e.value.details == {"field": "organisation"}
    with pytest.raises(InvalidInput) as e:
        orgs.report(
            actor=r,
            home=c["T-D1-S1-C1"],
            is_volunteer=True,
            is_party_member=False,
            skills=["flying"],
        )
    assert e.value.details == {"field": "skills"}
    assert not Participant.objects.exists()
    with pytest.raises(Forbidden):
        orgs.leave(actor=UserFactory(username="x", is_active=False))
