"""The client's address behind a local proxy, and the login throttle that judges it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory

from civitas.kit.clientaddr import client_address
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "10.0.0.1", "203.0.113.9"),  # a remote peer cannot speak for others
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # the local proxy's word
        ("127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),  # the forged part is ignored
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("127.0.0.1", "198.51.100.7,", ""),  # malformed: nobody
        ("127.0.0.1", "", "127.0.0.1"),
    ],
)
def test_the_address_judged(peer: str, forwarded: str, expected: str) -> None:
    meta: dict[str, Any] = {"REMOTE_ADDR": peer}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == expected


@pytest.mark.django_db
def test_a_forged_forwarded_header_does_not_escape_the_login_throttle(settings: Any) -> None:
    """Behind nginx, one client guessing passwords while inventing a new X-Forwarded-For
    prefix each time is still one address to the throttle."""
    UserFactory(username="victim")
    client = Client(REMOTE_ADDR="127.0.0.1")
    answers = [
        client.post(
            "/login/",
            {"username": "victim", "password": f"guess{i}"},
            HTTP_X_FORWARDED_FOR=f"10.0.{i}.1, 198.51.100.7",
        ).status_code
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers[-1] == 429
    # Someone else behind the same proxy is not locked out of the account.
    other = client.post(
        "/login/",
        {"username": "victim", "password": "correct horse battery staple"},
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other.status_code == 302
