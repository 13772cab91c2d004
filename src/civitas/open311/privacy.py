"""What an Open311 answer may show of a resident's words.

Public answers never carry the Contact record. When the city allows descriptions in public
(``CIVITAS_OPEN311_PUBLIC_TEXT``), text is still scrubbed: the appellant's own name, phone and
e-mail wherever they appear, and anything shaped like an e-mail address, a phone number or an
identity card number.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

MASK = "[…]"
_PATTERNS = (
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # resident identity card number
    re.compile(r"(?<![\w])\+?\d[\d\s().-]{5,}\d(?!\w)"),  # phone-like runs of 7+ digits
)


def public_text() -> bool:
    return bool(getattr(settings, "CIVITAS_OPEN311_PUBLIC_TEXT", False))


def scrub(text: str, contact: Any = None) -> str:
    out = text or ""
    if contact is not None:
        for value in (contact.name, contact.phone, contact.email):
            value = (value or "").strip()
            if len(value) >= 2:
                out = out.replace(value, MASK)
    for pattern in _PATTERNS:
        out = pattern.sub(
            lambda m: (
                MASK
                if sum(ch.isdigit() for ch in m.group()) >= 7 or "@" in m.group()
                else m.group()
            ),
            out,
        )
    return out


def coarse(value: float | None) -> float | None:
    """Coordinates to about 100 metres when the city keeps residents' words private."""
    if value is None:
        return None
    return value if public_text() else round(value, 3)
