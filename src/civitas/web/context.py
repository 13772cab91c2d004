"""Template context for every page: the signed-in person's scope and what they may do."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from civitas.org import access


class Can:
    """``can("units.read")`` in Python; ``{% if can.units_read %}`` in templates.

    Templates cannot pass arguments, so a lookup key with underscores names the action with
    dots. The answer always comes from ``org.access.can`` — the one door.
    """

    do_not_call_in_templates = True

    def __init__(self, actor: Any) -> None:
        self._actor = actor

    def __call__(self, action: str) -> bool:
        return self._actor is not None and access.can(self._actor, action)

    def __getitem__(self, key: str) -> bool:
        return self(key.replace("_", "."))


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    scope = access.scope_of(actor) if actor is not None else None
    return {"scope": scope, "can": Can(actor)}
