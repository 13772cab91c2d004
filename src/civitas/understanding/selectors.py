"""What a person may see of the learned models: the versions of the cities in their scope."""

from __future__ import annotations

from typing import Any

from civitas.org import access
from civitas.understanding.models import ModelVersion


def versions(actor: Any) -> list[ModelVersion]:
    if not access.can(actor, "models.read"):
        return []
    scope = access.scope_of(actor)
    return [mv for mv in ModelVersion.objects.all() if scope.covers_path(f"/{mv.city}/")]


def may_manage(actor: Any, city: str) -> bool:
    return access.can(actor, "models.manage", path=f"/{city}/")
