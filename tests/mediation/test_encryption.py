"""Parties' names, phones, addresses and representatives are encrypted at rest."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from civitas.kit import crypto
from civitas.mediation.models import Party
from tests.mediation.helpers import register

pytestmark = pytest.mark.django_db


def test_party_columns_hold_tokens_and_the_dispute_shows_plaintext(med: dict[str, Any]) -> None:
    d = register(med)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone, address, representative FROM mediation_party "
            "WHERE dispute_id = %s ORDER BY id",
            [d.pk],
        )
        rows = cursor.fetchall()
    assert len(rows) == 2
    for (name, phone, address, representative), plain in zip(
        rows, [("Wang Fang", "13800000001"), ("Li Lei", "13800000002")], strict=True
    ):
        assert crypto.is_token(name) and plain[0] not in name
        assert crypto.is_token(phone) and plain[1] not in phone
        assert crypto.is_token(address) and "Oak Road" not in address
        assert representative == ""  # none given: stays empty, no token
    parties = list(Party.objects.filter(dispute=d).order_by("pk"))
    assert [(p.name, p.phone, p.address) for p in parties] == [
        ("Wang Fang", "13800000001", "Oak Road 1"),
        ("Li Lei", "13800000002", "Oak Road 3"),
    ]
