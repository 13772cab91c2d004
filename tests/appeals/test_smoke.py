from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.appeals import services
from civitas.appeals.models import Status
from tests.appeals.conftest import fresh, submit


@pytest.mark.django_db
def test_the_happy_path(case_city: dict[str, Any]) -> None:
    c = case_city
    done = submit(c)
    a = done.appeal
    assert a.jurisdiction.code == "T-D1-S1-C1"
    assert a.matter.code == "T-M1-1-1"
    assert a.status == Status.DISPATCHED and a.lead_unit.code == "T-D1-HOUSING"
    with transaction.atomic():
        services.accept(actor=c["handler"], appeal=a)
    with transaction.atomic():
        services.resolve(actor=c["handler"], appeal=a, result="Lift repaired")
    with transaction.atomic():
        services.rate(
            actor=c["resident"], appeal=a, responded=True, solved=True, satisfaction="satisfied"
        )
    assert fresh(a).status == Status.CLOSED
    from civitas.kit import audit

    assert audit.verify().ok
