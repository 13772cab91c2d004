"""Request ids, the access log and request metrics; the ops endpoints before everything else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import empty
from django.utils.translation import gettext as _

from civitas.kit import logctx, replica
from civitas.web.ops import metrics, views

access_log = logging.getLogger("civitas.access")

# Probes and scrapes are counted but not written to the access log at INFO (they come every
# few seconds from every load balancer and Prometheus); DEBUG shows them.
QUIET = frozenset(views.ROUTES)


def route_of(request: HttpRequest) -> str:
    """A label with few values: the URL pattern that matched (``appeal/<str:ticket>/``),
    never the path itself, which holds ids and tickets."""
    ops = getattr(request, "ops_route", None)
    if ops:
        return str(ops)
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route or match.view_name or "unnamed"
    if request.path_info.startswith("/" + str(settings.STATIC_URL).lstrip("/")):
        return "static"
    return "unmatched"


def _who(request: HttpRequest) -> dict[str, Any]:
    """Ids only: the signed-in user if the request already looked them up, or the API key."""
    out: dict[str, Any] = {}
    auth = getattr(request, "auth", None)
    meta = getattr(auth, "_meta", None)
    if meta is not None and meta.label_lower == "org.apikey":
        out["api_key_id"] = auth.pk  # type: ignore[union-attr]
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)  # a lazy user not looked up costs nothing
    if wrapped is not None and wrapped is not empty and getattr(wrapped, "is_authenticated", False):
        out["user_id"] = wrapped.pk
    return out


class _QueryCounter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.n += 1
        return execute(sql, params, many, context)


@contextmanager
def _counting() -> Iterator[_QueryCounter]:
    counter = _QueryCounter()
    wrappers = []
    for alias in replica.aliases():
        wrapper = connections[alias].execute_wrapper(counter)
        wrapper.__enter__()
        wrappers.append(wrapper)
    try:
        yield counter
    finally:
        for wrapper in reversed(wrappers):
            wrapper.__exit__(None, None, None)


class RequestMiddleware:
    """First in MIDDLEWARE: an id for the request (a well-formed incoming X-Request-ID, else
    a new one) bound to the logs and returned as X-Request-ID; one access line and the
    request metrics when the answer is ready."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logctx.request_id_from(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        start = time.perf_counter()
        with logctx.bind(request_id=request_id), _counting() as queries:
            response = self.get_response(request)
            seconds = time.perf_counter() - start
            response["X-Request-ID"] = request_id
            route = route_of(request)
            try:
                status = response.status_code
                metrics.observe(request.method or "", route, status, seconds, queries.n)
            except Exception:  # metrics must never break a request
                access_log.exception("metrics: could not count the request")
            level = logging.DEBUG if route in QUIET else logging.INFO
            if access_log.isEnabledFor(level):
                fields = {
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                    "db_queries": queries.n,
                    **_who(request),
                }
                ids = "".join(f" {k}={fields[k]}" for k in ("user_id", "api_key_id") if k in fields)
                access_log.log(
                    level,
                    "%s %s %s %.1fms%s",
                    request.method,
                    route,
                    response.status_code,
                    seconds * 1000,
                    ids,
                    extra=fields,
                )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The database away (restarting, unreachable, locked, a statement cut short) is a
        503 with Retry-After that clients and load balancers retry, not a 500."""
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        access_log.warning(
            "database unavailable: %s",
            str(exception).splitlines()[0][:200] if str(exception) else type(exception).__name__,
        )
        message = _("The service is briefly unavailable; try again in a few seconds.")
        if request.path_info.startswith(("/api/", "/open311/")):
            response: HttpResponse = JsonResponse(
                {"error": {"code": "unavailable", "message": message}}, status=503
            )
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


class EndpointsMiddleware:
    """Answers /healthz, /readyz and /metrics (with or without a final slash, GET or HEAD)
    itself: no host check, session, CSRF, language or login throttling runs for them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.path_info.strip("/")
        view = views.ROUTES.get(name)
        if view is not None and request.method in ("GET", "HEAD"):
            request.ops_route = name  # type: ignore[attr-defined]
            return view(request)
        return self.get_response(request)
