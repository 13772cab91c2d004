from django.urls import path

from civitas.assessment import views

urlpatterns = [
    path("assessment/", views.assessment, name="assessment"),
    path("assessment/export.csv", views.export, {"fmt": "csv"}, name="assessment-csv"),
    path("assessment/export.xlsx", views.export, {"fmt": "xlsx"}, name="assessment-xlsx"),
]
