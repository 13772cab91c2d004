"""URLs of the risk app's reports pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
