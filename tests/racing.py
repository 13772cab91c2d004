"""People acting at the same moment: moves run in threads that start together, each on its own
database connection (row locks need PostgreSQL; SQLite serialises whole writes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from civitas.kit.errors import Conflict

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="threads need separate connections with row locks (PostgreSQL)",
)


def race(*moves: Callable[[], Any]) -> list[str]:
    """Run the moves at once; each reports 'ok', the name of the conflict that refused it, or
    'unexpected …' with any other error, so that a test shows what went wrong."""
    barrier = threading.Barrier(len(moves))
    results = [""] * len(moves)

    def run(i: int, move: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                move()
            results[i] = "ok"
        except Conflict as exc:
            results[i] = type(exc).__name__
        except Exception as exc:
            results[i] = f"unexpected {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
