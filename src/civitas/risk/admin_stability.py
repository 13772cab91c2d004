"""Stability assessments in the admin: to look things up, never to change them (a change
must go through ``risk.stability`` so that it is checked, versioned and audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civitas.risk.models import StabilityAppeal, StabilityAssessment


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AppealInline(admin.TabularInline):
    model = StabilityAppeal
    fields = ("appeal", "added_by", "added_at")
    readonly_fields = fields
    raw_id_fields = ("appeal",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StabilityAssessment)
class StabilityAssessmentAdmin(ReadOnly):
    list_display = ("code", "title", "city", "state", "level", "computed_level", "created_at")
    list_filter = ("city", "state", "level")
    search_fields = ("code", "title")
    date_hierarchy = "created_at"
    raw_id_fields = ("decision_unit", "jurisdiction", "risk", "supersedes")
    inlines = [AppealInline]
