"""Reading organisations, participants and tasks: what the public sees and what staff see.

Public readers get open tasks and active organisations without contacts, appeals or sources
(the templates and the API choose the fields; these querysets choose the rows). Staff rows go
through ``access.readable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from civitas.kit import clock
from civitas.org import access
from civitas.participation.models import (
    Consultation,
    Organisation,
    Participant,
    Suggestion,
    Task,
    TaskTake,
)


def public_tasks(city: str | None = None) -> QuerySet[Task]:
    qs = Task.objects.filter(status=Task.Status.OPEN, ends_at__gt=clock.now())
    if city:
        qs = qs.filter(city=city)
    return (
        qs.select_related("publisher", "jurisdiction")
        .annotate(taken=Count("takes", filter=Q(takes__state__in=("taken", "done"))))
        .order_by("starts_at", "pk")
    )


def staff_tasks(actor: Any, status: str = "") -> QuerySet[Task]:
    qs = access.readable(actor, Task.objects.all())
    if status:
        qs = qs.filter(status=status)
    # An aggregate drops the model's ordering: order explicitly so the pages are stable.
    return (
        qs.select_related("publisher", "jurisdiction")
        .annotate(taken=Count("takes", filter=Q(takes__state__in=("taken", "done"))))
        .order_by("-published_at", "-pk")
    )


def task_for(actor: Any, code: str) -> tuple[Task | None, bool]:
    """The task and whether ``actor`` sees it as staff; the public sees open, full and done
    tasks (never cancelled ones)."""
    staff = access.readable(actor, Task.objects.filter(code=code)).first()
    if staff is not None:
        return staff, True
    public = (
        Task.objects.filter(code=code)
        .exclude(status=Task.Status.CANCELLED)
        .select_related("publisher", "jurisdiction")
        .first()
    )
    return public, False


def live_count(task: Task) -> int:
    return TaskTake.objects.filter(task=task, state__in=("taken", "done")).count()


def public_organisations(city: str | None = None, kind: str = "") -> QuerySet[Organisation]:
    qs = Organisation.objects.filter(state=Organisation.State.ACTIVE).select_related("jurisdiction")
    if city:
        qs = qs.filter(city=city)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def staff_organisations(actor: Any, state: str = "") -> QuerySet[Organisation]:
    qs = access.readable(actor, Organisation.objects.all()).select_related(
        "jurisdiction", "partner_unit"
    )
    if state:
        qs = qs.filter(state=state)
    return qs


def pending_participants(actor: Any) -> QuerySet[Participant]:
    if not access.can(actor, "participation.read"):
        return Participant.objects.none()
    return (
        access.readable(actor, Participant.objects.filter(state=Participant.State.PENDING))
        .exclude(user_id=getattr(actor, "pk", 0) or 0)
        .select_related("user", "home", "organisation")
    )


def staff_participants(actor: Any) -> QuerySet[Participant]:
    if not access.can(actor, "participation.read"):
        return Participant.objects.none()
    return access.readable(actor, Participant.objects.all()).select_related(
        "user", "home", "organisation"
    )


@dataclass
class Mine:
    participant: Participant | None
    takes: list[TaskTake]
    hours: Decimal
    done: int
    organisations: list[Organisation]


def mine(user: Any) -> Mine:
    p = Participant.objects.filter(user=user).select_related("home", "organisation").first()
    takes = list(
        TaskTake.objects.filter(user=user)
        .select_related("task", "task__jurisdiction", "organisation")
        .order_by("-taken_at", "-pk")
    )
    done = [k for k in takes if k.state == TaskTake.State.DONE]
    hours = sum((k.hours or Decimal(0) for k in done), Decimal(0))
    orgs = list(Organisation.objects.filter(managers=user).order_by("code"))
    return Mine(p, takes, hours, len(done), orgs)


def open_consultations(city: str | None = None, limit: int = 10) -> list[Consultation]:
    qs = Consultation.objects.filter(status=Consultation.Status.OPEN)
    if city:
        qs = qs.filter(city=city)
    return list(qs.order_by("closes_at", "pk")[:limit])


def due_suggestions(city: str | None = None, limit: int = 10) -> list[Suggestion]:
    qs = Suggestion.objects.filter(status=Suggestion.Status.DUE, hidden_at__isnull=True)
    if city:
        qs = qs.filter(city=city)
    return list(qs.order_by("answer_due", "pk")[:limit])


# -- figures --------------------------------------------------------------------------------


@dataclass
class Figures:
    start: datetime | None
    end: datetime | None
    hours: Decimal
    people: int
    takes: int
    tasks: int
    by_community: list[dict[str, Any]]
    by_organisation: list[dict[str, Any]]
    by_kind: list[dict[str, Any]]


def _h(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.1"))


def done_takes(actor: Any, start: datetime | None, end: datetime | None) -> QuerySet[TaskTake]:
    """Completed takes of the tasks ``actor`` may read, whose task started in [start, end)."""
    tasks = access.readable(actor, Task.objects.all()).values("pk")
    qs = TaskTake.objects.filter(state=TaskTake.State.DONE, task__in=tasks)
    if start is not None:
        qs = qs.filter(task__starts_at__gte=start)
    if end is not None:
        qs = qs.filter(task__starts_at__lt=end)
    return qs


def figures(actor: Any, start: datetime | None = None, end: datetime | None = None) -> Figures:
    qs = done_takes(actor, start, end)
    total = qs.aggregate(
        h=Sum("hours"),
        p=Count("user", distinct=True),
        n=Count("pk"),
        t=Count("task", distinct=True),
    )

    def group(*fields: str) -> list[dict[str, Any]]:
        rows = (
            qs.values(*fields)
            .annotate(hours=Sum("hours"), people=Count("user", distinct=True), takes=Count("pk"))
            .order_by(*fields)
        )
        return [{**r, "hours": _h(r["hours"])} for r in rows]

    # An organisation's figures: the places it took, and those its members took themselves.
    org_rows = (
        qs.annotate(org=Coalesce("organisation_id", "user__participant__organisation_id"))
        .exclude(org=None)
        .values("org")
        .annotate(hours=Sum("hours"), people=Count("user", distinct=True), takes=Count("pk"))
        .order_by("org")
    )
    names = Organisation.objects.in_bulk([r["org"] for r in org_rows])
    by_org = [
        {
            "organisation__code": names[r["org"]].code,
            "organisation__name_en": names[r["org"]].name_en,
            "organisation__name_zh": names[r["org"]].name_zh,
            "hours": _h(r["hours"]),
            "people": r["people"],
            "takes": r["takes"],
        }
        for r in org_rows
    ]
    return Figures(
        start=start,
        end=end,
        hours=_h(total["h"]),
        people=total["p"],
        takes=total["n"],
        tasks=total["t"],
        by_community=group(
            "task__jurisdiction__code", "task__jurisdiction__name_en", "task__jurisdiction__name_zh"
        ),
        by_organisation=by_org,
        by_kind=group("task__kind"),
    )


def who_where(
    actor: Any, start: datetime | None = None, end: datetime | None = None, limit: int = 500
) -> list[TaskTake]:
    """Who took part where: completed takes with the person, the organisation and the place
    (staff only: the rows of tasks they may read)."""
    return list(
        done_takes(actor, start, end)
        .select_related("user", "organisation", "task", "task__jurisdiction")
        .order_by("task__jurisdiction__path", "-task__starts_at", "pk")[:limit]
    )
