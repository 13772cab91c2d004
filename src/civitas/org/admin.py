"""Admin for units, people, memberships, the responsibility list and API keys.

Writes go through org.services so that they are audited; responsibility entries need a reason
and keep their revisions, shown read-only under each entry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from civitas.kit.admin import ServiceAdmin, ServiceForm
from civitas.org import services
from civitas.org.models import (
    ApiKey,
    Membership,
    ResponsibilityRevision,
    ResponsibilityRule,
    Unit,
    User,
)

# -- units -------------------------------------------------------------------------------------


class UnitForm(ServiceForm):
    class Meta:
        model = Unit
        fields = (
            "code",
            "kind",
            "department_type",
            "name_en",
            "name_zh",
            "aliases",
            "jurisdiction",
            "parent",
            "phone",
            "active",
        )

    def clean_aliases(self) -> list[str]:
        value = self.cleaned_data.get("aliases")
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
            raise forms.ValidationError(_("Aliases must be a JSON list of names."))
        return value

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "actor": self.actor,
            "code": self.instance.code if self.instance.pk else d["code"],
            "kind": d["kind"],
            "name_en": d["name_en"],
            "name_zh": d["name_zh"],
            "jurisdiction": d["jurisdiction"],
            "department_type": d.get("department_type") or "",
            "parent": d.get("parent"),
            "aliases": d.get("aliases") or [],
            "phone": d.get("phone") or "",
            "active": d.get("active", True),
            "reason": d.get("reason", ""),
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: services.save_unit(**args)


@admin.register(Unit)
class UnitAdmin(ServiceAdmin):
    form = UnitForm
    list_display = (
        "code",
        "name_en",
        "name_zh",
        "kind",
        "department_type",
        "jurisdiction",
        "active",
    )
    list_filter = ("kind", "department_type", "city", "active")
    search_fields = ("code", "name_en", "name_zh", "aliases")
    autocomplete_fields = ("jurisdiction", "parent")
    list_select_related = ("jurisdiction",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The service finds a unit by its code: a changed code would make a new unit.
        return ("code", "city", "updated_at") if obj is not None else ("city", "updated_at")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            saved = services.save_unit(**form.arguments())
        obj.pk = saved.pk
        obj.refresh_from_db()


# -- people and memberships ----------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("role", "unit", "active", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("unit",)
    can_delete = False


@admin.register(User)
class CivitasUserAdmin(UserAdmin):
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Civitas"), {"fields": ("display_name", "phone", "preferred_language")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        (_("Civitas"), {"fields": ("display_name", "phone")}),
    )
    list_display = ("username", "display_name", "email", "is_active", "is_staff")
    search_fields = ("username", "display_name", "email", "phone")
    inlines = (MembershipInline,)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        # New roles are granted through the service (audited); edits to existing rows
        # (switching a membership off) are saved as they are.
        for obj in formset.save(commit=False):
            if obj.pk is None:
                services.add_membership(
                    actor=request.user,
                    user=form.instance,
                    role=obj.role,
                    unit=obj.unit,
                    reason="granted in the admin",
                )
            else:
                obj.save()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "unit", "active", "created_at")
    list_filter = ("role", "active")
    search_fields = ("user__username", "user__display_name", "unit__code", "unit__name_en")
    autocomplete_fields = ("user", "unit")
    list_select_related = ("user", "unit")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        with transaction.atomic():
            saved = services.add_membership(
                actor=request.user,
                user=obj.user,
                role=obj.role,
                unit=obj.unit,
                reason="granted in the admin",
            )
        obj.pk = saved.pk
        obj.refresh_from_db()


# -- the responsibility list ---------------------------------------------------------------------


class ResponsibilityRuleForm(ServiceForm):
    reason_required = True

    class Meta:
        model = ResponsibilityRule
        fields = (
            "city",
            "matter",
            "level",
            "jurisdiction",
            "unit_type",
            "unit",
            "city_coordinates",
            "note",
            "active",
        )

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        rule = ResponsibilityRule.objects.get(pk=self.instance.pk) if self.instance.pk else None
        return {
            "actor": self.actor,
            "reason": d["reason"],
            "matter": d["matter"],
            "level": d["level"],
            "city": d["city"],
            "jurisdiction": d.get("jurisdiction"),
            "unit_type": d.get("unit_type") or "",
            "unit": d.get("unit"),
            "city_coordinates": d.get("city_coordinates", False),
            "note": d.get("note") or "",
            "active": d.get("active", True),
            "rule": rule,
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: services.save_responsibility(**args)


class RevisionInline(admin.TabularInline):
    model = ResponsibilityRevision
    extra = 0
    can_delete = False
    fields = ("version", "at", "actor", "reason", "snapshot")
    readonly_fields = fields
    ordering = ("-version",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(ServiceAdmin):
    form = ResponsibilityRuleForm
    list_display = (
        "matter",
        "level",
        "city",
        "jurisdiction",
        "unit_type",
        "unit",
        "version",
        "active",
    )
    list_filter = ("city", "level", "unit_type", "active", "city_coordinates")
    search_fields = ("matter__code", "matter__name_en", "matter__name_zh", "unit__code", "note")
    autocomplete_fields = ("matter", "jurisdiction", "unit")
    list_select_related = ("matter", "level", "jurisdiction", "unit")
    readonly_fields = ("version", "updated_at")
    inlines = (RevisionInline,)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            saved = services.save_responsibility(**form.arguments())
        obj.pk = saved.pk
        obj.refresh_from_db()


# -- API keys --------------------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made with ``civitas apikey create`` (the clear key is shown once, there)."""

    list_display = ("name", "prefix", "unit", "scopes", "created_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "unit__code")
    readonly_fields = (
        "name",
        "prefix",
        "key_hash",
        "scopes",
        "unit",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected API keys"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        n = 0
        with transaction.atomic():
            for key in queryset.filter(revoked_at__isnull=True):
                services.revoke_api_key(actor=request.user, key=key, reason="revoked in the admin")
                n += 1
        self.message_user(
            request,
            ngettext("%(n)d key was revoked.", "%(n)d keys were revoked.", n) % {"n": n},
            messages.SUCCESS,
        )
