"""Handing cases to outside Open311 systems (filled in by the client side)."""

from __future__ import annotations

from typing import Any


def on_case_moved(sender: Any, *, appeal: Any, action: str, **kwargs: Any) -> None:
    """Receiver of ``appeals.signals.case_moved``: queue or cancel a handoff."""
