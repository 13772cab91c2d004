"""/open311/v2/: each resource in XML or JSON by its extension."""

from django.urls import re_path

from civitas.open311 import views

FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.services, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+?)" + FMT, views.definition, name="open311-definition"),
    re_path(r"^requests" + FMT, views.requests, name="open311-requests"),
    re_path(r"^requests/(?P<request_id>[^/]+?)" + FMT, views.one_request, name="open311-request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FMT, views.token, name="open311-token"),
    re_path(r"^servicerequestupdates" + FMT, views.updates, name="open311-updates"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
