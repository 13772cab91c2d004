"""Grants: what may be asked, who decides, each move once and on the record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.hub import grants
from civitas.hub.models import Grant, GrantStatus, Sharing
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories
from tests.hub.test_grants_support import ask, granted, key, later

pytestmark = pytest.mark.django_db


def _field_of(exc: Any) -> str:
    return str(exc.value.details["field"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["enterprise", "salary"]}, "fields"),
        ({"clear": ["phone"], "fields": ["enterprise"]}, "clear_fields"),
        ({"expires_at": "past"}, "expires_at"),
        ({"expires_at": "too_far"}, "expires_at"),
    ],
)
def test_bad_requests_name_the_field(
    hub: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    kw = dict(change)
    if kw.get("expires_at") == "past":
        kw["expires_at"] = clock.now() - timedelta(minutes=1)
    elif kw.get("expires_at") == "too_far":
        kw["expires_at"] = clock.now() + timedelta(days=grants.max_days() + 1)
    with pytest.raises(InvalidInput) as exc:
        ask(hub, **kw)
    assert _field_of(exc) == field and field in exc.value.message
    assert not Grant.objects.exists()


def test_purpose_legal_basis_and_area_are_checked(hub: dict[str, Any]) -> None:
    base = {
        "consumer": hub["street"],
        "fields": ["enterprise"],
        "purpose": "fair",
        "legal_basis": "law",
        "expires_at": later(),
    }
    for name in ("purpose", "legal_basis"):
        with pytest.raises(InvalidInput) as exc:
            grants.request_grant(hub["consumer"], hub["dataset"], **{**base, name: "  "})
        assert _field_of(exc) == name
    d1 = hub["city"]["T-D1"]
    small = helpers_dataset(hub, d1)
    with pytest.raises(InvalidInput) as exc:
        grants.request_grant(hub["consumer"], small, **{**base, "area": hub["city"]["T-D2-S1"]})
    assert _field_of(exc) == "area"


def helpers_dataset(hub: dict[str, Any], area: Any) -> Any:
    from tests.hub import helpers

    return helpers.make_dataset(
        code="t-d1-only",
        owner=hub["market"],
        area=area,
        fields=[("enterprise", "string", "public", "", True)],
    )


def test_who_may_ask_and_what(hub: dict[str, Any]) -> None:
    for actor in (hub["consumer_handler"], hub["outsider"], hub["resident"]):
        with pytest.raises(Forbidden) as exc:
            ask(hub, actor=actor)
        assert exc.value.details["field"] == "consumer"
    api_key, _ = key(hub["street"], ["hub:read", "hub:write"])
    with pytest.raises(Forbidden):
        ask(hub, actor=api_key)
    hub["dataset"].sharing = Sharing.NOT_SHAREABLE
    hub["dataset"].save(update_fields=["sharing"])
    with pytest.raises(Forbidden) as exc:
        ask(hub)
    assert exc.value.code == "not_shareable"
    hub["dataset"].sharing = Sharing.CONDITIONAL
    hub["dataset"].save(update_fields=["sharing"])
    with pytest.raises(InvalidInput) as exc:  # the owner reads its own data without a grant
        ask(hub, actor=hub["owner_leader"], consumer=hub["market"])
    assert _field_of(exc) == "consumer"
    g = ask(hub, actor=hub["consumer_leader"], fields=["phone", "enterprise"])
    assert g.status == GrantStatus.REQUESTED and g.fields == ["enterprise", "phone"]  # schema order
    assert not g.automatic and g.requested_by.startswith("user:")


def test_conditional_data_waits_for_the_owner(hub: dict[str, Any]) -> None:
    g = ask(hub)
    assert g.status == GrantStatus.REQUESTED and g.decided_at is None
    with pytest.raises(Forbidden):
        grants.approve(hub["consumer_leader"], g, version=g.version)
    with pytest.raises(Forbidden):
        grants.approve(hub["owner_handler"], g, version=g.version)  # handlers do not decide
    done = grants.approve(hub["steward"], g, version=g.version, note="until the fair ends")
    assert done.status == GrantStatus.APPROVED and done.version == 2 and g.version == 2
    assert done.decided_by.startswith("user:") and done.reason == "until the fair ends"
    entries = list(AuditEntry.objects.filter(object_type="hub.grant", object_id=str(g.pk)))
    assert [e.action for e in entries] == ["hub.grant_request", "hub.grant_approve"]
    assert entries[1].summary["before"]["status"] == "requested"
    assert entries[1].summary["after"]["status"] == "approved"


def test_unconditional_data_is_approved_at_once_unless_clear_sensitive_values(
    hub: dict[str, Any],
) -> None:
    hub["dataset"].sharing = Sharing.UNCONDITIONAL
    hub["dataset"].save(update_fields=["sharing"])
    g = ask(hub, fields=["enterprise", "phone", "address"], clear=["address"])
    assert g.status == GrantStatus.APPROVED and g.automatic and g.decided_by == "system"
    assert g.in_force()
    sensitive = ask(hub, fields=["enterprise", "phone"], clear=["phone"])
    assert sensitive.status == GrantStatus.REQUESTED and not sensitive.automatic
    # A social organisation is not a government body: it waits too.
    with transaction.atomic():
        ngo = org_services.save_unit(
            actor="test",
            code="T-NGO",
            kind=UnitKind.SOCIAL_ORG,
            name_en="Neighbours' Association",
            name_zh="邻里协会",
            jurisdiction=hub["city"]["T"],
        )
    lead = factories.member("ngolead", Role.UNIT_LEADER, ngo)
    waits = ask(hub, actor=lead, consumer=ngo, fields=["enterprise"])
    assert waits.status == GrantStatus.REQUESTED and not waits.automatic


def test_refuse_and_revoke_need_a_reason_and_moves_follow_the_status(hub: dict[str, Any]) -> None:
    g = ask(hub)
    with pytest.raises(InvalidInput) as exc:
        grants.refuse(hub["owner_leader"], g, version=g.version, reason=" ")
    assert _field_of(exc) == "reason"
    with pytest.raises(Conflict) as conflict:
        grants.revoke(hub["owner_leader"], g, version=g.version, reason="x")
    assert conflict.value.code == "illegal" and conflict.value.status == 409
    grants.refuse(hub["owner_leader"], g, version=g.version, reason="no legal basis given")
    g.refresh_from_db()
    assert g.status == GrantStatus.REFUSED and g.reason == "no legal basis given"
    with pytest.raises(Conflict) as conflict:
        grants.approve(hub["owner_leader"], g, version=g.version)
    assert conflict.value.code == "illegal"
    ok = granted(hub)
    with pytest.raises(InvalidInput):
        grants.revoke(hub["owner_leader"], ok, version=ok.version, reason="")
    with pytest.raises(Conflict) as conflict:
        grants.revoke(hub["owner_leader"], ok, version=ok.version - 1, reason="late")
    assert conflict.value.code == "stale" and conflict.value.details["version"] == ok.version
    grants.revoke(hub["owner_leader"], ok, version=ok.version, reason="misuse")
    assert Grant.objects.get(pk=ok.pk).status == GrantStatus.REVOKED
    assert audit.verify().ok


def test_the_consumer_withdraws_an_undecided_request(hub: dict[str, Any]) -> None:
    g = ask(hub)
    with pytest.raises(Forbidden):
        grants.withdraw(hub["owner_leader"], g, version=g.version)
    with pytest.raises(Forbidden):
        grants.withdraw(hub["consumer_handler"], g, version=g.version)
    grants.withdraw(hub["consumer_leader"], g, version=g.version)
    assert Grant.objects.get(pk=g.pk).status == GrantStatus.WITHDRAWN
    done = granted(hub)
    with pytest.raises(Conflict):
        grants.withdraw(hub["consumer"], done, version=done.version)


def test_an_expiry_passed_before_the_decision_cannot_be_approved(hub: dict[str, Any]) -> None:
    g = ask(hub, expires_at=clock.now() + timedelta(days=1))
    with clock.frozen(clock.now() + timedelta(days=2)):
        with pytest.raises(InvalidInput) as exc:
            grants.approve(hub["owner_leader"], g, version=g.version)
        assert _field_of(exc) == "expires_at"


def test_expire_due_marks_only_grants_past_their_expiry(hub: dict[str, Any]) -> None:
    short = granted(hub, expires_at=clock.now() + timedelta(days=1))
    long = granted(hub, expires_at=clock.now() + timedelta(days=10))
    with clock.frozen(clock.now() + timedelta(days=2)):
        assert grants.expire_due() == 1
        assert grants.expire_due() == 0
    assert Grant.objects.get(pk=short.pk).status == GrantStatus.EXPIRED
    assert Grant.objects.get(pk=long.pk).status == GrantStatus.APPROVED
    assert (
        AuditEntry.objects.filter(action="hub.grant_expire", object_id=str(short.pk)).count() == 1
    )


def test_each_side_is_told_through_the_outbox(hub: dict[str, Any]) -> None:
    hub["steward"].email = "steward@market.example"
    hub["steward"].save(update_fields=["email"])
    hub["consumer_leader"].phone = "13900000001"
    hub["consumer_leader"].save(update_fields=["phone"])
    g = ask(hub)
    asked = OutboxMessage.objects.filter(topic=f"hub-grant:{g.pk}")
    assert [(m.channel, m.recipient) for m in asked] == [("email", "steward@market.example")]
    grants.refuse(hub["steward"], g, version=g.version, reason="not for this purpose")
    told = OutboxMessage.objects.filter(recipient="13900000001").get()
    assert (
        told.channel == "sms" and "refused" in told.subject and "not for this purpose" in told.body
    )
    # A move that fails sends nothing.
    before = OutboxMessage.objects.count()
    with pytest.raises(Conflict), transaction.atomic():
        grants.refuse(hub["steward"], g, version=g.version, reason="again")
    assert OutboxMessage.objects.count() == before


def test_who_sees_which_grants(hub: dict[str, Any]) -> None:
    g = granted(hub)
    assert list(grants.visible(hub["consumer"], side="consumer")) == [g]
    assert list(grants.visible(hub["consumer"], side="owner")) == []
    assert list(grants.visible(hub["owner_leader"], side="owner", status="approved")) == [g]
    assert list(grants.visible(hub["owner_leader"], status="requested,refused")) == []
    assert list(grants.visible(hub["outsider"])) == []
    with pytest.raises(InvalidInput):
        grants.visible(hub["consumer"], status="pending")
    with pytest.raises(InvalidInput):
        grants.visible(hub["consumer"], side="everyone")
