"""Pages of dispute mediation, under /mediation/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from civitas.mediation import views, views_act, views_register

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.disputes, name="mediation-disputes"),
    path("new/", views_register.register, name="mediation-new"),
    path("refer/<str:ticket>/", views_register.refer, name="mediation-refer"),
    path("d/<str:code>/", views.dispute, name="mediation-dispute"),
    path("d/<str:code>/act/<str:action>/", views_act.act, name="mediation-act"),
    path("", include("civitas.mediation.urls_figures")),
]
