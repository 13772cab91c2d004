"""Template filters of participation's public pages.

``{{ text|scrub }}``: text as the public may read it, with phones, identity numbers and e-mail
addresses masked (:func:`civitas.participation.public.scrub`). Every resident's or staff
member's free text on a participation page goes through it (titles, descriptions, answers).
"""

from __future__ import annotations

from typing import Any

from django import template

from civitas.participation import public

register = template.Library()


@register.filter
def scrub(value: Any) -> str:
    return public.scrub("" if value is None else str(value))
