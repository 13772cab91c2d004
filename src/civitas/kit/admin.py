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

from civitas.kit import calendar as business_calendar
from civitas.kit import outbox
from civitas.kit.errors import CivitasError
from civitas.kit.models import AuditEntry, CalendarDay, OutboxMessage, ScheduledRun, WorkerBeat


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


# -- business calendars, the outbox and the scheduler (deadlines engineer) --------------------


class CalendarDayForm(ServiceForm):
    class Meta:
        model = CalendarDay
        fields = ("calendar", "day", "kind", "name")

    def service_call(self) -> Callable[[], object] | None:
        data = self.cleaned_data
        return lambda: business_calendar.set_day(
            actor=self.actor,
            calendar=data.get("calendar") or self.instance.calendar,
            day=data.get("day") or self.instance.day,
            kind=data["kind"],
            name=data.get("name", ""),
            reason=data.get("reason", ""),
        )


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceAdmin):
    form = CalendarDayForm
    list_display = ("calendar", "day", "kind", "name")
    list_filter = ("calendar", "kind")
    search_fields = ("name", "calendar")
    date_hierarchy = "day"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("calendar", "day") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        business_calendar.set_day(
            actor=request.user,
            calendar=obj.calendar,
            day=obj.day,
            kind=obj.kind,
            name=obj.name,
            reason=form.cleaned_data.get("reason", ""),
        )
        obj.pk = CalendarDay.objects.get(calendar=obj.calendar, day=obj.day).pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        business_calendar.remove_day(
            actor=request.user, calendar=obj.calendar, day=obj.day, reason="admin"
        )

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in list(queryset):
            self.delete_model(request, obj)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "channel", "recipient", "subject", "state", "attempts")
    list_filter = ("state", "channel")
    search_fields = ("recipient", "subject", "topic")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    readonly_fields = tuple(f.name for f in OutboxMessage._meta.fields)
    actions = ("send_again",)

    @admin.action(description=_("Send the selected failed messages again"))
    def send_again(self, request: HttpRequest, queryset: Any) -> None:
        n = outbox.requeue(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(n)d message(s) queued again.") % {"n": n})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ("name", "period_start", "claimed_by", "started_at", "finished_at", "ok")
    list_filter = ("name", "ok")
    ordering = ("-period_start",)
    readonly_fields = tuple(f.name for f in ScheduledRun._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkerBeat)
class WorkerBeatAdmin(admin.ModelAdmin):
    """The background workers and when each was last seen (read-only)."""

    list_display = ("worker_id", "host", "pid", "started_at", "seen_at", "stopped_at", "tasks_run")
    list_filter = ("host",)
    search_fields = ("worker_id", "host")
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
