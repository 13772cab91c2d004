from __future__ import annotations

from typing import Any

from ninja import Schema


class UnitOut(Schema):
    code: str
    city: str
    kind: str
    department_type: str
    name_en: str
    name_zh: str
    jurisdiction: str
    parent: str | None
    active: bool

    @staticmethod
    def resolve_jurisdiction(obj: Any) -> str:
        return str(obj.jurisdiction.code)

    @staticmethod
    def resolve_parent(obj: Any) -> str | None:
        return obj.parent.code if obj.parent_id else None


class MembershipOut(Schema):
    role: str
    unit: str | None

    @staticmethod
    def resolve_unit(obj: Any) -> str | None:
        return obj.unit.code if obj.unit_id else None


class PersonOut(Schema):
    username: str
    display_name: str
    memberships: list[MembershipOut]

    @staticmethod
    def resolve_memberships(obj: Any) -> list[Any]:
        return [m for m in obj.memberships.all() if m.active]


class MeOut(Schema):
    kind: str
    name: str
    roles: list[str]
    actions: list[str]
    scope_paths: list[str]
    everything: bool


class ResponsibilityOut(Schema):
    id: int
    city: str
    matter: str
    level: str
    jurisdiction: str | None
    unit_type: str
    unit: str | None
    city_coordinates: bool
    note: str
    version: int
    active: bool

    @staticmethod
    def resolve_matter(obj: Any) -> str:
        return str(obj.matter.code)

    @staticmethod
    def resolve_level(obj: Any) -> str:
        return str(obj.level.code)

    @staticmethod
    def resolve_jurisdiction(obj: Any) -> str | None:
        return obj.jurisdiction.code if obj.jurisdiction_id else None

    @staticmethod
    def resolve_unit(obj: Any) -> str | None:
        return obj.unit.code if obj.unit_id else None


class AuditVerifyOut(Schema):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str


class AuditEntryOut(Schema):
    seq: int
    at: Any
    actor: str
    action: str
    object_type: str
    object_id: str
    summary: dict[str, Any]
    reason: str
    entry_hash: str
