"""Personal data residents type into free text: phone numbers, identity numbers, e-mails.

:func:`scrub` masks them so that text can be shown to people who must not read them (the
public, analysts, API keys): "call 13812345678" → "call 138****5678"; an identity number keeps
its first three and last two characters; "zhang.san@example.com" → "z***@***". Shared by the
layers above (participation's public pages, mediation's masked views).
"""

from __future__ import annotations

import re

# Mainland identity numbers: 18 characters (17 digits and a check digit or X), or the old
# 15-digit form. Not preceded or followed by another digit.
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[0-9Xx]|\d{3})(?![0-9A-Za-z])")
# Mobile numbers (1[3-9]x, 11 digits), optionally with +86/0086 and spaces or dashes.
_MOBILE = re.compile(
    r"(?<![0-9])((?:\+?86|0086)[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9])"
)
# Fixed lines: an area code 0xx or 0xxx, then 7-8 digits.
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})[\s-]?(\d{3,4})[\s-]?(\d{4})(?![0-9])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


def _id_mask(m: re.Match[str]) -> str:
    whole = m.group(0)
    return whole[:3] + "*" * (len(whole) - 5) + whole[-2:]


def _mobile_mask(m: re.Match[str]) -> str:
    return f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}"


def _landline_mask(m: re.Match[str]) -> str:
    return f"{m.group(1)}-****{m.group(3)}"


def _email_mask(m: re.Match[str]) -> str:
    return f"{m.group(1)}***@***"


def scrub(text: str) -> str:
    """``text`` with phone numbers, identity numbers and e-mail addresses masked.

    "call 13812345678" → "call 138****5678"; an identity number keeps its first three and
    last two characters; "zhang.san@example.com" → "z***@***"."""
    if not text:
        return text or ""
    text = _EMAIL.sub(_email_mask, text)
    text = _ID.sub(_id_mask, text)
    text = _MOBILE.sub(_mobile_mask, text)
    return _LANDLINE.sub(_landline_mask, text)
