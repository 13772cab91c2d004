"""Rate limits shared by several processes: the counters live in Redis when
CIVITAS_CACHE_URL names one (CI runs Redis on 127.0.0.1:6379)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.open311.conftest import INSIDE, LIFT

REDIS = os.environ.get("CIVITAS_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_cache(settings: Any) -> Any:
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS}")
    prefix = f"civitas-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS,
            "KEY_PREFIX": prefix,
        }
    }
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_the_post_limit_is_counted_in_redis(
    o311: Any, api: Any, api_key: str, settings: Any, redis_cache: Any
) -> None:
    client, prefix = redis_cache
    settings.CIVITAS_OPEN311_POST_RATE = "2/m"
    body = {"api_key": api_key, "service_code": LIFT, "description": "Lift stuck again", **INSIDE}
    assert api.post("requests", "json", kind="created", **body).status == 201
    assert api.post("requests", "json", kind="created", **body).status == 201
    # The counter is in Redis, where every web process of the installation sees it.
    assert any(True for _ in client.scan_iter(f"{prefix}*"))
    refused = api.post("requests", "xml", **body)
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many" in refused.error_text()
