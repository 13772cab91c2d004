"""Paging a query whose rows are answered through a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from ninja import Field
from ninja.pagination import LimitOffsetPagination as _NinjaLimitOffset

# The largest offset a page may start at (far past any table; SQL integers overflow at 2**63).
MAX_OFFSET = 2**31 - 1


class Mapped:
    """A queryset seen through a function, page by page: a paginator slices and counts the
    query, and only the rows of the page are turned into answers."""

    def __init__(self, qs: QuerySet[Any], fn: Callable[[Any], dict[str, Any]]) -> None:
        self.qs, self.fn = qs, fn

    def all(self) -> QuerySet[Any]:
        return self.qs

    def __len__(self) -> int:
        return self.qs.count()

    def __getitem__(self, page: slice) -> list[dict[str, Any]]:
        return [self.fn(x) for x in self.qs[page]]


class LimitOffsetPagination(_NinjaLimitOffset):
    """ninja's limit/offset paging with a bounded offset: an offset past what any table holds
    (e.g. 2**64) is a malformed request (422), not an overflow in the database (500)."""

    class Input(_NinjaLimitOffset.Input):
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
