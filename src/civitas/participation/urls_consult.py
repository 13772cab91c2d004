"""Pages of participation: consultations (documents, comments, answers)."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.participation import views_consult as v

urlpatterns: list[URLPattern] = [
    path("consultations/", v.consultations, name="participation-consultations"),
    path("consultations/new/", v.new, name="participation-consultation-new"),
    path("consultations/<str:code>/", v.consultation, name="participation-consultation"),
    path(
        "consultations/<str:code>/map.json",
        v.area_map,
        name="participation-consultation-map",
    ),
    path(
        "consultations/<str:code>/documents/<int:pk>/",
        v.document,
        name="participation-consultation-document",
    ),
    path(
        "consultations/<str:code>/comment/",
        v.comment,
        name="participation-consultation-comment",
    ),
    path(
        "consultations/<str:code>/comments/<int:pk>/support/",
        v.support,
        name="participation-consultation-support",
    ),
    path(
        "consultations/<str:code>/<slug:action>/",
        v.act,
        name="participation-consultation-act",
    ),
]
