"""/healthz, /readyz and /metrics.

Answered without login, sessions, CSRF or throttling, and without the host check (load
balancers probe by address): see ``middleware.EndpointsMiddleware``. The same views are also
in the URLconf so they resolve by name.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from civitas.kit.clientaddr import client_address
from civitas.web.ops import checks, metrics

log = logging.getLogger(__name__)
_ready_lock = threading.Lock()
_ready_cache: tuple[float, bool, dict[str, Any]] | None = None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # A 503 from /readyz or a 403 from /metrics is an answer, not an error: Django would log
    # one ERROR line per probe. Readiness changes are logged once below instead.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and answering (touches nothing else)."""
    return _no_store(JsonResponse({"status": "ok", "pid": os.getpid()}))


def readyz(request: HttpRequest) -> HttpResponse:
    """The process can serve: database reachable, migrations applied, cache and broker
    reachable when configured. 200 or 503, naming each check."""
    global _ready_cache
    ttl = float(getattr(settings, "CIVITAS_READYZ_CACHE_SECONDS", 0) or 0)
    now = time.monotonic()
    cached = _ready_cache
    if ttl > 0 and cached is not None and now - cached[0] < ttl:
        ok, results = cached[1], cached[2]
    else:
        with _ready_lock:
            ok, results = checks.run()
            was = _ready_cache[1] if _ready_cache is not None else True
            _ready_cache = (time.monotonic(), ok, results)
        if ok != was:
            failed = {k: v.get("error", "") for k, v in results.items() if not v["ok"]}
            if ok:
                log.warning("readyz: ready again")
            else:
                log.warning("readyz: not ready: %s", failed)
    body = {"status": "ok" if ok else "fail", "checks": results}
    return _no_store(JsonResponse(body, status=200 if ok else 503))


def metrics_allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "CIVITAS_METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given[7:].strip().encode(), token.encode())
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_loopback:
        return True
    return any(ip in net for net in getattr(settings, "CIVITAS_METRICS_ALLOW", ()))


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; for loopback, CIVITAS_METRICS_ALLOW or the bearer token."""
    if not metrics_allowed(request):
        return _no_store(
            HttpResponse(
                "Metrics are not available to this client.\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        )
    body, content_type = metrics.exposition()
    return _no_store(HttpResponse(body, content_type=content_type))


ROUTES = {"healthz": healthz, "readyz": readyz, "metrics": metrics_view}
