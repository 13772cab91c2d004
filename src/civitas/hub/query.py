"""Reading records: only through a grant in force (or as the owner), only the granted fields
and rows, masked by sensitivity, and every read logged (AccessLog + audit chain)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civitas.hub.models import AccessChannel, AccessLog, Dataset, Field, Grant


@dataclass
class Page:
    dataset: Dataset
    grant: Grant | None  # None when the owner reads its own data
    fields: list[Field]  # the columns shown, in schema order
    rows: list[dict[str, Any]]  # {"id": record id, "area": code or "", <field>: value, ...}
    total: int | None  # rows matching (None when not counted)
    next_after: int | None  # keyset cursor for the next page
    log: AccessLog | None = None
    masked: set[str] = field(default_factory=set)  # fields shown masked


def read(
    actor: Any,
    dataset: Dataset,
    *,
    grant: Grant | None = None,
    area: str | None = None,
    filters: dict[str, str] | None = None,
    after: int | None = None,
    page_size: int = 100,
    purpose: str = "",
    case_ref: str = "",
    channel: str = AccessChannel.PAGE,
) -> Page:
    """One page of records of ``dataset`` for ``actor``.

    ``grant`` is one of the actor's grants in force on the dataset (the first such grant when
    None); an owner's steward or decider without a grant reads everything in clear
    (channel ``owner``). ``area`` (a jurisdiction code) narrows inside the grant's area;
    ``filters`` are exact matches on granted fields. Raises Forbidden (no grant, grant not in
    force, a field not granted in ``filters``, an area outside the grant) and InvalidInput.
    Logs the read with the query and the number of rows, even when it returns none."""
    raise NotImplementedError
