"""Admin for Open311: service listings, attributes and outside systems (written through
open311.configure, so audited), and handoffs, request details and deferred requests
(read-only).

An outside system's API key is never shown in clear: lists and change pages show its last four
characters, and the change form takes a new key without displaying the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from civitas.kit.admin import ServiceAdmin, ServiceForm
from civitas.open311 import configure
from civitas.open311.models import (
    ExternalSystem,
    Handoff,
    PendingRequest,
    RequestDetail,
    ServiceAttribute,
    ServiceListing,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the product itself: looked at, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeletableServiceAdmin(ServiceAdmin):
    """Deletes go through ``delete`` (audited) with the acting user."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic():
            for obj in list(queryset):
                self.delete(request, obj)


# -- listings ------------------------------------------------------------------------------------


class ServiceListingForm(ServiceForm):
    class Meta:
        model = ServiceListing
        fields = ("matter", "listed", "group", "type", "description_en", "description_zh")

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "actor": self.actor,
            "matter": self.instance.matter if self.instance.pk else d["matter"],
            "listed": d.get("listed", False),
            "group": d.get("group") or "",
            "type": d["type"],
            "description_en": d.get("description_en") or "",
            "description_zh": d.get("description_zh") or "",
            "reason": d.get("reason", ""),
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: configure.save_listing(**args)


@admin.register(ServiceListing)
class ServiceListingAdmin(DeletableServiceAdmin):
    form = ServiceListingForm
    list_display = ("matter", "matter_name", "listed", "group", "type")
    list_filter = ("listed", "type", "matter__catalogue")
    search_fields = ("matter__code", "matter__name_en", "matter__name_zh", "group")
    autocomplete_fields = ("matter",)
    list_select_related = ("matter",)

    @admin.display(description=_("matter name"))
    def matter_name(self, obj: ServiceListing) -> str:
        return obj.matter.name

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # One listing per matter: to list another matter, add a listing for it.
        return ("matter",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = configure.save_listing(**form.arguments())
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete(self, request: HttpRequest, obj: Any) -> None:
        configure.delete_listing(actor=request.user, listing=obj, reason="deleted in the admin")


# -- attributes ----------------------------------------------------------------------------------


class ServiceAttributeForm(ServiceForm):
    class Meta:
        model = ServiceAttribute
        fields = (
            "matter",
            "code",
            "order",
            "variable",
            "datatype",
            "required",
            "datatype_description",
            "description_en",
            "description_zh",
            "values",
        )
        help_texts = {
            "values": _(
                'For the list datatypes only: a JSON list such as [{"key": "yes", '
                '"name_en": "Yes", "name_zh": "是"}, {"key": "no", "name_en": "No", '
                '"name_zh": "否"}]. Keys are what clients send back.'
            ),
            "code": _("Clients answer it as attribute[CODE]: letters, digits, _ . : -"),
        }

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "actor": self.actor,
            "matter": d["matter"],
            "code": d["code"],
            "datatype": d["datatype"],
            "description_en": d.get("description_en") or "",
            "description_zh": d.get("description_zh") or "",
            "variable": d.get("variable", False),
            "required": d.get("required", False),
            "datatype_description": d.get("datatype_description") or "",
            "order": d.get("order") if d.get("order") is not None else 1,
            "values": d.get("values") or [],
            "attribute": self.instance if self.instance.pk else None,
            "reason": d.get("reason", ""),
        }

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        return lambda: configure.save_attribute(**args)


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(DeletableServiceAdmin):
    form = ServiceAttributeForm
    list_display = ("matter", "code", "order", "datatype", "required", "variable", "question")
    list_filter = ("datatype", "required", "variable", "matter__catalogue", "matter")
    search_fields = ("matter__code", "code", "description_en", "description_zh")
    autocomplete_fields = ("matter",)
    list_select_related = ("matter",)
    ordering = ("matter__path", "order", "code")

    @admin.display(description=_("question"))
    def question(self, obj: ServiceAttribute) -> str:
        return obj.description

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        args = form.arguments()
        if args["attribute"] is not None:
            # ``obj`` already holds the form's values; the service compares with the row.
            args["attribute"] = ServiceAttribute.objects.get(pk=obj.pk)
        saved = configure.save_attribute(**args)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete(self, request: HttpRequest, obj: Any) -> None:
        configure.delete_attribute(actor=request.user, attribute=obj, reason="deleted in the admin")


# -- outside systems -----------------------------------------------------------------------------


