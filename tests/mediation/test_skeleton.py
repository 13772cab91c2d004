"""The mediation fixture builds, and disputes are scoped before any service exists."""

from __future__ import annotations

from typing import Any

from civitas.mediation.models import Dispute
from civitas.org import access


def test_staff_without_the_permission_see_no_disputes(med: dict[str, Any]) -> None:
    assert access.can(med["mediator_c"], "disputes.read")
    assert not access.can(med["mediator_c"], "disputes.figures")
    assert access.readable(med["mediator_c"], Dispute.objects.all()).count() == 0
