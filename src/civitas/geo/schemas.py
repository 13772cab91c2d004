from __future__ import annotations

from typing import Any

from ninja import Schema


class LevelOut(Schema):
    code: str
    rank: int
    name_en: str
    name_zh: str
    overlay: bool


class JurisdictionOut(Schema):
    code: str
    level: str
    parent: str | None
    path: str
    name_en: str
    name_zh: str
    aliases: list[str]
    centroid_lat: float | None
    centroid_lon: float | None
    has_boundary: bool

    @staticmethod
    def resolve_level(obj: Any) -> str:
        return str(obj.level.code)

    @staticmethod
    def resolve_parent(obj: Any) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_has_boundary(obj: Any) -> bool:
        return obj.boundary is not None


class JurisdictionDetail(JurisdictionOut):
    boundary: dict[str, Any] | None


class PlaceOut(Schema):
    code: str
    name_en: str
    name_zh: str
    level: str


class LocateOut(Schema):
    found: bool
    jurisdiction: PlaceOut | None = None
    ancestors: list[PlaceOut] = []
    overlays: list[PlaceOut] = []


class MentionOut(Schema):
    code: str
    name_en: str
    name_zh: str
    level: str
    matched: str
    start: int
    confidence: float


class GazetteerOut(Schema):
    best: MentionOut | None
    mentions: list[MentionOut]
