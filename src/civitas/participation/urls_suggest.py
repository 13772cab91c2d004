"""Pages of participation: suggestions and their support; moderation of public text."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.participation import views_moderation, views_suggest

urlpatterns: list[URLPattern] = [
    path("suggestions/", views_suggest.suggestion_list, name="participation-suggestions"),
    path("suggestions/new/", views_suggest.suggestion_new, name="participation-suggestion-new"),
    path("suggestions/work/", views_suggest.suggestion_work, name="participation-suggestions-work"),
    path(
        "suggestions/<str:code>/", views_suggest.suggestion_detail, name="participation-suggestion"
    ),
    path(
        "suggestions/<str:code>/support/",
        views_suggest.suggestion_support,
        name="participation-suggestion-support",
    ),
    path(
        "suggestions/<str:code>/answer/",
        views_suggest.suggestion_answer,
        name="participation-suggestion-answer",
    ),
    path(
        "suggestions/<str:code>/close/",
        views_suggest.suggestion_close,
        name="participation-suggestion-close",
    ),
    path(
        "suggestions/<str:code>/reassign/",
        views_suggest.suggestion_reassign,
        name="participation-suggestion-reassign",
    ),
    path("moderation/", views_moderation.queue, name="participation-moderation"),
    path(
        "moderation/report/<str:target>/<int:target_id>/",
        views_moderation.report,
        name="participation-report",
    ),
    path(
        "moderation/<str:target>/<int:target_id>/<str:action>/",
        views_moderation.decide,
        name="participation-moderation-decide",
    ),
]
