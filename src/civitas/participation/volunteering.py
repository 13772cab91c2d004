"""Tasks: published by the city, a street office or a community committee, taken by people
and organisations, completed with hours.

Task status: open → full (every slot taken) → open (a slot freed) … → done (closed by the
publisher once every take is settled) or cancelled. A take: taken → withdrawn (by the taker)
or done with hours / no-show (confirmed by the publisher's staff). Taking locks the task row,
so two people taking the last slot at once get one slot between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal
from civitas.geo.models import Jurisdiction
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.org import access
from civitas.org.models import Unit, User
from civitas.participation import public
from civitas.participation.access_rules import managing_units, may_manage
from civitas.participation.models import Organisation, Participant, Task, TaskTake
from civitas.participation.orgs import _tell, label, person

LIVE = (TaskTake.State.TAKEN, TaskTake.State.DONE)
MAX_SLOTS = 500
TITLE_MAX = 200
DESCRIPTION_MAX = 5000  # a task is a call for help, not a report: a few paragraphs at most
PLACE_MAX = 200
REASON_MAX = 300  # as the page's field (and moderation's reasons)
NOTE_MAX = 1000


def task_snapshot(t: Task) -> dict[str, Any]:
    return {
        "code": t.code,
        "kind": t.kind,
        "title": public.scrub(t.title),
        "publisher": t.publisher_id,
        "area": t.jurisdiction_path,
        "starts_at": t.starts_at,
        "ends_at": t.ends_at,
        "slots": t.slots,
        "hours_expected": t.hours_expected,
        "appeal": t.appeal_id,
        "source_ref": t.source_ref,
        "status": t.status,
        "version": t.version,
    }


def take_snapshot(k: TaskTake) -> dict[str, Any]:
    return {
        "task": k.task_id,
        "user": k.user_id,
        "organisation": k.organisation_id,
        "state": k.state,
        "hours": k.hours,
    }


@dataclass
class TaskIn:
    kind: str
    title: str
    description: str
    publisher: Unit
    jurisdiction: Jurisdiction
    starts_at: datetime
    ends_at: datetime
    slots: int = 1
    place: str = ""
    hours_expected: Decimal | None = None
    appeal_ticket: str = ""
    source_ref: str = ""


def clean_hours(value: Any, field: str = "hours") -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(
            _("%(field)s: %(value)s is not a number of hours") % {"field": field, "value": value},
            details={"field": field},
        ) from None
    if not hours.is_finite() or hours <= 0 or hours > 9999:
        raise InvalidInput(
            _("%(field)s: give a number of hours above 0") % {"field": field},
            details={"field": field},
        )
    return hours.quantize(Decimal("0.1"))


def _at_most(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidInput(
            _("%(field)s: at most %(limit)d characters (this has %(n)d)")
            % {"field": field, "limit": limit, "n": len(value)},
            details={"field": field},
        )


def _zoned(value: Any, field: str) -> datetime:
    """A time with its zone. A time without one is ambiguous (which city's clock?) and, compared
    with the aware clock, would fail: the API refuses it naming the field. The page's form
    reads its local times in the city's zone before they get here (forms_tasks)."""
    if not isinstance(value, datetime):
        raise InvalidInput(
            _("%(field)s: give a date and time") % {"field": field}, details={"field": field}
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            _(
                "%(field)s: give the time with its zone (e.g. 2030-01-01T10:00:00+08:00 or "
                "…Z); a time without a zone is ambiguous"
            )
            % {"field": field},
            details={"field": field},
        )
    return value


def publish(*, actor: Any, data: TaskIn) -> Task:
    who = person(actor)
    place = data.jurisdiction
    units = managing_units(who, place.path)
    if not units:
        raise Forbidden(
            _("you may not publish tasks in %(place)s") % {"place": place.name},
            details={"action": "participation.manage"},
        )
    if data.publisher.pk not in {u.pk for u in managing_units(who)}:
        raise Forbidden(
            _("publisher: you do not work for %(unit)s") % {"unit": data.publisher.code},
            details={"field": "publisher"},
        )
    if not place.path.startswith(data.publisher.jurisdiction.path):
        raise InvalidInput(
            _("jurisdiction: %(place)s is outside the area of %(unit)s")
            % {"place": place.name, "unit": data.publisher.name},
            details={"field": "jurisdiction"},
        )
    if data.kind not in Task.Kind.values:
        raise InvalidInput(
            _("kind: choose among %(known)s") % {"known": ", ".join(Task.Kind.values)},
            details={"field": "kind"},
        )
    for name, limit in (("title", TITLE_MAX), ("description", DESCRIPTION_MAX)):
        value = str(getattr(data, name) or "").strip()
        if not value:
            raise InvalidInput(_("%(field)s: required") % {"field": name}, details={"field": name})
        _at_most(name, value, limit)
    _at_most("place", data.place.strip(), PLACE_MAX)
    for name in ("starts_at", "ends_at"):
        _zoned(getattr(data, name), name)
    if data.ends_at <= data.starts_at:
        raise InvalidInput(
            _("ends_at: the end must come after the start"), details={"field": "ends_at"}
        )
    if data.ends_at <= clock.now():
        raise InvalidInput(_("ends_at: the end has already passed"), details={"field": "ends_at"})
    if not 1 <= int(data.slots) <= MAX_SLOTS:
        raise InvalidInput(
            _("slots: between 1 and %(max)s") % {"max": MAX_SLOTS}, details={"field": "slots"}
        )
    hours = None
    if data.hours_expected not in (None, ""):
        hours = clean_hours(data.hours_expected, "hours_expected")
    appeal = None
    if data.appeal_ticket.strip():
        appeal = access.readable(
            who, Appeal.objects.filter(ticket=data.appeal_ticket.strip())
        ).first()
        if appeal is None:
            raise InvalidInput(
                _("appeal: no appeal %(ticket)s that you may read")
                % {"ticket": data.appeal_ticket.strip()},
                details={"field": "appeal"},
            )
    with transaction.atomic():
        t = Task.objects.create(
            code=f"tmp-{clock.now().timestamp()}-{who.pk}",
            city=place.root_code,
            kind=data.kind,
            title=data.title.strip(),
            description=data.description.strip(),
            publisher=data.publisher,
            jurisdiction=place,
            jurisdiction_path=place.path,
            place=data.place.strip(),
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            slots=int(data.slots),
            hours_expected=hours,
            appeal=appeal,
            source_ref=data.source_ref.strip()[:60],
            published_by=label(who),
        )
        t.code = f"{t.city}-T-{t.pk:05d}"
        t.save(update_fields=["code"])
        audit.record(
            actor=who,
            action="participation.task_publish",
            object_type="participation.task",
            object_id=t.pk,
            after=task_snapshot(t),
        )
    return t


def lock_task(code: str, version: int | None = None) -> Task:
    t = (
        Task.objects.select_for_update(of=("self",), no_key=True)
        .select_related("publisher", "jurisdiction")
        .filter(code=code)
        .first()
    )
    if t is None:
        raise NotFound(_("no task %(code)s") % {"code": code})
    if version is not None and t.version != version:
        raise Conflict(
            _("%(code)s was changed meanwhile; reload and try again") % {"code": t.code},
            code="stale",
        )
    return t


def _live(t: Task) -> int:
    return TaskTake.objects.filter(task=t, state__in=LIVE).count()


def _refill(t: Task) -> None:
    """Open or full, as the live takes say (only while the task runs)."""
    if t.status not in (Task.Status.OPEN, Task.Status.FULL):
        return
    status = Task.Status.FULL if _live(t) >= t.slots else Task.Status.OPEN
    if status != t.status:
        t.status = status
        t.version += 1
        t.save(update_fields=["status", "version"])


def take(*, actor: Any, task: str, organisation: Organisation | str | None = None) -> TaskTake:
    """A confirmed participant takes a slot, or a manager takes one for their organisation."""
    who = person(actor)
    org = None
    if organisation:
        code = organisation if isinstance(organisation, str) else organisation.code
        org = Organisation.objects.filter(code=code).first()
        if org is None:
            raise InvalidInput(
                _("organisation: no organisation %(code)s") % {"code": code},
                details={"field": "organisation"},
            )
        if not org.managers.filter(pk=who.pk).exists():
            raise Forbidden(
                _("organisation: you do not act for %(name)s") % {"name": org.name},
                details={"field": "organisation"},
            )
        if org.state != Organisation.State.ACTIVE:
            raise Conflict(
                _("%(name)s is not active and cannot take tasks") % {"name": org.name},
                code="illegal_move",
            )
    else:
        p = Participant.objects.filter(user=who).first()
        if p is None or p.state != Participant.State.ACTIVE:
            raise Forbidden(
                _(
                    "only volunteers confirmed by their community may take tasks; report to your "
                    "community first"
                ),
                details={"action": "participation.take"},
            )
    with transaction.atomic():
        t = lock_task(task)
        if t.status != Task.Status.OPEN and t.status != Task.Status.FULL:
            raise Conflict(
                _("%(code)s is %(status)s: it cannot be taken")
                % {"code": t.code, "status": t.get_status_display()},
                code="illegal_move",
            )
        if t.ends_at <= clock.now():
            raise Conflict(_("%(code)s has already ended") % {"code": t.code}, code="illegal_move")
        if TaskTake.objects.filter(task=t, user=who, state__in=LIVE).exists():
            raise Conflict(
                _("you have already taken %(code)s") % {"code": t.code}, code="duplicate"
            )
        if (
            org is not None
            and TaskTake.objects.filter(task=t, organisation=org, state__in=LIVE).exists()
        ):
            raise Conflict(
                _("%(name)s has already taken %(code)s") % {"name": org.name, "code": t.code},
                code="duplicate",
            )
        if t.status == Task.Status.FULL or _live(t) >= t.slots:
            raise Conflict(_("every place of %(code)s is taken") % {"code": t.code}, code="full")
        k = TaskTake.objects.create(task=t, user=who, organisation=org)
        _refill(t)
        audit.record(
            actor=who,
            action="participation.task_take",
            object_type="participation.task",
            object_id=t.pk,
            after=take_snapshot(k),
        )
        _tell(
            t.publisher,
            [],
            _("Task %(code)s taken") % {"code": t.code},
            _("A place of %(title)s was taken (%(n)s of %(slots)s).")
            % {"title": public.scrub(t.title), "n": _live(t), "slots": t.slots},
            f"participation-task:{t.pk}:take:{k.pk}",
        )
    return k


def withdraw(*, actor: Any, task: str) -> TaskTake:
    """The taker gives their place back before it is confirmed."""
    who = person(actor)
    with transaction.atomic():
        t = lock_task(task)
        k = TaskTake.objects.filter(task=t, user=who, state=TaskTake.State.TAKEN).first()
        if k is None:
            raise Conflict(
                _("you hold no place of %(code)s that can be given back") % {"code": t.code},
                code="illegal_move",
            )
        if t.status not in (Task.Status.OPEN, Task.Status.FULL):
            raise Conflict(
                _("%(code)s is %(status)s") % {"code": t.code, "status": t.get_status_display()},
                code="illegal_move",
            )
        before = take_snapshot(k)
        k.state = TaskTake.State.WITHDRAWN
        k.save(update_fields=["state"])
        _refill(t)
        audit.record(
            actor=who,
            action="participation.task_withdraw",
            object_type="participation.task",
            object_id=t.pk,
            before=before,
            after=take_snapshot(k),
        )
        _tell(
            t.publisher,
            [],
            _("A place of task %(code)s was given back") % {"code": t.code},
            _("%(title)s has a free place again.") % {"title": public.scrub(t.title)},
            f"participation-task:{t.pk}:withdraw:{k.pk}",
        )
    return k


def _require_manager(actor: Any, t: Task) -> User:
    who = person(actor)
    if not may_manage(who, t.jurisdiction_path):
        raise Forbidden(
            _("only the staff of %(unit)s or of its area may do this") % {"unit": t.publisher.name},
            details={"action": "participation.manage"},
        )
    return who


def complete(
    *, actor: Any, task: str, take_id: int, hours: Any = None, no_show: bool = False, note: str = ""
) -> TaskTake:
    """The publisher's staff confirm a take: done with the hours, or a no-show."""
    note = str(note or "").strip()
    _at_most("note", note, NOTE_MAX)
    with transaction.atomic():
        t = lock_task(task)
        who = _require_manager(actor, t)
        k = (
            TaskTake.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=take_id, task=t)
            .first()
        )
        if k is None:
            raise NotFound(_("no such place taken in %(code)s") % {"code": t.code})
        if t.status not in (Task.Status.OPEN, Task.Status.FULL):
            raise Conflict(
                _("%(code)s is %(status)s: its places can no longer be confirmed")
                % {"code": t.code, "status": t.get_status_display()},
                code="illegal_move",
            )
        if k.state != TaskTake.State.TAKEN:
            raise Conflict(
                _("this place is %(state)s, not awaiting confirmation")
                % {"state": k.get_state_display()},
                code="illegal_move",
            )
        if t.starts_at > clock.now():
            raise Conflict(
                _("%(code)s has not started yet: confirm after it starts") % {"code": t.code},
                code="illegal_move",
            )
        before = take_snapshot(k)
        if no_show:
            k.state, k.hours = TaskTake.State.NO_SHOW, None
        else:
            if hours in (None, ""):
                raise InvalidInput(_("hours: give the hours worked"), details={"field": "hours"})
            worked = clean_hours(hours)
            window = Decimal((t.ends_at - t.starts_at).total_seconds() / 3600).quantize(
                Decimal("0.1")
            )
            if worked > max(window, Decimal("0.1")):
                raise InvalidInput(
                    _("hours: %(h)s is more than the task's time window (%(w)s hours)")
                    % {"h": worked, "w": window},
                    details={"field": "hours"},
                )
            k.state, k.hours = TaskTake.State.DONE, worked
        k.confirmed_by, k.confirmed_at = label(who), clock.now()
        k.note = note
        k.save(update_fields=["state", "hours", "confirmed_by", "confirmed_at", "note"])
        _refill(t)
        audit.record(
            actor=who,
            action="participation.task_no_show" if no_show else "participation.task_complete",
            object_type="participation.task",
            object_id=t.pk,
            before=before,
            after=take_snapshot(k),
        )
        _tell(
            None,
            [k.user],
            _("Task %(code)s") % {"code": t.code},
            _("You did not come to %(title)s.") % {"title": public.scrub(t.title)}
            if no_show
            else _("Thank you: %(hours)s hours recorded for %(title)s.")
            % {"hours": k.hours, "title": public.scrub(t.title)},
            f"participation-task:{t.pk}:confirm:{k.pk}",
        )
    return k


