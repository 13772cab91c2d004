"""Helpers shared by the page views: refusing politely, paging, HTMX detection."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest

from civitas.org import access

PAGE_SIZE = 50


def require(request: HttpRequest, action: str, message: str, *, path: str | None = None) -> None:
    """Refuse with a 403 page that explains ``message`` unless the user may ``action``."""
    if not access.can(request.user, action, path=path):
        raise PermissionDenied(message)


def page_of(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def query_string(request: HttpRequest, **drop: Any) -> str:
    """The current query without ``page`` (for pagination links that keep filters)."""
    params = request.GET.copy()
    params.pop("page", None)
    for key in drop:
        params.pop(key, None)
    return params.urlencode()
