"""Standard keys: pseudonymous person keys, identity numbers and enterprise credit codes.

An identity card number (居民身份证号码, GB 11643) is never stored: it becomes an HMAC-SHA256
under the hub's own secret, so two departments' records of one person join on the same key
while neither the key nor the database reveals the number. Without the secret the key cannot
be recomputed from a guessed number (the number space is small enough to enumerate, which
rules out a plain hash).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

PERSON_KEY_PREFIX = "pk_"
PERSON_KEY_LENGTH = 32  # hex characters after the prefix: 128 bits


def _secret() -> bytes:
    configured = getattr(settings, "CIVITAS_HUB_KEY", "")
    if configured:
        return str(configured).encode()
    return hashlib.sha256(b"civitas-hub-pseudonym:" + settings.SECRET_KEY.encode()).digest()


def normalise_person_id(value: str) -> str:
    """The canonical form of an 18-digit identity number, or ValueError naming the problem."""
    text = "".join(str(value).split()).upper()
    if not text:
        raise ValueError("empty")
    try:
        return str(ric.validate(text))
    except StdnumError as exc:
        raise ValueError(_ric_problem(text, exc)) from None


def _ric_problem(text: str, exc: StdnumError) -> str:
    if len(text) != 18:
        return f"an identity number has 18 characters, this one has {len(text)}"
    name = type(exc).__name__
    if name == "InvalidChecksum":
        return "the check character does not match (a typing error?)"
    if name == "InvalidComponent":
        return "the birth date or region inside the number is not valid"
    return "not an identity number (17 digits and a digit or X)"


def person_key(value: str) -> str:
    """The pseudonymous key of an identity number (validated and normalised first)."""
    number = normalise_person_id(value)
    digest = hmac.new(_secret(), number.encode(), hashlib.sha256).hexdigest()
    return PERSON_KEY_PREFIX + digest[:PERSON_KEY_LENGTH]


def is_person_key(value: str) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(PERSON_KEY_PREFIX)
        and len(value) == len(PERSON_KEY_PREFIX) + PERSON_KEY_LENGTH
    )


def normalise_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100) checked, or ValueError."""
    text = "".join(str(value).split()).upper()
    if not text:
        raise ValueError("empty")
    if len(text) != 18:
        raise ValueError(f"a credit code has 18 characters, this one has {len(text)}")
    try:
        return str(uscc.validate(text))
    except StdnumError as exc:
        if type(exc).__name__ == "InvalidChecksum":
            raise ValueError("the check character does not match (a typing error?)") from None
        raise ValueError("not a unified social credit code") from None


def complete_person_id(first17: str) -> str:
    """Append the check character to 17 digits (region, birth date, sequence): for made-up
    numbers in the demo and the tests."""
    return first17 + str(ric.calc_check_digit(first17 + "0"))  # it ignores the last character


def complete_credit_code(first17: str) -> str:
    """Append the check character to the first 17 characters of a credit code."""
    return first17 + str(uscc.calc_check_digit(first17))
