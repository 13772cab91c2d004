"""Stability assessments in the admin: to look things up, never to change them (a change
must go through ``risk.stability`` so that it is checked, versioned and audited)."""

from __future__ import annotations

from django.contrib import admin

from civitas.risk.admin import NoWrites, ReadOnly
from civitas.risk.models import StabilityAppeal, StabilityAssessment


class AppealInline(NoWrites, admin.TabularInline):
    model = StabilityAppeal
    fields = ("appeal", "added_by", "added_at")
    raw_id_fields = ("appeal",)
    extra = 0


@admin.register(StabilityAssessment)
class StabilityAssessmentAdmin(ReadOnly):
    list_display = ("code", "title", "city", "state", "level", "computed_level", "created_at")
    list_filter = ("city", "state", "level")
    search_fields = ("code", "title")
    date_hierarchy = "created_at"
    raw_id_fields = ("decision_unit", "jurisdiction", "risk", "supersedes")
    inlines = [AppealInline]
