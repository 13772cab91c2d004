"""Deadline durations as written in catalogues: ``30m``, ``2h``, ``7d``, ``15wd``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|wd)\s*$")
# A bound far past any real deadline: "9" * 400 + "h" would otherwise parse as infinity.
MAX_AMOUNT = 1_000_000
UNITS = {"m": "minutes", "h": "hours", "d": "calendar days", "wd": "working days"}


@dataclass(frozen=True)
class Duration:
    amount: float
    unit: str  # m, h, d or wd

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount}{self.unit}"


class BadDuration(ValueError):
    """Not a duration. ``str()`` is the English message for files and logs; pages translate
    by ``reason`` ("not_a_duration" or "not_positive") and ``text``."""

    def __init__(self, message: str, *, text: object, reason: str) -> None:
        super().__init__(message)
        self.text, self.reason = text, reason


def parse(text: str) -> Duration:
    m = _PATTERN.match(str(text))
    if not m:
        raise BadDuration(
            f"{text!r} is not a duration: write a number and a unit, "
            "m (minutes), h (hours), d (days) or wd (working days), e.g. 24h or 15wd",
            text=text,
            reason="not_a_duration",
        )
    amount = float(m.group(1))
    if not math.isfinite(amount) or amount > MAX_AMOUNT:
        raise BadDuration(
            f"{text!r}: a duration is at most {MAX_AMOUNT:g} of its unit",
            text=text,
            reason="too_large",
        )
    if amount <= 0:
        raise BadDuration(
            f"{text!r}: a duration must be positive", text=text, reason="not_positive"
        )
    return Duration(amount, m.group(2))
