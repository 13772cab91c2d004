"""Concurrent writers append one after another: the chain never forks."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from civitas.kit import audit
from civitas.kit.models import AuditEntry


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_the_chain_intact() -> None:
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith(
        ("file:memorydb", ":memory:")
    ):
        pytest.skip("in-memory SQLite is not shared between threads")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    audit.record(
                        actor=f"w{n}", action="thing.update", object_type="t", object_id=f"{n}-{i}"
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert AuditEntry.objects.count() == 40
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 41))
    result = audit.verify()
    assert result.ok, result.problem
