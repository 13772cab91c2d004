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
from datetime import date

from django.conf import settings
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from civitas.kit import clock

PERSON_KEY_PREFIX = "pk_"
PERSON_KEY_LENGTH = 32  # hex characters after the prefix: 128 bits


def _secret() -> bytes:
    configured = getattr(settings, "CIVITAS_HUB_KEY", "")
    if configured:
        return str(configured).encode()
    return hashlib.sha256(b"civitas-hub-pseudonym:" + settings.SECRET_KEY.encode()).digest()


# First two digits of the region: provinces, autonomous regions, municipalities, and the
# codes of residence permits for Hong Kong, Macao and Taiwan (81, 82, 83).
PROVINCES = frozenset(
    {
        *("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35"),
        *("36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65", "71", "81", "82", "83"),
    }
)


def person_id_problem(compact: str) -> str:
    """Why ``compact`` (18 characters, upper case) is not an identity number, or "".

    The region is checked by its province only: a number keeps the county code of the place
    that first issued it, including counties since renamed, merged or created after the
    holder's birth, so a check against one list of counties would refuse real people."""
    if not (compact[:17].isdigit() and compact[:17].isascii()) or compact[17] not in _CHECKS:
        return "form"
    if ric.calc_check_digit(compact) != compact[17]:
        return "checksum"
    try:
        born = date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        return "component"
    if compact[:2] not in PROVINCES or not date(1880, 1, 1) <= born <= clock.now().date():
        return "component"
    return ""


_CHECKS = frozenset("0123456789X")
_PROBLEMS = {
    "form": "not an identity number (17 digits and a digit or X)",
    "checksum": "the check character does not match (a typing error?)",
    "component": "the birth date or region inside the number is not valid",
}


def normalise_person_id(value: str) -> str:
    """The canonical form of an 18-digit identity number, or ValueError naming the problem."""
    text = "".join(str(value).split()).upper()
    if not text:
        raise ValueError("empty")
    if len(text) != 18:
        raise ValueError(f"an identity number has 18 characters, this one has {len(text)}")
    problem = person_id_problem(text)
    if problem:
        raise ValueError(_PROBLEMS[problem])
    return text


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
