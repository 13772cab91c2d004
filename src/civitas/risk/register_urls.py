"""URLs of the risk app's register pages: the alert queue and the risk register."""

from django.urls import path

from civitas.risk import views_register as views

urlpatterns = [
    path("alerts/", views.alerts, name="risk-alerts"),
    path("alerts/<int:pk>/", views.alert, name="risk-alert"),
    path("alerts/<int:pk>/map.json", views.alert_map, name="risk-alert-map"),
    path("alerts/<int:pk>/act/<str:action>/", views.alert_act, name="risk-alert-act"),
    path("risks/", views.risks, name="risk-risks"),
    path("risks/new/", views.risk_new, name="risk-new"),
    path("risks/<str:code>/", views.risk, name="risk-risk"),
    path("risks/<str:code>/map.json", views.risk_map, name="risk-risk-map"),
    path("risks/<str:code>/act/<str:action>/", views.risk_act, name="risk-risk-act"),
]
