"""Small display filters shared by the pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

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


@register.filter
def actor(label: Any) -> str:
    """An audit label in words: "user:14:analyst-street" → "analyst-street", "apikey:3:Traffic
    feed" → "API key “Traffic feed”", "system" → "the system"; anything else as it is."""
    text = str(label or "")
    kind, _, rest = text.partition(":")
    _, _, name = rest.partition(":")
    if kind == "user" and name:
        return name
    if kind == "apikey" and name:
        return gettext("API key “%(name)s”") % {"name": name}
    if text == "system":
        return gettext("the system")
    return text
