"""Pages of participation: suggestions and their support; moderation of public text."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
