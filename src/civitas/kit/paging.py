"""Paging a query whose rows are answered through a function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet


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
