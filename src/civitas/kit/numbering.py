"""Human-readable codes numbered per prefix (``DC-R-2026-0007``), created under a unique
constraint: a concurrent creator that takes the same number loses on the constraint and tries
the next one."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Length

from civitas.kit.errors import Conflict

M = TypeVar("M", bound=models.Model)

ATTEMPTS = 5


def next_code(model: type[models.Model], prefix: str, width: int) -> str:
    """The next free ``<prefix><number>`` of ``model.code``, the number zero-padded to
    ``width`` digits (longer codes sort after shorter ones, so 10000 follows 9999)."""
    last = (
        model._default_manager.filter(code__startswith=prefix)
        .order_by(Length("code").desc(), "-code")
        .values_list("code", flat=True)
        .first()
    )
    n = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{n:0{width}d}"


def create_numbered(
    model: type[M], prefix: str, width: int, fields: dict[str, Any], refusal: str
) -> M:
    """Create a ``model`` row with the next code; ``refusal`` is the message when no number
    could be taken after a few attempts. Call inside the creating transaction."""
    for _attempt in range(ATTEMPTS):
        code = next_code(model, prefix, width)
        try:
            with transaction.atomic():
                return model._default_manager.create(code=code, **fields)
        except IntegrityError:
            if model._default_manager.filter(code=code).exists():
                continue
            raise
    raise Conflict(refusal)
