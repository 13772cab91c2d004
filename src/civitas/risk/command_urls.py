"""URLs of the risk app's command pages."""

from django.urls import URLPattern, path

from civitas.risk import views_command

urlpatterns: list[URLPattern] = [
    path("", views_command.page, name="command"),
    path("alerts/", views_command.alerts, name="command-alerts"),
    path("map.json", views_command.area_map, name="command-map"),
]
