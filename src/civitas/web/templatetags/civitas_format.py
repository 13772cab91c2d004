"""Small display filters shared by the pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    """0.873 → "87%"; empty for a missing value."""
    if value is None or value == "":
        return ""
    try:
        return f"{float(value):.0%}"
    except (TypeError, ValueError):
        return ""
