"""Signing in and out through the login page, as the browser tests' people do."""

from __future__ import annotations

import re
from typing import Any

# The password of every account made by tests.factories.
PASSWORD = "correct horse battery staple"


def sign_in(page: Any, base: str, username: str, then: str) -> None:
    """Sign in on the login page and wait to land on ``then``."""
    page.goto(f"{base}/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(then) + "$"))


def sign_out(page: Any) -> None:
    """Sign out with the header's button."""
    page.click("header .who button[type=submit]")
    page.wait_for_load_state()
