"""Shared steps for the grant, query and access API tests (no tests here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.test import Client

from civitas.geo.models import Jurisdiction
from civitas.hub import grants
from civitas.hub.models import Dataset, Grant
from civitas.kit import clock
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Unit
from tests.hub import helpers

ALL_FIELDS = [f[0] for f in helpers.INSPECTION_FIELDS]


def later(days: int = 90) -> Any:
    return clock.now() + timedelta(days=days)


def ask(
    hub: dict[str, Any],
    *,
    fields: list[str] | None = None,
    clear: list[str] | None = None,
    area: Jurisdiction | None = None,
    dataset: Dataset | None = None,
    consumer: Unit | None = None,
    actor: Any = None,
    expires_at: Any = None,
) -> Grant:
    return grants.request_grant(
        actor or hub["consumer"],
        dataset or hub["dataset"],
        consumer=consumer or hub["street"],
        fields=fields if fields is not None else ["enterprise", "phone", "result"],
        clear_fields=clear or [],
        area=area,
        purpose="checking shops before the street fair",
        legal_basis="Food Safety Law art. 87",
        expires_at=expires_at or later(),
    )


def granted(hub: dict[str, Any], **kw: Any) -> Grant:
    """A grant asked for by the street office's analyst and approved by the owner's leader."""
    g = ask(hub, **kw)
    return grants.approve(hub["owner_leader"], g, version=g.version)


def loaded(hub: dict[str, Any], n: int = 8) -> list[Any]:
    return helpers.put_records(hub["dataset"], helpers.inspection_rows(n))


def key(unit: Unit | None, scopes: list[str]) -> tuple[ApiKey, str]:
    with transaction.atomic():
        return org_services.create_api_key(actor="test", name="hub key", scopes=scopes, unit=unit)


def key_client(unit: Unit | None, scopes: list[str]) -> Client:
    _, clear = key(unit, scopes)
    return Client(headers={"X-Api-Key": clear})


def person_client(user: Any) -> Client:
    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    return c
