"""Reads for dashboards from a read replica, when there is one.

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database alias and this module's
``ReplicaRouter``. Code that only reads and may be a few seconds behind (the command centre,
the assessment tables, the mediation figures) wraps its reads::

    @replica.reading()
    def overview(actor, ...): ...

or ``with replica.reading(): ...``. Inside the block, reads go to ``replica``; writes always
go to ``default``. Without a replica, or inside a transaction on ``default`` (which must see
its own writes), reads stay on ``default``: the block changes nothing.

Querysets are lazy: evaluate them inside the block (return lists and figures, not querysets).
Objects read from the replica keep reading their relations from it; saving one still writes
to ``default``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ContextDecorator
from contextvars import ContextVar, Token
from typing import Any

from django.db import connections

ALIAS = "replica"
DEFAULT = "default"

_reading: ContextVar[bool] = ContextVar("civitas_replica_reading", default=False)


def available() -> bool:
    return ALIAS in connections.settings


class reading(ContextDecorator):
    """Send the reads of the block (or of the decorated function) to the replica."""

    def __init__(self) -> None:
        self._tokens: list[Token[bool]] = []

    def __enter__(self) -> reading:
        self._tokens.append(_reading.set(True))
        return self

    def __exit__(self, *exc: object) -> None:
        _reading.reset(self._tokens.pop())

    def _recreate_cm(self) -> reading:
        return reading()  # a fresh one per call: decorated functions may run in several threads


def active() -> bool:
    """Whether reads made now go to the replica."""
    return _reading.get() and available() and not connections[DEFAULT].in_atomic_block


class ReplicaRouter:
    """Reads inside ``reading()`` go to the replica; everything else to ``default``."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return ALIAS if active() else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        dbs = {obj1._state.db, obj2._state.db}
        return True if dbs <= {DEFAULT, ALIAS, None} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == ALIAS else None


def aliases() -> Iterator[str]:
    yield DEFAULT
    if available():
        yield ALIAS
