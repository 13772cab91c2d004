"""Pages of mediation figures and agreements' PDFs (owned by the figures side), included from
urls.py under /mediation/."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.mediation import views_figures

urlpatterns: list[URLPattern] = [
    path("figures/", views_figures.figures_page, name="mediation-figures"),
    path("figures.csv", views_figures.figures_csv, name="mediation-figures-csv"),
    path(
        "d/<str:code>/agreements/<int:pk>.pdf",
        views_figures.agreement_pdf_view,
        name="mediation-agreement-pdf",
    ),
]
