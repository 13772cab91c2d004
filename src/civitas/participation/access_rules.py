"""How participation rows are scoped with the one door (org.access), for staff.

What the public sees (open tasks, consultations, suggestions, active organisations, without
anyone's contacts) is chosen by the public selectors, not by ``readable``. Staff see the rows
of their area or their units; a person always sees their own participant record and takes.
"""

from __future__ import annotations

from django.db.models import Q

from civitas.org import access
from civitas.participation.models import (
    Comment,
    Consultation,
    Organisation,
    Participant,
    Report,
    Suggestion,
    Task,
    TaskTake,
)


def _own_or_staff(path_field: str, owner_field: str) -> access.Rule:
    staff = access.path_rule(path_field)

    def rule(scope: access.Scope) -> Q:
        q = Q(**{owner_field: scope.user_id}) if scope.user_id else Q(pk__in=[])
        if "participation.read" in scope.actions:
            q |= staff(scope)
        return q

    return rule


def register() -> None:
    access.register(
        Organisation,
        "participation.read",
        access.path_rule("jurisdiction_path", unit_field="partner_unit_id"),
    )
    access.register(Participant, None, _own_or_staff("home_path", "user_id"))
    access.register(
        Task, "participation.read", access.path_rule("jurisdiction_path", unit_field="publisher_id")
    )
    access.register(TaskTake, None, _own_or_staff("task__jurisdiction_path", "user_id"))
    access.register(
        Consultation,
        "participation.read",
        access.path_rule("jurisdiction_path", unit_field="unit_id"),
    )
    access.register(
        Comment,
        "participation.read",
        access.path_rule("consultation__jurisdiction_path", unit_field="consultation__unit_id"),
    )
    access.register(
        Suggestion,
        "participation.read",
        access.path_rule("jurisdiction_path", unit_field="unit_id"),
    )
    access.register(Report, "participation.moderate", access.path_rule("target_path"))
