"""A Redis cache that degrades to a miss when Redis is away.

The shared cache holds only what can be rebuilt or lost: rate-limit counters, report and
command-centre snapshots, upload progress. When Redis restarts or the network drops, a request
must still be answered, so every operation that fails on a Redis error behaves like a miss
(``get`` → default, ``add``/``set`` → not stored, ``incr`` → no such key) and the error is
logged once; for the next few seconds the cache does not even try, so a dead Redis costs a
request nothing. Rate limits therefore fail open while Redis is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PAUSE_SECONDS = 5.0


class _Breaker:
    """Skip Redis for PAUSE_SECONDS after a failure; log the first failure and the return."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0
        self._down = False

    def open(self) -> bool:
        return time.monotonic() < self._until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self._until = time.monotonic() + PAUSE_SECONDS
            if not self._down:
                self._down = True
                log.warning("cache unavailable, serving without it: %s", type(exc).__name__)

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    log.warning("cache available again")


class _TolerantClient(RedisCacheClient):
    breaker: _Breaker

    def _try(self, call: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
        if self.breaker.open():
            return fallback()
        try:
            result = call()
        except RedisError as exc:
            self.breaker.failed(exc)
            return fallback()
        self.breaker.succeeded()
        return result

    def add(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).add(key, value, timeout), _false)

    def get(self, key: Any, default: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).get(key, default), lambda: default)

    def set(self, key: Any, value: Any, timeout: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).set(key, value, timeout), _none)

    def touch(self, key: Any, timeout: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).touch(key, timeout), _false)

    def delete(self, key: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).delete(key), _false)

    def get_many(self, keys: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).get_many(keys), dict)

    def has_key(self, key: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).has_key(key), _false)

    def incr(self, key: Any, delta: Any) -> Any:
        def missing() -> Any:
            raise ValueError(f"Key {key!r} not found")  # what a missing key raises

        return self._try(lambda: super(_TolerantClient, self).incr(key, delta), missing)

    def set_many(self, data: Any, timeout: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).set_many(data, timeout), _none)

    def delete_many(self, keys: Any) -> Any:
        return self._try(lambda: super(_TolerantClient, self).delete_many(keys), _none)


def _false() -> bool:
    return False


def _none() -> None:
    return None


class TolerantRedisCache(RedisCache):
    """Django's Redis cache whose operations degrade to a miss while Redis is unreachable."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        breaker = _Breaker()
        self._class = type("TolerantClient", (_TolerantClient,), {"breaker": breaker})
