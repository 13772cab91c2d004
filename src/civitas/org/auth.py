"""Who is calling: a signed-in person (session, CSRF-checked) or a machine with an API key."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from civitas.kit.errors import CivitasError
from civitas.org import services


class ApiKeyHeader(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        try:
            return services.authenticate_api_key(key)
        except CivitasError:
            return None


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            return services.authenticate_api_key(token)
        except CivitasError:
            return None


class Session(SessionAuth):
    """Signed-in people; ninja's SessionAuth enforces CSRF on unsafe methods."""


API_AUTH = [ApiKeyHeader(), BearerKey(), Session()]
