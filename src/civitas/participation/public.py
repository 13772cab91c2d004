"""What public pages may show about people and what they typed.

Authors of public text (suggestions, consultation comments) appear under a pseudonym: a
stable name per person ("Resident 7F3A", "居民7F3A"), derived from an HMAC of the user id
under a key of its own (derived from SECRET_KEY), so it cannot be reversed to the person
nor recomputed by anyone without the secret, and it never carries the username, name or
phone. :func:`scrub` (from civitas.kit.redact) hides personal data residents type into public
text: phone numbers, mainland identity numbers and e-mail addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from civitas.kit.redact import scrub

__all__ = ["PSEUDONYM_HEX", "pseudonym", "pseudonym_tag", "scrub"]

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
