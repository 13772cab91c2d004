from __future__ import annotations

from typing import Any

from ninja import Schema


class MatterOut(Schema):
    code: str
    catalogue: str
    parent: str | None
    depth: int
    name_en: str
    name_zh: str
    keywords: list[str]
    urgency_default: str
    deadlines: dict[str, dict[str, str]]
    responsible: dict[str, str]
    is_leaf: bool

    @staticmethod
    def resolve_parent(obj: Any) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_is_leaf(obj: Any) -> bool:
        leaf = getattr(obj, "leaf", None)
        return bool(leaf) if leaf is not None else bool(obj.is_leaf)
