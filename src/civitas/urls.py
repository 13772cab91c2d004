from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from civitas.api import api
from civitas.web.ops import views as ops

urlpatterns = [
    # Normally answered by civitas.web.ops.middleware.EndpointsMiddleware before the rest.
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("api/", api.urls),
    path("open311/v2/", include("civitas.open311.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("civitas.web.urls")),
    path("", include("civitas.assessment.urls")),
    path("", include("civitas.risk.urls")),
    path("hub/", include("civitas.hub.urls")),
    path("mediation/", include("civitas.mediation.urls")),
    path("participate/", include("civitas.participation.urls")),
]
