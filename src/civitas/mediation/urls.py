"""Pages of dispute mediation, under /mediation/."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.mediation import views

urlpatterns: list[URLPattern] = [
    path("", views.disputes, name="mediation-disputes"),
]
