"""Shared steps of the organisation, participant and task tests (helper "tasks")."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from civitas.kit import clock
from civitas.org.models import User
from civitas.participation import orgs, volunteering
from civitas.participation.models import Participant, Task
from tests.factories import UserFactory


def confirmed(c: dict[str, Any], username: str, home: str = "T-D1-S1-C1") -> User:
    """A resident reported to ``home`` and confirmed by its community's staff."""
    user = UserFactory(username=username)
    p = orgs.report(actor=user, home=c[home], is_volunteer=True, is_party_member=False)
    staff = c["community"] if home == "T-D1-S1-C1" else c["leader"]
    orgs.decide_participant(actor=staff, participant=p.pk, confirm=True)
    assert Participant.objects.get(pk=p.pk).state == "active"
    return user


def task(
    c: dict[str, Any],
    *,
    slots: int = 2,
    place: str = "T-D1-S1-C1",
    actor: Any = None,
    publisher: Any = None,
    started: bool = True,
    hours: Decimal | None = Decimal("2"),
    **extra: Any,
) -> Task:
    now = clock.now()
    start = now - timedelta(hours=1) if started else now + timedelta(days=1)
    return volunteering.publish(
        actor=actor or c["handler"],
        data=volunteering.TaskIn(
            kind=extra.pop("kind", Task.Kind.CLEAN_UP),
            title=extra.pop("title", "Clean the riverside"),
            description=extra.pop("description", "Bring gloves."),
            publisher=publisher or c["T-D1-S1-office"],
            jurisdiction=c[place],
            starts_at=extra.pop("starts_at", start),
            ends_at=extra.pop("ends_at", start + timedelta(hours=4)),
            slots=slots,
            place=extra.pop("where", "North gate"),
            hours_expected=hours,
            **extra,
        ),
    )
