"""Pages of participation: the home page, organisations, participants, tasks."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.participation import views_home

urlpatterns: list[URLPattern] = [
    path("", views_home.home, name="participation-home"),
]
