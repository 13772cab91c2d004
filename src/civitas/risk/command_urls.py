"""URLs of the risk app's command pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
