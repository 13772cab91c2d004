"""Tasks: publishing, taking, withdrawing, confirming, closing and cancelling; every refusal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from civitas.appeals.models import Appeal
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Role
from civitas.participation import orgs, volunteering
from civitas.participation.models import Organisation, OrgKind, Task, TaskTake
from tests.factories import UserFactory, member
from tests.participation.tasks_helpers import confirmed, task

pytestmark = pytest.mark.django_db


def _org(c: dict[str, Any], manager: Any) -> Organisation:
    o = orgs.register_organisation(
        actor=c["handler"],
        data=orgs.OrgIn(
            kind=OrgKind.VOLUNTEER_TEAM,
            name_en="River Friends",
            name_zh="河流之友",
            jurisdiction=c["T-D1-S1"],
            offers=["clean_up"],
        ),
        managers=[manager],
    )
    assert o.state == "active"
    return o


def test_publish_gives_a_code_and_an_audit_entry(part: dict[str, Any]) -> None:
    t = task(part)
    assert t.code == f"T-T-{t.pk:05d}"
    assert t.status == "open" and t.publisher == part["T-D1-S1-office"]
    assert t.jurisdiction_path == part["T-D1-S1-C1"].path
    assert AuditEntry.objects.filter(
        action="participation.task_publish", object_id=str(t.pk)
    ).exists()


def test_a_community_committee_publishes_in_its_community(part: dict[str, Any]) -> None:
    t = task(part, actor=part["community"], publisher=part["T-D1-S1-C1-cc"])
    assert t.publisher == part["T-D1-S1-C1-cc"]
    with pytest.raises(Forbidden):  # the street around it is outside the committee's area
        task(part, actor=part["community"], publisher=part["T-D1-S1-C1-cc"], place="T-D1-S1")
    with pytest.raises(Forbidden):  # the neighbouring community too
        task(part, actor=part["community"], publisher=part["T-D1-S1-C1-cc"], place="T-D1-S1-C2")


def test_publish_refusals(part: dict[str, Any]) -> None:
    c = part
    with pytest.raises(Forbidden):  # another street's handler, in our street
        task(c, actor=c["other_street"], publisher=c["T-D2-S1-office"])
    with pytest.raises(Forbidden) as e:  # a unit the actor does not work for
        task(c, actor=c["handler"], publisher=c["T-D2-S1-office"])
    assert e.value.details == {"field": "publisher"}
    boss = UserFactory(username="root", is_superuser=True)
    with pytest.raises(InvalidInput) as e:  # the office's area does not cover the place
        task(c, actor=boss, publisher=c["T-D1-S1-office"], place="T-D2-S1-C1")
    assert e.value.details == {"field": "jurisdiction"}
    with pytest.raises(Forbidden):  # a resident
        task(c, actor=c["residents"][0])
    now = clock.now()
    for kwargs, field in [
        ({"kind": "dance"}, "kind"),
        ({"title": "  "}, "title"),
        ({"description": ""}, "description"),
        ({"starts_at": now, "ends_at": now - timedelta(hours=1)}, "ends_at"),
        ({"starts_at": now - timedelta(hours=5), "ends_at": now - timedelta(hours=1)}, "ends_at"),
        ({"slots": 0}, "slots"),
        ({"hours": Decimal("-1")}, "hours_expected"),
        ({"appeal_ticket": "NOPE-1"}, "appeal"),
    ]:
        with pytest.raises(InvalidInput) as e:
            task(c, **kwargs)
        assert e.value.details == {"field": field}, kwargs
    assert Task.objects.count() == 0


def test_a_task_from_an_appeal_the_publisher_may_read(part: dict[str, Any]) -> None:
    from django.db import transaction

    from civitas.appeals import intake

    data = intake.AppealIn(
        city="T",
        text="An elderly neighbour needs help with shopping",
        lat=0.5,
        lon=0.5,
        contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
    )
    with transaction.atomic():
        a: Appeal = intake.submit(
            actor=part["residents"][0], data=data, resident=part["residents"][0]
        ).appeal
    t = task(part, actor=part["dispatcher"], publisher=part["centre"], appeal_ticket=a.ticket)
    assert t.appeal == a
    with pytest.raises(InvalidInput):
        task(part, actor=part["community"], publisher=part["T-D1-S1-C1-cc"], appeal_ticket=a.ticket)


def test_take_withdraw_complete_close(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=2)
    a, b = confirmed(c, "vol-a"), confirmed(c, "vol-b")
    ka = volunteering.take(actor=a, task=t.code)
    assert Task.objects.get(pk=t.pk).status == "open"
    kb = volunteering.take(actor=b, task=t.code)
    assert Task.objects.get(pk=t.pk).status == "full"
    volunteering.withdraw(actor=b, task=t.code)
    assert TaskTake.objects.get(pk=kb.pk).state == "withdrawn"
    assert Task.objects.get(pk=t.pk).status == "open"
    kb2 = volunteering.take(actor=b, task=t.code)  # again after withdrawing
    assert Task.objects.get(pk=t.pk).status == "full"
    with pytest.raises(Conflict):  # someone still unconfirmed
        volunteering.close(actor=c["handler"], task=t.code)
    done = volunteering.complete(actor=c["handler"], task=t.code, take_id=ka.pk, hours="2.5")
    assert done.state == "done" and done.hours == Decimal("2.5")
    ns = volunteering.complete(actor=c["handler"], task=t.code, take_id=kb2.pk, no_show=True)
    assert ns.state == "no_show" and ns.hours is None
    assert Task.objects.get(pk=t.pk).status == "open"  # the no-show freed a place
    closed = volunteering.close(actor=c["handler"], task=t.code)
    assert closed.status == "done" and closed.closed_at is not None
    # a taker is told their hours
    assert (
        OutboxMessage.objects.filter(topic=f"participation-task:{t.pk}:confirm:{ka.pk}").exists()
        or not a.email
    )
    assert audit.verify().ok
    # nothing moves once done
    for move in (
        lambda: volunteering.take(actor=confirmed(c, "vol-c"), task=t.code),
        lambda: volunteering.close(actor=c["handler"], task=t.code),
        lambda: volunteering.cancel(actor=c["handler"], task=t.code, reason="x"),
        lambda: volunteering.complete(actor=c["handler"], task=t.code, take_id=ka.pk, hours=1),
    ):
        with pytest.raises(Conflict):
            move()


def test_take_refusals(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=1)
    resident = c["residents"][0]
    with pytest.raises(Forbidden):  # not a confirmed participant
        volunteering.take(actor=resident, task=t.code)
    pending = UserFactory(username="pending-vol")
    orgs.report(actor=pending, home=c["T-D1-S1-C1"], is_volunteer=True, is_party_member=False)
    with pytest.raises(Forbidden):  # reported, not yet confirmed
        volunteering.take(actor=pending, task=t.code)
    with pytest.raises(Forbidden):
        volunteering.take(actor=None, task=t.code)
    a = confirmed(c, "vol-a")
    with pytest.raises(NotFound):
        volunteering.take(actor=a, task="T-T-99999")
    volunteering.take(actor=a, task=t.code)
    with pytest.raises(Conflict) as e:
        volunteering.take(actor=a, task=t.code)
    assert e.value.code == "duplicate"
    b = confirmed(c, "vol-b")
    with pytest.raises(Conflict) as e:
        volunteering.take(actor=b, task=t.code)
    assert e.value.code == "illegal_move" or e.value.code == "full"
    with pytest.raises(Conflict):  # b holds nothing to give back
        volunteering.withdraw(actor=b, task=t.code)
    ended = task(
        c,
        title="old",
        starts_at=clock.now() - timedelta(hours=3),
        ends_at=clock.now() + timedelta(minutes=1),
    )
    with clock.frozen(clock.now() + timedelta(hours=1)), pytest.raises(Conflict):
        volunteering.take(actor=b, task=ended.code)


def test_an_organisation_takes_through_its_manager(part: dict[str, Any]) -> None:
    c = part
    manager = c["residents"][1]
    o = _org(c, manager)
    t = task(c, slots=3)
    k = volunteering.take(actor=manager, task=t.code, organisation=o.code)
    assert k.organisation == o and k.user == manager
    with pytest.raises(Forbidden):  # not one of its managers
        volunteering.take(actor=c["residents"][0], task=t.code, organisation=o.code)
    with pytest.raises(InvalidInput):
        volunteering.take(actor=manager, task=t.code, organisation="NOPE")
    t2 = task(c, title="second")
    orgs.move_organisation(actor=c["handler"], org=o.code, move="suspend", reason="checks")
    with pytest.raises(Conflict):  # a suspended organisation
        volunteering.take(actor=manager, task=t2.code, organisation=o.code)


def test_confirmation_refusals(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=2)
    a = confirmed(c, "vol-a")
    k = volunteering.take(actor=a, task=t.code)
    with pytest.raises(Forbidden):  # the other street
        volunteering.complete(actor=c["other_street"], task=t.code, take_id=k.pk, hours=1)
    with pytest.raises(Forbidden):  # the taker themselves
        volunteering.complete(actor=a, task=t.code, take_id=k.pk, hours=1)
    for hours in ("", "abc", "0", "-2", "5"):  # the window is 4 hours
        with pytest.raises(InvalidInput) as e:
            volunteering.complete(actor=c["handler"], task=t.code, take_id=k.pk, hours=hours)
        assert e.value.details == {"field": "hours"}
    with pytest.raises(NotFound):
        volunteering.complete(actor=c["handler"], task=t.code, take_id=k.pk + 999, hours=1)
    future = task(c, title="later", started=False)
    kf = volunteering.take(actor=a, task=future.code)
    with pytest.raises(Conflict):  # before it starts
        volunteering.complete(actor=c["handler"], task=future.code, take_id=kf.pk, hours=1)
    volunteering.withdraw(actor=a, task=future.code)
    with pytest.raises(Conflict):  # withdrawn: nothing to confirm
        volunteering.complete(actor=c["handler"], task=future.code, take_id=kf.pk, hours=1)
    # the street leader and the community's staff (area covers it) may confirm
    volunteering.complete(actor=c["community"], task=t.code, take_id=k.pk, hours="1")
    with pytest.raises(Conflict):  # already confirmed
        volunteering.complete(actor=c["leader"], task=t.code, take_id=k.pk, hours="1")


def test_cancel(part: dict[str, Any]) -> None:
    c = part
    t = task(c, slots=2)
    a = confirmed(c, "vol-a")
    volunteering.take(actor=a, task=t.code)
    with pytest.raises(InvalidInput) as e:
        volunteering.cancel(actor=c["handler"], task=t.code, reason=" ")
    assert e.value.details == {"field": "reason"}
    with pytest.raises(Forbidden):
        volunteering.cancel(actor=c["other_street"], task=t.code, reason="rain")
    with pytest.raises(Conflict):  # stale version
        volunteering.cancel(actor=c["handler"], task=t.code, reason="rain", version=t.version + 5)
    done = volunteering.cancel(actor=c["handler"], task=t.code, reason="rain")
    assert done.status == "cancelled"
    assert TaskTake.objects.get(task=t).state == "withdrawn"
    with pytest.raises(Conflict):
        volunteering.withdraw(actor=a, task=t.code)
    # a task with completed places is closed, not cancelled
    t2 = task(c, title="two")
    k = volunteering.take(actor=a, task=t2.code)
    volunteering.complete(actor=c["handler"], task=t2.code, take_id=k.pk, hours=1)
    with pytest.raises(Conflict):
        volunteering.cancel(actor=c["handler"], task=t2.code, reason="late")
    # nobody completed: close is refused
    t3 = task(c, title="three")
    with pytest.raises(Conflict):
        volunteering.close(actor=c["handler"], task=t3.code)


def test_notices_go_to_the_publisher_staff(part: dict[str, Any]) -> None:
    c = part
    c["handler"].email = "handler@example.org"
    c["handler"].save()
    t = task(c)
    a = confirmed(c, "vol-a")
    k = volunteering.take(actor=a, task=t.code)
    assert OutboxMessage.objects.filter(
        recipient="handler@example.org", topic=f"participation-task:{t.pk}:take:{k.pk}"
    ).exists()


def test_a_department_handler_cannot_publish(part: dict[str, Any]) -> None:
    c = part
    housing = member("housing-h", Role.UNIT_HANDLER, c["T-D1-housing"])
    with pytest.raises(Forbidden):
        task(c, actor=housing, publisher=c["T-D1-housing"])
