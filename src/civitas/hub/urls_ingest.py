"""Pages of the hub: loading data (upload, batches, the quarantine)."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.hub import views_ingest as v

urlpatterns: list[URLPattern] = [
    path("datasets/<slug:code>/upload/", v.upload, name="hub-upload"),
    path("batches/<int:pk>/", v.batch_page, name="hub-batch"),
    path("batches/<int:pk>/progress/", v.batch_progress, name="hub-batch-progress"),
    path("batches/<int:pk>/run/", v.batch_run, name="hub-batch-run"),
    path("batches/<int:pk>/discard/", v.batch_discard, name="hub-batch-discard"),
    path("quarantine/<int:pk>/fix/", v.quarantine_fix, name="hub-quarantine-fix"),
    path("quarantine/<int:pk>/drop/", v.quarantine_drop, name="hub-quarantine-drop"),
    path("quarantine/<int:pk>/restore/", v.quarantine_restore, name="hub-quarantine-restore"),
]
