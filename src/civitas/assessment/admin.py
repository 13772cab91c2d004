from django.contrib import admin

from civitas.assessment.models import RefreshState, UnitDay


@admin.register(UnitDay)
class UnitDayAdmin(admin.ModelAdmin):
    list_display = ("day", "unit", "jurisdiction_path", "dispatched", "resolved", "rated")
    list_filter = ("city",)
    search_fields = ("unit__code", "jurisdiction_path")
    date_hierarchy = "day"
    raw_id_fields = ("unit",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(RefreshState)
class RefreshStateAdmin(admin.ModelAdmin):
    list_display = ("name", "event_mark", "appeal_mark", "ran_at", "days", "seconds")

    def has_add_permission(self, request: object) -> bool:
        return False
