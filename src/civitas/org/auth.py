"""Who is calling: a signed-in person (session, CSRF-checked) or a machine with an API key.

``API_AUTH`` only says who calls. ``requiring(action)`` also demands one action of
``civitas.org.access`` before the operation runs (403 otherwise): routers of lower layers,
which may not import ``org`` (the city model, the matters catalogue), get their permission
check where the API is composed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage
from ninja.security import APIKeyHeader, HttpBearer, SessionAuth

from civitas.kit.clientaddr import client_address
from civitas.kit.errors import CivitasError, Forbidden
from civitas.org import access, services
from civitas.org.models import ApiKey


def _holding(actor: Any, action: str) -> Any:
    """The caller, once it is sure to hold ``action`` (no action: anyone who authenticated)."""
    if actor is None or not action or access.can(actor, action):
        return actor
    scopes = sorted(s for s, granted in access.API_KEY_SCOPES.items() if action in granted)
    if isinstance(actor, ApiKey):
        message = _("this API key may not %(action)s; give it the scope %(scopes)s") % {
            "action": action.replace(".", " "),
            "scopes": " or ".join(scopes) or "-",
        }
    else:
        message = _("you may not %(action)s") % {"action": action.replace(".", " ")}
    raise Forbidden(message, details={"action": action, "scopes": scopes})


def _key_failures(request: HttpRequest, *, add: bool) -> bool:
    """With ``add``, count a wrong API key from the caller's address; without, tell whether
    the address has used up CIVITAS_API_KEY_FAILURE_RATE (its key attempts are then refused
    until the window passes)."""
    address = client_address(request) or "unknown"
    usage = get_usage(
        request,
        group="api-key-failures",
        key=lambda g, r: address,
        rate=settings.CIVITAS_API_KEY_FAILURE_RATE,
        increment=add,
    )
    return bool(usage and usage["count"] >= usage["limit"])


def _key_actor(request: HttpRequest, key: str) -> Any:
    if _key_failures(request, add=False):
        raise CivitasError(
            _("too many wrong API keys from this address; wait a minute and check the key"),
            code="too_many_wrong_keys",
            status=429,
        )
    try:
        return services.authenticate_api_key(key)
    except CivitasError:
        _key_failures(request, add=True)
        return None


class ApiKeyHeader(APIKeyHeader):
    param_name = "X-Api-Key"
    action = ""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        return _holding(_key_actor(request, key), self.action)


class BearerKey(HttpBearer):
    action = ""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return _holding(_key_actor(request, token), self.action)


class Session(SessionAuth):
    """Signed-in people; ninja's SessionAuth enforces CSRF on unsafe methods."""

    action = ""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return _holding(super().authenticate(request, key), self.action)


API_AUTH = [ApiKeyHeader(), BearerKey(), Session()]


def requiring(action: str) -> list[Any]:
    """``API_AUTH`` that lets a caller in only when it may ``action`` (403 otherwise). The
    schemes keep their names, so the OpenAPI document is unchanged."""
    key, bearer, session = ApiKeyHeader(), BearerKey(), Session()
    key.action = bearer.action = session.action = action
    return [key, bearer, session]


REFERENCE_AUTH = requiring("reference.read")
