"""What public pages may show about people and what they typed.

Authors of public text (suggestions, consultation comments) appear under a pseudonym: a
stable name per person ("Resident 7F3A", "居民7F3A"), derived from an HMAC of the user id
under a key of its own (derived from SECRET_KEY), so it cannot be reversed to the person
nor recomputed by anyone without the secret, and it never carries the username, name or
phone. :func:`scrub` hides personal data residents type into public text: phone numbers,
mainland identity numbers and e-mail addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

PSEUDONYM_HEX = 4  # hex characters shown: 65,536 names, enough to tell neighbours apart


def _key() -> bytes:
    return hashlib.sha256(
        b"civitas-participation-pseudonym:" + settings.SECRET_KEY.encode()
    ).digest()


def pseudonym_tag(user_or_id: Any) -> str:
    """The hex tag of a person (stable per user id), e.g. "7F3A"."""
    user_id = getattr(user_or_id, "pk", user_or_id)
    if user_id is None:
        raise ValueError("pseudonym of an unsaved user")
    digest = hmac.new(_key(), f"user:{int(user_id)}".encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX].upper()


def pseudonym(user: Any) -> str:
    """The public name of ``user`` (a User or a user id) in the active language."""
    # Translators: a resident's public pseudonym; %(tag)s is a short code like 7F3A.
    return gettext("Resident %(tag)s") % {"tag": pseudonym_tag(user)}


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
