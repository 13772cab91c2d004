"""How values are written in a pack's cells, read back by the reader and written by the exporter.

Lists: ``a|b|c``. Deadlines: ``urgent:2h/24h;normal:24h/15wd``. Responsible department types:
``district:housing;street:street_office``. Flags: ``true`` / ``false``.
"""

from __future__ import annotations

from civitas.kit import durations

LIST_SEPARATOR = "|"
TRUE_WORDS = {"true", "yes", "1", "y"}
FALSE_WORDS = {"false", "no", "0", "n", ""}
DEADLINES_EXAMPLE = (
    "write URGENCY:RESPOND/RESOLVE pairs separated by ';', e.g. urgent:2h/24h;normal:24h/15wd"
)
RESPONSIBLE_EXAMPLE = (
    "write LEVEL:DEPARTMENT_TYPE pairs separated by ';', e.g. district:housing;street:street_office"
)


def split_list(text: str) -> list[str]:
    return [item.strip() for item in (text or "").split(LIST_SEPARATOR) if item.strip()]


def join_list(items: list[str] | None) -> str:
    return LIST_SEPARATOR.join(items or [])


def clean_aliases(items: list[str]) -> list[str]:
    """As the services store them: stripped, unique, sorted."""
    return sorted({a.strip() for a in items if a and a.strip()})


def check_code(code: str, *, max_length: int = 40) -> str | None:
    """Why a jurisdiction code is unacceptable, or None."""
    if not code:
        return "required: give a unique code"
    if len(code) > max_length:
        return f"{code!r} is longer than {max_length} characters: shorten it"
    if "/" in code or any(ch.isspace() for ch in code):
        return f"{code!r} contains '/' or a space: use letters, digits, '-' or '_'"
    return None


def parse_deadlines(text: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``urgent:2h/24h;normal:24h/15wd`` -> ({urgency: {respond, resolve}}, errors).

    Either duration of a pair may be left out (``urgent:2h/``), not both.
    """
    from civitas.matters.models import Urgency

    result: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        urgency, sep, limits = part.partition(":")
        urgency = urgency.strip()
        if not sep or "/" not in limits:
            errors.append(f"{part!r} is not URGENCY:RESPOND/RESOLVE: {DEADLINES_EXAMPLE}")
            continue
        if urgency not in Urgency.values:
            use = ", ".join(Urgency.values)
            errors.append(f"unknown urgency {urgency!r} in {part!r}: use {use}")
            continue
        if urgency in result:
            errors.append(f"urgency {urgency!r} is given twice: keep one pair per urgency")
            continue
        respond, _, resolve = (s.strip() for s in limits.partition("/"))
        if not (respond or resolve):
            errors.append(f"{part!r} gives no duration: {DEADLINES_EXAMPLE}")
            continue
        pair: dict[str, str] = {}
        for key, value in (("respond", respond), ("resolve", resolve)):
            if value:
                try:
                    pair[key] = str(durations.parse(value))
                except ValueError as exc:
                    errors.append(f"{urgency} {key}: {exc}")
        result[urgency] = pair
    return result, errors


def format_deadlines(deadlines: dict[str, dict[str, str]]) -> str:
    from civitas.matters.models import Urgency

    order = {u: i for i, u in enumerate(Urgency.values)}
    items = sorted(deadlines.items(), key=lambda kv: order.get(kv[0], len(order)))
    return ";".join(f"{u}:{d.get('respond', '')}/{d.get('resolve', '')}" for u, d in items)


def parse_responsible(text: str, levels: set[str]) -> tuple[dict[str, str], list[str]]:
    """``district:housing;street:street_office`` -> ({level: department type}, errors)."""
    from civitas.matters.vocabulary import DepartmentType

    result: dict[str, str] = {}
    errors: list[str] = []
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        level, sep, dept = (s.strip() for s in part.partition(":"))
        if not (sep and level and dept):
            errors.append(f"{part!r} is not LEVEL:DEPARTMENT_TYPE: {RESPONSIBLE_EXAMPLE}")
            continue
        if level not in levels:
            known = ", ".join(sorted(levels))
            errors.append(f"unknown level {level!r}: use a level of manifest.json ({known})")
        if dept not in DepartmentType.values:
            known = ", ".join(DepartmentType.values)
            errors.append(f"unknown department type {dept!r}: use one of {known}")
        if level in result:
            errors.append(f"level {level!r} is given twice: keep one department type per level")
        result[level] = dept
    return result, errors


def format_responsible(responsible: dict[str, str]) -> str:
    return ";".join(f"{level}:{dept}" for level, dept in sorted(responsible.items()))


def parse_bool(text: str) -> bool | None:
    word = (text or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def format_bool(value: bool) -> str:
    return "true" if value else "false"
