"""Admin for levels and jurisdictions. Jurisdiction saves go through geo.services (audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from civitas.geo import services
from civitas.geo.models import Jurisdiction, Level
from civitas.kit.admin import ServiceAdmin, ServiceForm


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("code", "rank", "name_en", "name_zh", "overlay")
    list_editable = ()
    ordering = ("overlay", "rank")
    search_fields = ("code", "name_en", "name_zh")


def _aliases(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise forms.ValidationError(_('Aliases must be a JSON list of names, e.g. ["A1", "芙蓉"].'))
    return value


class JurisdictionForm(ServiceForm):
    class Meta:
        model = Jurisdiction
        fields = ("code", "level", "parent", "name_en", "name_zh", "aliases", "boundary")

    def clean_aliases(self) -> list[str]:
        return _aliases(self.cleaned_data.get("aliases"))

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        existing = Jurisdiction.objects.get(pk=self.instance.pk) if self.instance.pk else None
        return {
            "actor": self.actor,
            "code": d["code"],
            "level": d["level"],
            "name_en": d["name_en"],
            "name_zh": d["name_zh"],
            "parent": d.get("parent"),
            "aliases": d.get("aliases") or [],
            "boundary": d.get("boundary"),
            "reason": d.get("reason", ""),
            "existing": existing,
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: services.save_jurisdiction(**args)


@admin.register(Jurisdiction)
class JurisdictionAdmin(ServiceAdmin):
    form = JurisdictionForm
    list_display = ("code", "name_en", "name_zh", "level", "parent", "depth")
    list_filter = ("level",)
    search_fields = ("code", "name_en", "name_zh", "aliases")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "depth", "centroid_lat", "centroid_lon", "updated_at")
    list_select_related = ("level", "parent")
    ordering = ("path",)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            saved = services.save_jurisdiction(**form.arguments())
        obj.pk = saved.pk
        obj.refresh_from_db()
