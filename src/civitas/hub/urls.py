"""Pages of the data-sharing hub, under /hub/."""

from __future__ import annotations

from django.urls import URLPattern

from civitas.hub import urls_access, urls_catalogue, urls_ingest

urlpatterns: list[URLPattern] = [
    *urls_catalogue.urlpatterns,
    *urls_ingest.urlpatterns,
    *urls_access.urlpatterns,
]
