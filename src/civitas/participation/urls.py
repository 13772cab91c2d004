"""Pages of participation, under /participate/."""

from __future__ import annotations

from django.urls import URLPattern

from civitas.participation import urls_consult, urls_suggest, urls_tasks

urlpatterns: list[URLPattern] = [
    *urls_tasks.urlpatterns,
    *urls_consult.urlpatterns,
    *urls_suggest.urlpatterns,
]
