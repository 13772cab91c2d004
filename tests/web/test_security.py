"""Secure headers, CSP, CSRF on pages, login throttling and Argon2 hashing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.mark.django_db
class TestSecurity:
    def test_headers_on_every_page(self) -> None:
        response = Client().get("/login/")
        assert response.status_code == 200
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"

    def test_login_form_needs_csrf(self) -> None:
        UserFactory(username="u")
        client = Client(enforce_csrf_checks=True)
        response = client.post(
            "/login/", {"username": "u", "password": "correct horse battery staple"}
        )
        assert response.status_code == 403

    @pytest.mark.real_passwords
    def test_passwords_are_hashed_with_argon2(self) -> None:
        user = UserFactory(username="u")
        assert user.password.startswith("argon2")

    def test_repeated_failures_lock_the_account_for_that_address(self, settings: Any) -> None:
        UserFactory(username="victim")
        client = Client(REMOTE_ADDR="10.9.8.7")
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            r = client.post("/login/", {"username": "victim", "password": "wrong"})
            assert r.status_code == 200  # the form again, with an error
        last = client.post("/login/", {"username": "victim", "password": "wrong"})
        assert last.status_code == 429
        locked = client.post(
            "/login/", {"username": "victim", "password": "correct horse battery staple"}
        )
        assert locked.status_code == 429
        assert "15 minutes" in locked.content.decode()
        # The right password from another address still works.
        other = Client(REMOTE_ADDR="10.9.8.8")
        ok = other.post(
            "/login/", {"username": "victim", "password": "correct horse battery staple"}
        )
        assert ok.status_code == 302