class ExternalSystemForm(ServiceForm):
    # Checked by the service (http or https, no query), which names the problem.
    endpoint = forms.CharField(
        label=ExternalSystem._meta.get_field("endpoint").verbose_name,
        max_length=500,
        help_text=ExternalSystem._meta.get_field("endpoint").help_text,
    )
    # Not the model field: the stored key is never put into the page, and an empty field
    # keeps it.
    new_api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "The key the outside system gave the city. Leave empty to keep the current key."
        ),
    )

    class Meta:
        model = ExternalSystem
        fields = (
            "unit",
            "name",
            "endpoint",
            "jurisdiction_id",
            "format",
            "service_codes",
            "default_service_code",
            "share_contact",
            "poll_seconds",
            "timeout_seconds",
            "active",
        )
        help_texts = {
            "service_codes": _(
                'A JSON object from our matter code to their service code, e.g. {"DC-M01-01-01": '
                '"WATER_LEAK"}; other matters use the default service code.'
            ),
        }

    def arguments(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "actor": self.actor,
            "unit": d["unit"],
            "name": d.get("name") or "",
            "endpoint": d.get("endpoint") or "",
            "api_key": d.get("new_api_key") or None,
            "jurisdiction_id": d.get("jurisdiction_id") or "",
            "format": d["format"],
            "service_codes": d.get("service_codes") or {},
            "default_service_code": d.get("default_service_code") or "",
            "share_contact": d.get("share_contact", False),
            "poll_seconds": d["poll_seconds"],
            "timeout_seconds": d["timeout_seconds"],
            "active": d.get("active", False),
            "system": self.instance if self.instance.pk else None,
            "reason": d.get("reason", ""),
        }

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error("new_api_key" if field == "api_key" else field, error)

    def service_call(self) -> Callable[[], object]:
        args = self.arguments()
        if args["system"] is not None:
            args["system"] = ExternalSystem.objects.get(pk=args["system"].pk)
        return lambda: configure.save_external_system(**args)


@admin.register(ExternalSystem)
class ExternalSystemAdmin(ServiceAdmin):
    form = ExternalSystemForm
    list_display = ("name", "unit", "endpoint", "masked_key", "format", "active")
    list_filter = ("active", "format", "share_contact")
    search_fields = ("name", "unit__code", "unit__name_en", "unit__name_zh", "endpoint")
    autocomplete_fields = ("unit",)
    list_select_related = ("unit",)
    readonly_fields = ("masked_key",)

    @admin.display(description=_("API key"))
    def masked_key(self, obj: ExternalSystem) -> str:
        return configure.mask(obj.api_key)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(ExternalSystemForm.Meta.fields)
        key_fields = ["masked_key", "new_api_key"] if obj is not None else ["new_api_key"]
        at = fields.index("endpoint") + 1
        return [*fields[:at], *key_fields, *fields[at:], "reason"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        args = form.arguments()
        if args["system"] is not None:
            args["system"] = ExternalSystem.objects.get(pk=obj.pk)
        saved = configure.save_external_system(**args)
        obj.pk = saved.pk
        obj.refresh_from_db()


# -- handoffs, request details, deferred requests (read-only) -----------------------------------


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    list_display = (
        "appeal",
        "system",
        "state",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "short_error",
        "external_id",
        "external_status",
    )
    list_filter = ("state", "system")
    search_fields = ("appeal__ticket", "external_id", "token", "last_error")
    list_select_related = ("appeal", "system")
    date_hierarchy = "created_at"
    readonly_fields = tuple(f.name for f in Handoff._meta.fields)
    actions = ("retry_now",)

    @admin.display(description=_("last error"))
    def short_error(self, obj: Handoff) -> str:
        text = obj.last_error or ""
        return text if len(text) <= 80 else text[:79] + "…"

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=_("Try the selected handoffs again now"), permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Handoff]) -> None:
        n = configure.retry_handoffs(
            actor=request.user, handoffs=list(queryset), reason="retried in the admin"
        )
        self.message_user(
            request,
            ngettext(
                "%(n)d handoff will be tried again within a minute.",
                "%(n)d handoffs will be tried again within a minute.",
                n,
            )
            % {"n": n},
            messages.SUCCESS,
        )


@admin.register(RequestDetail)
class RequestDetailAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "api_key", "account_id", "device_id", "zipcode", "has_media")
    search_fields = ("appeal__ticket", "account_id", "device_id")
    list_filter = ("api_key",)
    list_select_related = ("appeal", "api_key")
    readonly_fields = tuple(f.name for f in RequestDetail._meta.fields)

    @admin.display(boolean=True, description=_("media URL"))
    def has_media(self, obj: RequestDetail) -> bool:
        return bool(obj.media_url)


@admin.register(PendingRequest)
class PendingRequestAdmin(ReadOnlyAdmin):
    """The payload holds the resident's contact details: it is never displayed."""

    list_display = ("token", "city", "state", "api_key", "appeal", "created_at", "done_at")
    list_filter = ("state", "city")
    search_fields = ("token", "appeal__ticket")
    list_select_related = ("api_key", "appeal")
    date_hierarchy = "created_at"
    fields = ("token", "city", "state", "api_key", "appeal", "error", "created_at", "done_at")
    readonly_fields = fields
