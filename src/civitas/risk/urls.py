"""The risk app's pages: alerts and the risk register, the command centre, judgment reports and
stability assessments (one URL module each)."""

from django.urls import include, path

urlpatterns = [
    path("risk/reports/", include("civitas.risk.reports_urls")),
    path("risk/stability/", include("civitas.risk.stability_urls")),
    path("risk/", include("civitas.risk.register_urls")),
    path("command/", include("civitas.risk.command_urls")),
]
