"""What a consumer sees of a value, by the field's sensitivity class.

Public and internal values are shown as stored (the hub serves government units). Sensitive
values are partly hidden (enough to recognise, not to use); secret values are withheld. A
grant's ``clear_fields`` lift the masking for the fields it names. Pseudonymous person keys
are shown as they are: they reveal nothing without the hub's secret.
"""

from __future__ import annotations

from typing import Any

from civitas.hub.keys import is_person_key
from civitas.hub.models import KeyRole, Sensitivity

WITHHELD = "[withheld]"
HIDE = "*"


def mask(value: Any, *, sensitivity: str, key_role: str = "", clear: bool = False) -> Any:
    if value is None or value == "" or clear:
        return value
    if sensitivity in (Sensitivity.PUBLIC, Sensitivity.INTERNAL):
        return value
    if key_role == KeyRole.PERSON_ID and is_person_key(str(value)):
        return value
    if sensitivity == Sensitivity.SECRET:
        return WITHHELD
    return partly_hidden(value, key_role=key_role)


def partly_hidden(value: Any, *, key_role: str = "") -> Any:
    """Sensitive values: phones keep their first three and last four digits (138****5678)
    and always hide at least four, credit codes their first two and last four, dates their
    year, numbers are withheld, coordinates are rounded to about 1 km, text keeps its first
    character. A text result never contains the value it hides (else it is withheld)."""
    shown = _partly_hidden(value, key_role=key_role)
    if isinstance(shown, str):
        text = str(value)
        if shown == text or (len(text) > 2 and text in shown):
            return WITHHELD
    return shown


def _partly_hidden(value: Any, *, key_role: str = "") -> Any:
    if isinstance(value, bool):
        return WITHHELD
    if key_role in (KeyRole.LATITUDE, KeyRole.LONGITUDE) and isinstance(value, int | float):
        return round(float(value), 2)
    if isinstance(value, int | float):
        return WITHHELD
    text = str(value)
    digits = [c for c in text if c.isdigit()]
    if key_role == KeyRole.PHONE and digits:
        hidden = max(4, len(digits) - 7)
        end = min(4, max(0, len(digits) - hidden))
        start = max(0, len(digits) - hidden - end)
        return (
            "".join(digits[:start])
            + HIDE * min(hidden, len(digits))
            + "".join(digits[len(digits) - end :] if end else [])
        )
    if key_role == KeyRole.CREDIT_CODE and len(text) == 18:
        return text[:2] + HIDE * 12 + text[-4:]
    if key_role == KeyRole.DATE or (len(text) >= 10 and text[4:5] == "-" and text[7:8] == "-"):
        return text[:4]
    if len(text) <= 1:
        return HIDE
    return text[0] + HIDE * min(len(text) - 1, 6)
