"""An organisation's contact person and phone are encrypted at rest."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from civitas.kit import crypto
from civitas.participation import orgs
from civitas.participation.models import Organisation
from tests.participation.test_orgs import data

pytestmark = pytest.mark.django_db


def test_contact_columns_hold_tokens(part: dict[str, Any]) -> None:
    o = orgs.register_organisation(actor=part["handler"], data=data(part))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_name, contact_phone FROM participation_organisation WHERE id = %s",
            [o.pk],
        )
        name, phone = cursor.fetchone()
    assert crypto.is_token(name) and "Wang" not in name
    assert crypto.is_token(phone) and "13900000001" not in phone
    again = Organisation.objects.get(pk=o.pk)
    assert (again.contact_name, again.contact_phone) == ("Ms Wang", "13900000001")
