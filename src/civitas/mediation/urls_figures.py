"""Pages of mediation figures and agreements' PDFs (owned by the figures side), included from
urls.py under /mediation/."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
