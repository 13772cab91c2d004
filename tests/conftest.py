from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import factories


@pytest.fixture
def city(db: Any) -> dict[str, Any]:
    """A small nested test city (see tests.factories.small_city)."""
    from civitas.geo.locate import index

    made = factories.small_city()
    index.invalidate()
    return made


@pytest.fixture
def shared_data() -> Path:
    """The real data folder; tests needing it skip cleanly where it is absent."""
    from django.conf import settings

    path = settings.CIVITAS_DATA
    if path is None or not Path(path).is_dir():
        pytest.skip("real data folder not found (set CIVITAS_DATA or place ../shared/data)")
    return Path(path)


@pytest.fixture(autouse=True)
def _fast_passwords(request: pytest.FixtureRequest, settings: Any) -> None:
    """Accounts made by tests hash their passwords with a cheap hasher: Argon2 costs up to a
    second per account on a busy machine. Tests of hashing itself are marked
    ``real_passwords`` and keep the project's hashers."""
    if request.node.get_closest_marker("real_passwords") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Rate-limit counters and cached snapshots live in the process's cache: each test starts
    without another test's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Any:
    from civitas.geo.locate import index

    index.invalidate()
    yield
    index.invalidate()


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Per-process caches keyed by city or row id would carry over from another test's
    database: each test starts without them."""
    from civitas.understanding import duplicates, store

    duplicates.forget()
    store.forget()


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """A request in Chinese leaves its language active in the thread (Django activates it per
    request and never resets it): every test starts in the default language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
