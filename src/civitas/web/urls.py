from django.contrib.auth import views as auth_views
from django.urls import path

from civitas.web.views import audit, catalogue, city, directory, home

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("city/", city.city, name="city"),
    path("city/search/", city.search, name="city-search"),
    path("city/locate/", city.locate_point, name="locate"),
    path("city/places/", city.places, name="places"),
    path("city/j/<str:code>/", city.jurisdiction, name="jurisdiction"),
    path("city/j/<str:code>/map.json", city.jurisdiction_map, name="jurisdiction-map"),
    path("units/", directory.units, name="units"),
    path("units/<str:code>/", directory.unit, name="unit"),
    path("people/", directory.people, name="people"),
    path("matters/", catalogue.matters, name="matters"),
    path("matters/<str:code>/", catalogue.matter, name="matter"),
    path("responsibilities/", catalogue.responsibilities, name="responsibilities"),
    path("responsibilities/new/", catalogue.responsibility_edit, name="responsibility-new"),
    path("responsibilities/<int:pk>/", catalogue.responsibility, name="responsibility"),
    path(
        "responsibilities/<int:pk>/edit/",
        catalogue.responsibility_edit,
        name="responsibility-edit",
    ),
    path("audit/", audit.audit, name="audit"),
    path("audit/verify/", audit.audit_verify, name="audit-verify"),
]
