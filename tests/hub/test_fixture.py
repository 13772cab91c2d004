from __future__ import annotations

from typing import Any

import pytest

from civitas.hub import keys
from civitas.hub.models import Record
from tests.hub import helpers

pytestmark = pytest.mark.django_db


def test_records_carry_derived_keys_and_never_the_identity_number(hub: dict[str, Any]) -> None:
    rows = helpers.inspection_rows(6)
    helpers.put_records(hub["dataset"], rows)
    stored = list(Record.objects.filter(dataset=hub["dataset"]).order_by("row_number"))
    assert [r.jurisdiction.code for r in stored[:4]] == [
        "T-D1-S1-C1",
        "T-D1-S2-C1",
        "T-D1-S1-C2",
        "T-D1-S2-C2",
    ]
    assert all(keys.is_person_key(r.person_key) for r in stored)
    assert all(r.data["legal_rep_id"] == r.person_key for r in stored)
    assert not any(helpers.person_id(n) in str(r.data) for r in stored for n in range(1, 6))
    # the same person in two rows has one key
    assert stored[0].person_key == stored[5].person_key
