"""Background work of the hub: loading large uploads, marking expired grants."""

from __future__ import annotations

from typing import Any


def expire_grants() -> dict[str, Any]:
    from civitas.hub import grants

    return {"expired": grants.expire_due()}
