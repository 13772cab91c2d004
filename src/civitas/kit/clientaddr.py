"""The address of the client a request came from, as far as it can be trusted.

Directly connected, the client is the peer (``REMOTE_ADDR``). Behind a reverse proxy on the
same machine (nginx in front of gunicorn, see docs/OPERATIONS.md), the peer is loopback and
the client is the address the proxy appended last to ``X-Forwarded-For``: everything before
it was sent by the client and may be forged. A peer that is not loopback cannot speak for
anyone else, so its ``X-Forwarded-For`` is ignored. Login throttling, rate limits and the
metrics endpoint all judge this address.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "") or ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and is_loopback(peer):
        return forwarded.split(",")[-1].strip()  # empty when malformed: judged as nobody
    return peer


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
