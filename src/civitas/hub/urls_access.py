"""Pages of the hub: access."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.hub import views_access as views

urlpatterns: list[URLPattern] = [
    path("datasets/<slug:code>/request/", views.grant_request, name="hub-grant-request"),
    path("datasets/<slug:code>/data/", views.data, name="hub-data"),
    path("datasets/<slug:code>/data/export/", views.data_export, name="hub-data-export"),
    path("datasets/<slug:code>/usage/", views.usage, name="hub-usage"),
    path("grants/", views.grant_list, name="hub-grants"),
    path("grants/<int:pk>/", views.grant_detail, name="hub-grant"),
    path("grants/<int:pk>/<slug:action>/", views.grant_act, name="hub-grant-act"),
]
