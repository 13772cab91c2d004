from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from civitas.org import access


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    scope = access.scope_of(user) if user is not None and user.is_authenticated else None
    return {"scope": scope, "can": (lambda action: bool(scope and action in scope.actions))}
