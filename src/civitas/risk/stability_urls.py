"""URLs of the risk app's stability pages."""

from django.urls import path

from civitas.risk import views_stability as views

urlpatterns = [
    path("", views.assessments, name="risk-stability-list"),
    path("new/", views.new, name="risk-stability-new"),
    path("<str:code>/", views.detail, name="risk-stability"),
    path("<str:code>/edit/", views.edit, name="risk-stability-edit"),
    path("<str:code>/consultation/", views.consultation_add, name="risk-stability-consult"),
    path(
        "<str:code>/consultation/<int:index>/remove/",
        views.consultation_remove,
        name="risk-stability-consult-remove",
    ),
    path("<str:code>/appeals/", views.appeal_attach, name="risk-stability-appeal"),
    path(
        "<str:code>/appeals/<str:ticket>/remove/",
        views.appeal_detach,
        name="risk-stability-appeal-remove",
    ),
    path("<str:code>/record/", views.put_on_record, name="risk-stability-record"),
    path("<str:code>/revise/", views.revise, name="risk-stability-revise"),
    path("<str:code>/risk/open/", views.open_risk, name="risk-stability-open-risk"),
    path("<str:code>/risk/link/", views.link_risk, name="risk-stability-link-risk"),
]
