"""Pages of participation: the home page, organisations, participants, tasks."""

from __future__ import annotations

from django.urls import URLPattern, path

from civitas.participation import views_home, views_orgs, views_tasks

urlpatterns: list[URLPattern] = [
    path("", views_home.home, name="participation-home"),
    path("tasks/", views_tasks.task_list, name="participation-tasks"),
    path("tasks/new/", views_tasks.task_new, name="participation-task-new"),
    path("tasks/<str:code>/", views_tasks.task_detail, name="participation-task"),
    path("tasks/<str:code>/<str:action>/", views_tasks.task_act, name="participation-task-act"),
    path("me/", views_tasks.mine, name="participation-mine"),
    path("me/<str:action>/", views_tasks.mine_act, name="participation-mine-act"),
    path("participants/", views_tasks.participants, name="participation-participants"),
    path(
        "participants/<int:pk>/<str:action>/",
        views_tasks.participant_act,
        name="participation-participant-act",
    ),
    path("figures/", views_tasks.figures, name="participation-figures"),
    path("organisations/", views_orgs.org_list, name="participation-orgs"),
    path("organisations/new/", views_orgs.org_new, name="participation-org-new"),
    path("organisations/<str:code>/", views_orgs.org_detail, name="participation-org"),
    path(
        "organisations/<str:code>/<str:action>/",
        views_orgs.org_act,
        name="participation-org-act",
    ),
]
