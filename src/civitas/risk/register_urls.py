"""URLs of the risk app's register pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
