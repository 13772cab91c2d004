"""Admin for the matters catalogue. Saves go through matters.services (audited)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from civitas.kit.admin import ServiceAdmin, ServiceForm
from civitas.matters import services
from civitas.matters.models import Matter


class MatterForm(ServiceForm):
    class Meta:
        model = Matter
        fields = (
            "catalogue",
            "code",
            "parent",
            "name_en",
            "name_zh",
            "keywords",
            "urgency_default",
            "deadlines",
            "responsible",
            "active",
        )

    def clean_keywords(self) -> list[str]:
        value = self.cleaned_data.get("keywords")
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            raise forms.ValidationError(_('Keywords must be a JSON list, e.g. ["lift", "电梯"].'))
        return value

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        code = self.instance.code if self.instance.pk else d["code"]
        return {
            "actor": self.actor,
            "catalogue": d["catalogue"],
            "code": code,
            "name_en": d["name_en"],
            "name_zh": d["name_zh"],
            "parent": d.get("parent"),
            "keywords": d.get("keywords") or [],
            "urgency_default": d["urgency_default"],
            "deadlines": d.get("deadlines") or {},
            "responsible": d.get("responsible") or {},
            "active": d.get("active", True),
            "reason": d.get("reason", ""),
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: services.save_matter(**args)


@admin.register(Matter)
class MatterAdmin(ServiceAdmin):
    form = MatterForm
    list_display = ("code", "name_en", "name_zh", "catalogue", "depth", "urgency_default", "active")
    list_filter = ("catalogue", "depth", "urgency_default", "active")
    search_fields = ("code", "name_en", "name_zh", "keywords")
    autocomplete_fields = ("parent",)
    list_select_related = ("parent",)
    ordering = ("path",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The service finds a matter by its code: a changed code would make a new matter.
        base = ("path", "depth", "updated_at")
        return ("code", *base) if obj is not None else base

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            saved = services.save_matter(**form.arguments())
        obj.pk = saved.pk
        obj.refresh_from_db()
