"""URLs of the judgment reports: the latest complete period, one week or month, its PDF."""

from django.urls import URLPattern, path, register_converter

from civitas.risk import views_reports


class _Kind:
    regex = "week|month"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class _Label:
    regex = r"\d{4}-(?:W\d{2}|\d{2})"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_Kind, "reportkind")
register_converter(_Label, "reportlabel")

urlpatterns: list[URLPattern] = [
    path("", views_reports.index, name="risk-reports"),
    path(
        "<reportkind:kind>/<reportlabel:label>.pdf",
        views_reports.pdf,
        name="risk-report-pdf",
    ),
    path("<reportkind:kind>/<reportlabel:label>/", views_reports.report, name="risk-report"),
]
