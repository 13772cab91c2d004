"""CSV cells that a spreadsheet shows as text and never runs as a formula."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: numbers as they are, text starting like a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def xlsx_cell(value: Any) -> Any:
    """A value for an openpyxl cell: numbers, dates and booleans as they are (typed cells),
    text that starts like a formula quoted as in ``csv_cell`` (openpyxl stores any text
    starting with "=" as a formula)."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, str):
        return csv_cell(value)
    if hasattr(value, "isoformat"):
        return value
    return csv_cell(value)
