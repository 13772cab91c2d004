"""The hub in the admin, read only: datasets, schemas, batches, grants and the usage log are
changed through the hub's pages and API, so every change is checked, versioned and in the
audit chain. The admin is for looking things up."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civitas.hub.models import AccessLog, Batch, Dataset, Field, Grant, SchemaVersion


class NoWrites:
    """Nothing is added, changed or deleted here; the rows are only looked at."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnly(NoWrites, admin.ModelAdmin):
    pass


class FieldsInline(NoWrites, admin.TabularInline):
    model = Field
    extra = 0
    fields = (
        "position",
        "name",
        "label_en",
        "label_zh",
        "type",
        "sensitivity",
        "key_role",
        "required",
        "max_length",
    )


class SchemasInline(NoWrites, admin.TabularInline):
    model = SchemaVersion
    extra = 0
    fields = ("number", "note", "created_by", "created_at")
    show_change_link = True


@admin.register(Dataset)
class DatasetAdmin(ReadOnly):
    list_display = ("code", "title_en", "title_zh", "owner_unit", "domain", "sharing", "active")
    list_filter = ("city", "domain", "sharing", "frequency", "active")
    search_fields = ("code", "title_en", "title_zh", "keywords")
    raw_id_fields = ("owner_unit", "jurisdiction", "schema")
    inlines = [SchemasInline]


@admin.register(SchemaVersion)
class SchemaVersionAdmin(ReadOnly):
    list_display = ("dataset", "number", "created_by", "created_at")
    search_fields = ("dataset__code",)
    raw_id_fields = ("dataset",)
    inlines = [FieldsInline]


@admin.register(Batch)
class BatchAdmin(ReadOnly):
    list_display = ("dataset", "number", "source", "mode", "status", "rows_total", "created_at")
    list_filter = ("status", "source", "mode")
    search_fields = ("dataset__code", "filename")
    raw_id_fields = ("dataset", "schema")
    date_hierarchy = "created_at"


@admin.register(Grant)
class GrantAdmin(ReadOnly):
    list_display = ("pk", "dataset", "consumer_unit", "status", "expires_at", "requested_at")
    list_filter = ("status", "automatic")
    search_fields = ("dataset__code", "consumer_unit__code", "purpose")
    raw_id_fields = ("dataset", "consumer_unit", "area")
    date_hierarchy = "requested_at"


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnly):
    list_display = ("at", "dataset", "actor", "channel", "grant", "rows", "case_ref")
    list_filter = ("channel",)
    search_fields = ("dataset__code", "actor", "case_ref")
    raw_id_fields = ("dataset", "grant", "unit", "user", "api_key")
    date_hierarchy = "at"