def close(*, actor: Any, task: str, version: int | None = None) -> Task:
    """Done: once every place taken is confirmed (done or no-show), at least one done."""
    with transaction.atomic():
        t = lock_task(task, version)
        who = _require_manager(actor, t)
        if t.status not in (Task.Status.OPEN, Task.Status.FULL):
            raise Conflict(
                _("%(code)s is %(status)s already")
                % {"code": t.code, "status": t.get_status_display()},
                code="illegal_move",
            )
        takes = TaskTake.objects.filter(task=t)
        if takes.filter(state=TaskTake.State.TAKEN).exists():
            raise Conflict(
                _("confirm every place taken (done or did not come) before closing %(code)s")
                % {"code": t.code},
                code="illegal_move",
            )
        if not takes.filter(state=TaskTake.State.DONE).exists():
            raise Conflict(
                _("nobody completed %(code)s: cancel it instead") % {"code": t.code},
                code="illegal_move",
            )
        before = task_snapshot(t)
        t.status, t.closed_at = Task.Status.DONE, clock.now()
        t.version += 1
        t.save(update_fields=["status", "closed_at", "version"])
        audit.record(
            actor=who,
            action="participation.task_close",
            object_type="participation.task",
            object_id=t.pk,
            before=before,
            after=task_snapshot(t),
        )
    return t


