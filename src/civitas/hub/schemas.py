"""Shapes of the hub's JSON API (the catalogue's; the other hub routers may keep theirs beside
their handlers). Values are the stable lowercase codes; labels are for pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class FieldOut(Schema):
    name: str
    label_en: str
    label_zh: str
    type: str
    sensitivity: str
    key_role: str
    required: bool
    max_length: int | None


class FieldIn(Schema):
    name: str
    label_en: str
    label_zh: str
    type: str
    sensitivity: str = "internal"
    key_role: str = ""
    required: bool = False
    max_length: int | None = None


class SchemaVersionOut(Schema):
    number: int
    note: str
    created_by: str
    created_at: datetime
    fields: list[FieldOut]


class SchemaIn(Schema):
    # The dataset's version as the client last saw it: a clash is refused (409 stale).
    version: int
    note: str = ""
    fields: list[FieldIn]


class DatasetOut(Schema):
    code: str
    city: str
    owner_unit: str
    area: str
    title_en: str
    title_zh: str
    description_en: str
    description_zh: str
    keywords: list[str]
    domain: str
    frequency: str
    sharing: str
    profile_role: str
    profile_field: str
    feeds_risk: bool
    record_count: int
    last_loaded_at: datetime | None
    active: bool
    schema_version: int | None
    version: int
    updated_at: datetime


class DatasetDetailOut(DatasetOut):
    fields: list[FieldOut]


class DatasetIn(Schema):
    owner_unit: str  # unit code
    code: str
    title_en: str
    title_zh: str
    description_en: str = ""
    description_zh: str = ""
    keywords: list[str] = []
    domain: str
    frequency: str
    sharing: str
    area: str = ""  # jurisdiction code; the owner's area when empty
    profile_role: str = ""
    profile_field: str = ""
    feeds_risk: bool = False


class DatasetPatch(Schema):
    version: int
    title_en: str | None = None
    title_zh: str | None = None
    description_en: str | None = None
    description_zh: str | None = None
    keywords: list[str] | None = None
    domain: str | None = None
    frequency: str | None = None
    sharing: str | None = None
    area: str | None = None
    profile_role: str | None = None
    profile_field: str | None = None
    feeds_risk: bool | None = None
    active: bool | None = None
    reason: str = ""
