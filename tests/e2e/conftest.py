"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures in
# the same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


class Problems:
    """Console errors, uncaught exceptions and CSP violations seen by a page."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Any) -> None:
        page.on(
            "console",
            lambda msg: (
                self.items.append(f"console {msg.type}: {msg.text}")
                if msg.type in ("error", "warning") and "DevTools" not in msg.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: self.items.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda r: self.items.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )
        # Init scripts run outside the page's CSP; they only listen.
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', function (e) {"
            "  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);"
            "});"
        )


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    problems = Problems()
    problems.watch(pg)
    pg.problems = problems
    yield pg
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where pages are photographed: a temporary folder, or CIVITAS_SCREENSHOTS when set
    (``CIVITAS_SCREENSHOTS=docs/screenshots make test`` refreshes the README's pictures)."""
    target = Path(os.environ.get("CIVITAS_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target