def cancel(*, actor: Any, task: str, reason: str, version: int | None = None) -> Task:
    """Cancelled, with a reason: the places still taken are given back and their takers told."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("reason: say why the task is cancelled"), details={"field": "reason"})
    _at_most("reason", reason, REASON_MAX)
    with transaction.atomic():
        t = lock_task(task, version)
        who = _require_manager(actor, t)
        if t.status not in (Task.Status.OPEN, Task.Status.FULL):
            raise Conflict(
                _("%(code)s is %(status)s: it cannot be cancelled")
                % {"code": t.code, "status": t.get_status_display()},
                code="illegal_move",
            )
        if TaskTake.objects.filter(task=t, state=TaskTake.State.DONE).exists():
            raise Conflict(
                _("some places of %(code)s are already completed: close it instead")
                % {"code": t.code},
                code="illegal_move",
            )
        before = task_snapshot(t)
        takers = [
            k.user
            for k in TaskTake.objects.filter(task=t, state=TaskTake.State.TAKEN).select_related(
                "user"
            )
        ]
        TaskTake.objects.filter(task=t, state=TaskTake.State.TAKEN).update(
            state=TaskTake.State.WITHDRAWN, note=reason
        )
        t.status, t.closed_at = Task.Status.CANCELLED, clock.now()
        t.version += 1
        t.save(update_fields=["status", "closed_at", "version"])
        audit.record(
            actor=who,
            action="participation.task_cancel",
            object_type="participation.task",
            object_id=t.pk,
            before=before,
            after=task_snapshot(t),
            reason=reason,
        )
        if takers:
            _tell(
                None,
                takers,
                _("Task %(code)s cancelled") % {"code": t.code},
                _("%(title)s was cancelled: %(why)s")
                % {"title": public.scrub(t.title), "why": public.scrub(reason)},
                f"participation-task:{t.pk}:cancel",
            )
    return t
