"""URLs of the risk app's stability pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
