"""Alerts and the risk register in the admin, read only: every change goes through the
services, so it is on the risk's timeline and in the audit chain."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civitas.risk.models import Alert, AlertAppeal, RiskEvent, RiskItem


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


class LinksInline(NoWrites, admin.TabularInline):
    model = AlertAppeal
    raw_id_fields = ("appeal",)
    extra = 0


@admin.register(Alert)
class AlertAdmin(ReadOnly):
    list_display = ("pk", "detected_on", "city", "kind", "category", "status", "observed")
    list_filter = ("city", "kind", "status")
    search_fields = ("category", "key", "jurisdiction_path")
    date_hierarchy = "detected_on"
    raw_id_fields = ("matter", "jurisdiction", "risk")
    inlines = [LinksInline]


class EventsInline(NoWrites, admin.TabularInline):
    model = RiskEvent
    extra = 0
    fields = ("at", "actor", "action", "from_level", "to_level", "note")


@admin.register(RiskItem)
class RiskItemAdmin(ReadOnly):
    list_display = ("code", "title", "level", "status", "owner_unit", "deadline")
    list_filter = ("city", "level", "status")
    search_fields = ("code", "title")
    raw_id_fields = ("owner_unit", "jurisdiction", "matter")
    inlines = [EventsInline]
