"""Two people taking the last place at once: exactly one gets it (PostgreSQL row locks)."""

from __future__ import annotations

from typing import Any

import pytest

from civitas.participation import volunteering
from civitas.participation.models import Task, TaskTake
from tests.participation.tasks_helpers import confirmed, task
from tests.racing import needs_postgres, race

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def test_two_people_take_the_last_place(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=2)
    first, a, b = confirmed(c, "vol-1"), confirmed(c, "vol-a"), confirmed(c, "vol-b")
    volunteering.take(actor=first, task=t.code)
    results = race(
        lambda: volunteering.take(actor=a, task=t.code),
        lambda: volunteering.take(actor=b, task=t.code),
    )
    assert sorted(results) == ["Conflict", "ok"]
    assert TaskTake.objects.filter(task=t, state="taken").count() == 2
    assert Task.objects.get(pk=t.pk).status == "full"


def test_a_withdrawal_and_a_take_at_once_keep_the_count(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=1)
    a, b = confirmed(c, "vol-a"), confirmed(c, "vol-b")
    volunteering.take(actor=a, task=t.code)
    results = race(
        lambda: volunteering.withdraw(actor=a, task=t.code),
        lambda: volunteering.take(actor=b, task=t.code),
    )
    live = TaskTake.objects.filter(task=t, state="taken").count()
    status = Task.objects.get(pk=t.pk).status
    # whichever came first, the count and the status agree
    assert results[0] == "ok"
    assert (live, status) in ((1, "full"), (0, "open"))
