"""Grants: a consumer unit asks, the owner decides, the grant works until it expires or is
revoked. Every step locks the grant row, checks the version the form saw, and writes an
audit entry in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from civitas.geo.models import Jurisdiction
from civitas.hub.models import Dataset, Grant
from civitas.org.models import Unit


def request_grant(
    actor: Any,
    dataset: Dataset,
    *,
    consumer: Unit,
    fields: list[str],
    clear_fields: list[str] | None = None,
    area: Jurisdiction | None = None,
    purpose: str,
    legal_basis: str,
    expires_at: datetime,
) -> Grant:
    """Ask for ``fields`` of ``dataset`` for ``consumer``. Refused for a dataset that is not
    shareable, unknown fields, an area outside the dataset's, an expiry in the past or beyond
    CIVITAS_HUB_MAX_GRANT_DAYS, or an actor who may not ask for ``consumer``. An unconditional
    dataset asked for by a government unit (kinds government, centre, department, community
    committee, grid team), without clear values of sensitive or secret fields, is approved at
    once (``automatic``)."""
    raise NotImplementedError


def approve(actor: Any, grant: Grant, *, version: int, note: str = "") -> Grant:
    raise NotImplementedError


def refuse(actor: Any, grant: Grant, *, version: int, reason: str) -> Grant:
    raise NotImplementedError


def revoke(actor: Any, grant: Grant, *, version: int, reason: str) -> Grant:
    raise NotImplementedError


def withdraw(actor: Any, grant: Grant, *, version: int) -> Grant:
    """The consumer takes back a request not yet decided."""
    raise NotImplementedError


def expire_due() -> int:
    """Mark approved grants past their expiry as expired (they already give no access)."""
    raise NotImplementedError
