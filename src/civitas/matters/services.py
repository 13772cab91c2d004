"""Every write to the matters catalogue. Callers own the transaction."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from civitas.kit import audit, durations
from civitas.kit.errors import InvalidInput
from civitas.matters.models import Matter, Urgency
from civitas.matters.vocabulary import DepartmentType


def _duration_problem(exc: durations.BadDuration) -> str:
    if exc.reason == "not_positive":
        return _("%(text)s: a duration must be positive") % {"text": repr(exc.text)}
    return _(
        "%(text)s is not a duration: write a number and a unit, m (minutes), h (hours), "
        "d (days) or wd (working days), e.g. 24h or 15wd"
    ) % {"text": repr(exc.text)}


def check_deadlines(deadlines: Any) -> dict[str, dict[str, str]]:
    if not deadlines:
        return {}
    if not isinstance(deadlines, dict):
        raise InvalidInput(
            _("deadlines must map an urgency to {respond, resolve}"),
            details={"field": "deadlines"},
        )
    clean: dict[str, dict[str, str]] = {}
    for urgency, limits in deadlines.items():
        if urgency not in Urgency.values:
            raise InvalidInput(
                _("deadlines: unknown urgency %(urgency)s (use %(values)s)")
                % {"urgency": repr(urgency), "values": ", ".join(Urgency.values)},
                details={"field": "deadlines"},
            )
        if not isinstance(limits, dict) or set(limits) - {"respond", "resolve"}:
            raise InvalidInput(
                _("deadlines[%(urgency)s] must have only 'respond' and 'resolve'")
                % {"urgency": urgency},
                details={"field": "deadlines"},
            )
        try:
            clean[urgency] = {k: str(durations.parse(v)) for k, v in limits.items()}
        except durations.BadDuration as exc:
            raise InvalidInput(
                _("deadlines[%(urgency)s]: %(problem)s")
                % {"urgency": urgency, "problem": _duration_problem(exc)},
                details={"field": "deadlines"},
            ) from exc
    return clean


def check_responsible(responsible: Any) -> dict[str, str]:
    if not responsible:
        return {}
    if not isinstance(responsible, dict):
        raise InvalidInput(
            _("responsible must map a level code to a department type"),
            details={"field": "responsible"},
        )
    for level, dept in responsible.items():
        if dept not in DepartmentType.values:
            raise InvalidInput(
                _("responsible[%(level)s]: unknown department type %(type)s")
                % {"level": level, "type": repr(dept)},
                details={"field": "responsible"},
            )
    return {str(k): str(v) for k, v in sorted(responsible.items())}


def _snapshot(m: Matter) -> dict[str, Any]:
    return {
        "code": m.code,
        "parent": m.parent.code if m.parent else None,
        "name_en": m.name_en,
        "name_zh": m.name_zh,
        "keywords": m.keywords,
        "urgency_default": m.urgency_default,
        "deadlines": m.deadlines,
        "responsible": m.responsible,
        "active": m.active,
    }


def save_matter(
    *,
    actor: Any,
    catalogue: str,
    code: str,
    name_en: str,
    name_zh: str,
    parent: Matter | None = None,
    keywords: list[str] | None = None,
    urgency_default: str = Urgency.NORMAL,
    deadlines: dict[str, Any] | None = None,
    responsible: dict[str, str] | None = None,
    active: bool = True,
    reason: str = "",
    audit_it: bool = True,
) -> Matter:
    code = (code or "").strip()
    if not code or "/" in code or len(code) > 60:
        raise InvalidInput(
            _("matter code %(code)s must be 1-60 characters without '/'") % {"code": repr(code)},
            details={"field": "code"},
        )
    if urgency_default not in Urgency.values:
        raise InvalidInput(
            _("unknown urgency %(urgency)s") % {"urgency": repr(urgency_default)},
            details={"field": "urgency_default"},
        )
    matter = Matter.objects.filter(code=code).first()
    before = _snapshot(matter) if matter else None
    matter = matter or Matter(code=code)
    matter.catalogue, matter.parent = catalogue, parent
    matter.name_en, matter.name_zh = name_en or name_zh, name_zh or name_en
    matter.keywords = [k.strip() for k in (keywords or []) if k and k.strip()]
    matter.urgency_default = urgency_default
    matter.deadlines = check_deadlines(deadlines)
    matter.responsible = check_responsible(responsible)
    matter.active = active
    matter.path = (parent.path if parent else "/") + code + "/"
    matter.depth = parent.depth + 1 if parent else 0
    matter.save()
    after = _snapshot(matter)
    if audit_it and before != after:
        audit.record(
            actor=actor,
            action="matter.create" if before is None else "matter.update",
            object_type="matters.matter",
            object_id=code,
            before=before,
            after=after,
            reason=reason,
        )
    return matter
