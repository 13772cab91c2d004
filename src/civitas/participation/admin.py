"""Organisations, participants and tasks in the admin, read only: every change goes through
the services (orgs, volunteering), so it is checked, audited and told."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from civitas.participation.models import Organisation, Participant, Task, TaskTake


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(ReadOnly):
    list_display = ("code", "name_en", "kind", "jurisdiction_path", "state")
    list_filter = ("city", "kind", "state")
    search_fields = ("code", "name_en", "name_zh")


@admin.register(Participant)
class ParticipantAdmin(ReadOnly):
    list_display = ("user", "home_path", "is_volunteer", "is_party_member", "state")
    list_filter = ("city", "state")


@admin.register(Task)
class TaskAdmin(ReadOnly):
    list_display = ("code", "title", "kind", "publisher", "status", "starts_at", "slots")
    list_filter = ("city", "kind", "status")
    search_fields = ("code", "title")


@admin.register(TaskTake)
class TaskTakeAdmin(ReadOnly):
    list_display = ("task", "user", "organisation", "state", "hours")
    list_filter = ("state",)
