"""Admin for the audit chain (read-only) and helpers the domain admins share.

Admin writes go through services, like every other write. ``ServiceForm`` runs the service
once inside a savepoint that is always rolled back while the form is validated, so that a
service's refusal (``CivitasError``) appears on the form instead of as a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from civitas.kit.errors import CivitasError
from civitas.kit.models import AuditEntry


class _DryRun(Exception):
    """Raised to roll back a validating service call."""


def service_refusal(call: Callable[[], object]) -> CivitasError | None:
    """Run ``call`` in a savepoint that is rolled back; return its CivitasError, if any."""
    try:
        with transaction.atomic():
            call()
            raise _DryRun
    except _DryRun:
        return None
    except CivitasError as exc:
        return exc


class ServiceForm(forms.ModelForm):
    """A model form whose validation asks the service that will do the write."""

    reason_required = False
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Kept in the audit log."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = self.reason_required
        self.actor: Any = None

    def service_call(self) -> Callable[[], object] | None:
        """The write this form will make, as a call; None to skip the check."""
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        call = self.service_call()
        if call is not None:
            refusal = service_refusal(call)
            if refusal is not None:
                details = refusal.details if isinstance(refusal.details, dict) else {}
                field = details.get("field")
                self.add_error(field if field in self.fields else None, refusal.message)
        return cleaned


class ServiceAdmin(admin.ModelAdmin):
    """Hands the acting user to ``ServiceForm`` and forbids deletes that services don't make."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        actor = request.user

        class WithActor(form_class):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, **kw)
                self.actor = actor

        return WithActor

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("seq", "at", "actor", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "action", "object_type", "object_id", "reason")
    date_hierarchy = "at"
    ordering = ("-seq",)
    readonly_fields = tuple(f.name for f in AuditEntry._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
