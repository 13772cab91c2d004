"""Owners and consumers acting at the same moment: a grant moves once, the second of two
clashing moves is told (409), and reads at once are each logged in one unbroken chain.

Threads need separate connections with row locks (PostgreSQL); they skip on SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.hub import grants, query
from civitas.hub.models import AccessLog, Grant, GrantStatus
from civitas.kit import audit
from civitas.kit.models import AuditEntry
from tests.hub.test_grants_support import ask, granted, loaded
from tests.racing import needs_postgres, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def _moves(g: Grant) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="hub.grant", object_id=str(g.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_approve_and_revoke_at_once(hub: dict[str, Any]) -> None:
    """Two deciders saw the same request: one approves it, the other revokes it at once. One
    wins; the other is told the grant changed (stale) or cannot move that way (illegal)."""
    g = ask(hub)
    seen = g.version
    results = race(
        lambda: grants.approve(hub["owner_leader"], Grant.objects.get(pk=g.pk), version=seen),
        lambda: grants.revoke(
            hub["steward"], Grant.objects.get(pk=g.pk), version=seen, reason="not needed"
        ),
    )
    assert results.count("ok") == 1, results
    assert next(r for r in results if r != "ok") in ("StaleGrant", "IllegalMove")
    g.refresh_from_db()
    assert g.status == GrantStatus.APPROVED and g.version == seen + 1
    assert _moves(g) == ["hub.grant_request", "hub.grant_approve"]
    assert audit.verify().ok


def test_revoke_and_refuse_race_on_an_approved_grant(hub: dict[str, Any]) -> None:
    g = granted(hub)
    seen = g.version
    results = race(
        lambda: grants.revoke(hub["owner_leader"], g.pk, version=seen, reason="first"),
        lambda: grants.revoke(hub["steward"], g.pk, version=seen, reason="second"),
    )
    assert sorted(results) == ["StaleGrant", "ok"], results
    g.refresh_from_db()
    assert g.status == GrantStatus.REVOKED and g.reason in ("first", "second")
    assert _moves(g).count("hub.grant_revoke") == 1


def test_two_approvals_make_one(hub: dict[str, Any]) -> None:
    g = ask(hub)
    results = race(
        lambda: grants.approve(hub["owner_leader"], g.pk, version=g.version),
        lambda: grants.approve(hub["steward"], g.pk, version=g.version),
    )
    assert sorted(results) == ["StaleGrant", "ok"], results
    g.refresh_from_db()
    assert g.version == 2 and _moves(g) == ["hub.grant_request", "hub.grant_approve"]


def test_approve_and_withdraw_at_once(hub: dict[str, Any]) -> None:
    g = ask(hub)
    results = race(
        lambda: grants.approve(hub["owner_leader"], g.pk, version=g.version),
        lambda: grants.withdraw(hub["consumer"], g.pk, version=g.version),
    )
    assert sorted(results) == ["StaleGrant", "ok"], results
    g.refresh_from_db()
    assert g.status in (GrantStatus.APPROVED, GrantStatus.WITHDRAWN) and g.version == 2


def test_reads_at_once_are_each_logged_in_one_chain(hub: dict[str, Any]) -> None:
    loaded(hub, 6)
    g = granted(hub, fields=["enterprise"])
    results = race(
        *[
            (lambda n=n: query.read(hub["consumer"], hub["dataset"], case_ref=f"R-{n}"))
            for n in range(6)
        ]
    )
    assert results == ["ok"] * 6
    logs = list(AccessLog.objects.filter(grant=g))
    assert len(logs) == 6 and {lg.rows for lg in logs} == {6}
    assert len({lg.audit_seq for lg in logs}) == 6
    assert {lg.case_ref for lg in logs} == {f"R-{n}" for n in range(6)}
    assert audit.verify().ok


def test_a_read_racing_a_revocation_is_either_served_before_it_or_refused(
    hub: dict[str, Any],
) -> None:
    loaded(hub, 4)
    g = granted(hub, fields=["enterprise"])
    results = race(
        lambda: query.read(hub["consumer"], hub["dataset"], grant=g.pk),
        lambda: grants.revoke(hub["owner_leader"], g.pk, version=g.version, reason="stop"),
    )
    assert results[1] == "ok"
    assert results[0] == "ok" or "Forbidden" in results[0] or "grant" in results[0]
    log = AccessLog.objects.get(grant=g)
    revoked = AuditEntry.objects.get(action="hub.grant_revoke", object_id=str(g.pk))
    if log.rows:  # served: its grant was still in force when it was read
        assert log.audit_seq is not None
    else:
        assert log.query.get("refused") == "grant_not_in_force" and log.audit_seq > revoked.seq
