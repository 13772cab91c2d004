"""Pages of the hub: catalogue."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.hub import views_catalogue as v

urlpatterns: list[URLPattern] = [
    path("", v.catalogue_page, name="hub-catalogue"),
    path("datasets/new/", v.dataset_new, name="hub-dataset-new"),
    path("datasets/<slug:code>/", v.dataset_page, name="hub-dataset"),
    path("datasets/<slug:code>/edit/", v.dataset_edit, name="hub-dataset-edit"),
    path("datasets/<slug:code>/active/", v.dataset_active, name="hub-dataset-active"),
    path("datasets/<slug:code>/schema/", v.schema_edit, name="hub-schema-edit"),
    path("datasets/<slug:code>/versions/", v.schema_versions, name="hub-schema-versions"),
]
