"""The shared cache against a real Redis that stops: requests go on, rate limits fail open."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from civitas.kit import cache as tolerant

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def redis_cache() -> Iterator[tuple[Any, int]]:
    port = _free_port()
    proc = _start(port)
    config = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "civitas.kit.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    with override_settings(CACHES=config):
        try:
            yield proc, port
        finally:
            proc.kill()
            proc.wait()


def test_operations_degrade_to_misses_and_recover(
    redis_cache: tuple[Any, int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    proc, port = redis_cache
    monkeypatch.setattr(tolerant, "PAUSE_SECONDS", 1.0)
    cache = caches["shared"]
    cache.set("k", 41)
    assert cache.incr("k") == 42
    assert cache.get_many(["k"]) == {"k": 42}

    proc.kill()
    proc.wait()
    started = time.monotonic()
    assert cache.get("k", "missing") == "missing"
    assert cache.add("n", 1) is False
    assert cache.set("k", 1) is None
    with pytest.raises(ValueError):
        cache.incr("k")
    assert cache.get_many(["k"]) == {}
    assert cache.has_key("k") is False
    assert time.monotonic() - started < 1  # one failed connection, then the pause
    assert [r.message for r in caplog.records].count(
        "cache unavailable, serving without it: ConnectionError"
    ) == 1

    # Redis is back and the pause is over: the cache works again (it kept nothing).
    _start(port)
    for _ in range(30):
        cache.set("k", 7)
        if cache.get("k") == 7:
            break
        time.sleep(0.1)
    assert cache.get("k") == 7
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], check=False)


def test_open311_rate_limits_fail_open_without_redis(redis_cache: tuple[Any, int]) -> None:
    from django.test import RequestFactory

    from civitas.open311.views import _limit

    proc, _port = redis_cache
    request = RequestFactory().post("/open311/v2/requests.json")
    with override_settings(RATELIMIT_USE_CACHE="shared"):
        waits = [_limit(request, "t", "key-1", "2/m") for _ in range(3)]
        assert waits[:2] == [None, None] and (waits[2] or 0) > 0
        proc.kill()
        proc.wait()
        assert _limit(request, "t", "key-1", "2/m") is None
