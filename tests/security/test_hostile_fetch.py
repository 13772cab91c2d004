"""Server-side request forgery: the server fetches only from public addresses.

The fetch sites are the Open311 client (another system's endpoint) and the HTTP SMS gateway;
both go through civitas.kit.netguard. Open311 ``media_url`` is stored and shown, never fetched:
it must be a plain http(s) URL. The test suite's own stand-in servers listen on loopback, which
pyproject's pytest env allows (CIVITAS_FETCH_ALLOW); these tests empty the allow list.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from django.test import override_settings

from civitas.kit import netguard, outbox
from civitas.open311 import client as o311_client
from civitas.open311.models import ExternalSystem

INTERNAL = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space
    "0.0.0.0",  # noqa: S104
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "224.0.0.1",
    "ff02::1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"]


@pytest.fixture
def no_allow() -> Iterator[None]:
    with override_settings(CIVITAS_FETCH_ALLOW=[]):
        yield


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def lookup(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in table[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


class TestAddresses:
    @pytest.mark.parametrize("text", INTERNAL)
    def test_internal_addresses_are_not_public(self, text: str) -> None:
        assert not netguard.is_public(ipaddress.ip_address(text))

    @pytest.mark.parametrize("text", PUBLIC)
    def test_public_addresses_are(self, text: str) -> None:
        assert netguard.is_public(ipaddress.ip_address(text))

    @pytest.mark.parametrize("text", INTERNAL)
    def test_a_url_naming_an_internal_address_is_refused(self, text: str, no_allow: None) -> None:
        host = f"[{text}]" if ":" in text else text
        with pytest.raises(netguard.BlockedURL, match="internal address"):
            netguard.check_url(f"http://{host}:8080/x")

    @pytest.mark.parametrize(
        "url", ["file:///etc/passwd", "gopher://x/", "ftp://example.org/", "http:///nohost"]
    )
    def test_other_schemes_and_hostless_urls_are_refused(self, url: str) -> None:
        with pytest.raises(netguard.BlockedURL):
            netguard.check_url(url)

    def test_a_name_resolving_to_an_internal_address_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, no_allow: None
    ) -> None:
        fake_dns(monkeypatch, {"metadata.example.org": ["169.254.169.254"]})
        with pytest.raises(netguard.BlockedURL, match=r"169\.254\.169\.254"):
            netguard.check_url("http://metadata.example.org/latest/meta-data/")

    def test_a_name_with_one_internal_address_among_public_ones_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, no_allow: None
    ) -> None:
        fake_dns(monkeypatch, {"mixed.example.org": ["93.184.216.34", "10.0.0.5"]})
        with pytest.raises(netguard.BlockedURL, match=r"10\.0\.0\.5"):
            netguard.check_url("https://mixed.example.org/")

    def test_a_public_name_passes(self, monkeypatch: pytest.MonkeyPatch, no_allow: None) -> None:
        fake_dns(monkeypatch, {"open311.example.org": ["93.184.216.34"]})
        assert netguard.check_url("https://open311.example.org/v2") == (
            "https://open311.example.org/v2"
        )

    def test_the_allow_list_admits_the_citys_own_systems(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fake_dns(monkeypatch, {"gateway.city.internal": ["10.20.1.5"]})
        with override_settings(CIVITAS_FETCH_ALLOW=["gateway.city.internal", "10.30.0.0/16"]):
            netguard.check_url("http://gateway.city.internal/send")
            netguard.check_url("http://10.30.4.4/send")
            with pytest.raises(netguard.BlockedURL):
                netguard.check_url("http://10.31.0.1/send")
        with override_settings(CIVITAS_FETCH_ALLOW="10.20.0.0/16, other"):
            netguard.check_url("http://gateway.city.internal/send")


class Plain(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []
    redirect_to = ""

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if type(self).redirect_to and self.path == "/start":
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"inside")

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def inside() -> Iterator[int]:
    """An 'internal' service on loopback: what an attacker would like the server to call."""
    Plain.hits, Plain.redirect_to = [], ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


class TestTransport:
    def test_refuses_to_connect_to_an_internal_address(self, inside: int, no_allow: None) -> None:
        with netguard.client() as http, pytest.raises(httpx.ConnectError, match="internal"):
            http.get(f"http://127.0.0.1:{inside}/secret")
        assert Plain.hits == []

    def test_connects_when_the_host_is_allowed(self, inside: int) -> None:
        with override_settings(CIVITAS_FETCH_ALLOW=["127.0.0.1"]), netguard.client() as http:
            assert http.get(f"http://127.0.0.1:{inside}/ok").text == "inside"

    def test_a_redirect_to_an_internal_address_is_refused_at_connect_time(
        self, inside: int
    ) -> None:
        # "localhost" is allowed by name; it redirects to 127.0.0.1, which is not.
        Plain.redirect_to = f"http://127.0.0.1:{inside}/secret"
        with (
            override_settings(CIVITAS_FETCH_ALLOW=["localhost"]),
            netguard.client(follow_redirects=True) as http,
            pytest.raises(httpx.ConnectError, match="internal"),
        ):
            http.get(f"http://localhost:{inside}/start")
        assert Plain.hits == ["/start"]

    def test_dns_answers_are_checked_when_connecting(
        self, inside: int, monkeypatch: pytest.MonkeyPatch, no_allow: None
    ) -> None:
        # A name that looked public when configured and now answers with loopback (rebinding).
        fake_dns(monkeypatch, {"rebind.example.org": ["127.0.0.1"]})
        with netguard.client() as http, pytest.raises(httpx.ConnectError, match="internal"):
            http.get(f"http://rebind.example.org:{inside}/")
        assert Plain.hits == []


class TestFetchSites:
    def test_the_open311_client_does_not_call_an_internal_endpoint(
        self, inside: int, no_allow: None
    ) -> None:
        system = ExternalSystem(
            name="Water Co", endpoint=f"http://127.0.0.1:{inside}/open311/v2", timeout_seconds=5
        )
        with pytest.raises(o311_client.HandoffError, match="internal address"):
            o311_client.get_token(system, "tok-1")
        assert Plain.hits == []

    def test_the_sms_gateway_is_not_called_at_an_internal_address(
        self, inside: int, no_allow: None
    ) -> None:
        with (
            override_settings(CIVITAS_SMS_URL=f"http://169.254.169.254:{inside}/send"),
            pytest.raises(RuntimeError, match="internal address"),
        ):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")
        with (
            override_settings(CIVITAS_SMS_URL=f"http://127.0.0.1:{inside}/send"),
            pytest.raises(RuntimeError, match="internal address"),
        ):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")
        assert Plain.hits == []

    def test_an_allowed_internal_sms_gateway_is_called(self, inside: int) -> None:
        with override_settings(
            CIVITAS_SMS_URL=f"http://127.0.0.1:{inside}/send", CIVITAS_FETCH_ALLOW=["127.0.0.1"]
        ):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")
        assert Plain.hits == ["/send"]


class TestClientUrls:
    @pytest.mark.parametrize(
        "url",
        [
            "https://photos.example.org/lift.jpg",
            "http://photos.example.org:8080/a/b?c=d#e",
            "https://[2001:db8::1]/x.png",
        ],
    )
    def test_plain_http_urls_are_kept(self, url: str) -> None:
        assert netguard.client_url(url) == url

    @pytest.mark.parametrize(
        ("url", "why"),
        [
            ("javascript:alert(1)", "http"),
            ("data:text/html,<script>alert(1)</script>", "http"),
            ("file:///etc/passwd", "http"),
            ("https://user:secret@photos.example.org/x.jpg", "user name or password"),
            ("https://photos.example.org@169.254.169.254/", "user name or password"),
            ("https://photos.example.org/a b.jpg", "spaces"),
            ("https://photos.example.org/\x00.jpg", "control"),
            ("https://photos.example.org/" + "a" * 1000, "at most"),
        ],
    )
    def test_others_are_refused(self, url: str, why: str) -> None:
        with pytest.raises(netguard.InvalidInput, match=why):
            netguard.client_url(url, field="media_url")
