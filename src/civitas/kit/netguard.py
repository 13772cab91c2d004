"""Outbound requests only to public addresses (no server-side request forgery).

Whatever URL the server fetches — another system's Open311 endpoint, an SMS gateway — could
be pointed at the machine itself or the city's internal network (loopback, private ranges,
link-local and the cloud metadata address 169.254.169.254, their IPv6 forms). Three guards:

- ``check_url(url)``: the URL is http(s), names a host, and every address the host resolves
  to is public (or the host is listed in ``CIVITAS_FETCH_ALLOW``); raises ``BlockedURL``.
- ``transport()``: an httpx transport whose connections resolve the host themselves, check
  each address at connect time and connect to the checked address (no second DNS answer can
  slip in between check and connect: DNS rebinding); every redirect target is checked the
  same way, since each hop opens its own connection.
- ``client_url(url)``: a URL a client gives us to store (Open311 ``media_url``): http(s),
  no user name or password in it, bounded length. It is never fetched by the server.

``CIVITAS_FETCH_ALLOW`` lists the city's own systems that may be internal: host names (exact,
case-insensitive), addresses, or networks (``10.20.0.0/16``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from civitas.kit.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_CLIENT_URL = 1000


class BlockedURL(InvalidInput):
    code = "blocked_url"


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    raw = getattr(settings, "CIVITAS_FETCH_ALLOW", ()) or ()
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    for entry in raw:
        entry = str(entry).strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _unwrap(ip: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv6 one (::ffff:a.b.c.d, 6to4, Teredo), else the address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
        # NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public(ip: IPAddress) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local
    (metadata), shared, reserved, multicast and unspecified ones, in either IP version."""
    inner = _unwrap(ip)
    for candidate in {ip, inner}:
        if (
            not candidate.is_global
            or candidate.is_multicast
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_private
            or candidate.is_reserved
            or candidate.is_unspecified
        ):
            return False
    return True


def address_allowed(ip: IPAddress, host: str = "") -> bool:
    names, networks = _allow_list()
    if host and host.lower().rstrip(".") in names:
        return True
    if any(ip in net or _unwrap(ip) in net for net in networks):
        return True
    return is_public(ip)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedURL(
            _("the host %(host)s cannot be resolved (%(error)s)") % {"host": host, "error": exc}
        ) from None
    seen: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in seen:
            seen.append(ip)
    return seen


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host``, all of them allowed; BlockedURL if any is internal (a name
    that resolves to both a public and an internal address is refused whole)."""
    addresses = resolve(host, port)
    names, _networks = _allow_list()
    if host.lower().rstrip(".") in names:
        return addresses
    bad = [ip for ip in addresses if not address_allowed(ip, host)]
    if bad or not addresses:
        raise BlockedURL(
            _(
                "requests to %(host)s are refused: it resolves to an internal address "
                "(%(address)s). If this is the city's own system, add it to CIVITAS_FETCH_ALLOW."
            )
            % {"host": host, "address": ", ".join(str(ip) for ip in bad) or "-"}
        )
    return addresses


def _split(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedURL(_("only http and https URLs are fetched (got %(url)s)") % {"url": url})
    try:
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise BlockedURL(_("the URL %(url)s has no valid port") % {"url": url}) from None
    if not host:
        raise BlockedURL(_("the URL %(url)s names no host") % {"url": url})
    return scheme, host, port


def check_url(url: str) -> str:
    """``url`` if the server may fetch it; BlockedURL saying why not."""
    _scheme, host, port = _split(url)
    checked_addresses(host, port)
    return url


def client_url(url: str, *, field: str = "url", max_length: int = MAX_CLIENT_URL) -> str:
    """A URL a client gives us to store and show: http(s), a host, no credentials, bounded."""
    if len(url) > max_length:
        raise InvalidInput(
            _("%(field)s is at most %(n)d characters") % {"field": field, "n": max_length},
            details={"field": field},
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidInput(
            _("%(field)s may not contain spaces or control characters") % {"field": field},
            details={"field": field},
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            _("%(field)s is not an http(s) URL with a host") % {"field": field},
            details={"field": field},
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput(
            _("%(field)s may not contain a user name or password") % {"field": field},
            details={"field": field},
        )
    return url


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, resolving and checking the host before connecting."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port)
        except BlockedURL as exc:
            raise httpcore.ConnectError(exc.message) from None
        last: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(
                    str(ip), port, timeout, local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")


def transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An httpx transport that connects only to allowed addresses (see the module text)."""
    made = httpx.HTTPTransport(**kwargs)
    made._pool._network_backend = GuardedBackend()  # httpx offers no public hook for it
    return made


def guard_request(request: httpx.Request) -> None:
    """An httpx request event hook: refuses a non-http(s) URL before anything is sent."""
    _split(str(request.url))


def client(**kwargs: Any) -> httpx.Client:
    """An httpx client with the guarded transport, no proxies from the environment, and no
    automatic redirects unless asked (each followed hop is checked at connect time)."""
    kwargs.setdefault("transport", transport())
    kwargs.setdefault("trust_env", False)
    kwargs.setdefault("follow_redirects", False)
    hooks = kwargs.pop("event_hooks", {}) or {}
    hooks.setdefault("request", []).insert(0, guard_request)
    return httpx.Client(event_hooks=hooks, **kwargs)
