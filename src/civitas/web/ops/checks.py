"""Readiness checks: may this process take traffic?

Each check answers ``{"ok": bool, "ms": float}`` plus a short ``error`` naming what failed
(never a password, URL or host: details go to the log, with the request id). The database
must be reachable and every migration this code knows must be applied; the cache and the
broker are checked when configured. The replica, when there is one, is checked and reported
but does not make the process unready: only the dashboards read from it, and taking every web
process out of the load balancer because of it would stop intake too.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

log = logging.getLogger(__name__)
TIMEOUT = 2.0

_leaves_lock = threading.Lock()
_leaves: frozenset[tuple[str, str]] | None = None


class Failed(Exception):
    """A check failed; the message is safe to show."""


def _database(alias: str) -> None:
    conn = connections[alias]
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:
        log.warning("readyz: database %r: %s: %s", alias, type(exc).__name__, exc)
        if not conn.in_atomic_block:
            conn.close()  # the next request opens a new connection
        raise Failed(f"unreachable ({type(exc).__name__})") from None


def database() -> None:
    _database(DEFAULT_DB_ALIAS)


def replica() -> None:
    _database("replica")


def leaf_migrations() -> frozenset[tuple[str, str]]:
    """The last migration of each app as this code has them (read from disk once)."""
    global _leaves
    if _leaves is None:
        with _leaves_lock:
            if _leaves is None:
                loader = MigrationLoader(None, ignore_no_migrations=True)
                _leaves = frozenset(loader.graph.leaf_nodes())
    return _leaves


def migrations() -> None:
    conn = connections[DEFAULT_DB_ALIAS]
    try:
        applied = set(MigrationRecorder(conn).applied_migrations())
    except Exception as exc:
        log.warning("readyz: reading migrations: %s: %s", type(exc).__name__, exc)
        raise Failed(f"cannot read the applied migrations ({type(exc).__name__})") from None
    missing = sorted(leaf_migrations() - applied)
    if missing:
        # A squashed migration counts as applied when everything it replaces is: ask the
        # loader, which knows (this is the slow path, taken only when something looks missing).
        loader = MigrationLoader(conn, ignore_no_migrations=True)
        missing = sorted(key for key in missing if key not in loader.applied_migrations)
    if missing:
        names = ", ".join(f"{app}.{name}" for app, name in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise Failed(f"not applied: {names}{more}; run `civitas migrate`")


def _redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def _tcp(url: str, default_port: int) -> None:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    with socket.create_connection(address, TIMEOUT):
        pass


def _reach(url: str, what: str) -> None:
    scheme = urlsplit(url).scheme
    try:
        if scheme in {"redis", "rediss", "unix"}:
            _redis(url)
        elif scheme in {"amqp", "amqps"}:
            _tcp(url, 5671 if scheme == "amqps" else 5672)
        elif scheme in {"nats", "tls"}:
            _tcp(url, 4222)
        else:
            raise Failed(f"unsupported scheme {scheme!r}")
    except Failed:
        raise
    except Exception as exc:
        log.warning("readyz: %s: %s: %s", what, type(exc).__name__, exc)
        raise Failed(f"unreachable ({type(exc).__name__})") from None


def cache() -> None:
    _reach(settings.CIVITAS_CACHE_URL, "cache")


def broker() -> None:
    _reach(settings.CIVITAS_BROKER_URL, "broker")


def configured() -> dict[str, Callable[[], None]]:
    """The checks that apply to this installation, in order."""
    checks: dict[str, Callable[[], None]] = {"database": database, "migrations": migrations}
    if "replica" in connections.settings:
        checks["replica"] = replica
    if getattr(settings, "CIVITAS_CACHE_URL", ""):
        checks["cache"] = cache
    if getattr(settings, "CIVITAS_BROKER_URL", ""):
        checks["broker"] = broker
    return checks


OPTIONAL = frozenset({"replica"})


def run() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Run every configured check; the migrations check is skipped when the database failed.
    Ready when every check but the optional ones (the replica) passed."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in configured().items():
        if name == "migrations" and not results["database"]["ok"]:
            results[name] = {"ok": False, "error": "skipped: the database is unreachable"}
            continue
        start = time.perf_counter()
        try:
            check()
            results[name] = {"ok": True}
        except Failed as exc:
            results[name] = {"ok": False, "error": str(exc)}
        results[name]["ms"] = round((time.perf_counter() - start) * 1000, 1)
        if name in OPTIONAL:
            results[name]["required"] = False
    return all(r["ok"] for n, r in results.items() if n not in OPTIONAL), results
