"""The participation home page (/participate/): open to everyone.

Open tasks (public fields only), consultations open now and suggestions awaiting their
answers, each read through its public filter; links to the consultation and suggestion pages
appear once those pages exist.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from civitas.participation import selectors_tasks as sel
from civitas.participation.access_rules import managing_units


def _url(name: str, *args: str) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def home(request: HttpRequest) -> HttpResponse:
    city = request.GET.get("city", "").strip() or None
    return render(
        request,
        "participation/home.html",
        {
            "tasks": list(sel.public_tasks(city)[:12]),
            "consultations": [
                (c, _url("participation-consultation", c.code))
                for c in sel.open_consultations(city)
            ],
            "suggestions": [
                (s, _url("participation-suggestion", s.code)) for s in sel.due_suggestions(city)
            ],
            "consultations_url": _url("participation-consultations"),
            "suggestions_url": _url("participation-suggestions"),
            "is_manager": bool(managing_units(request.user)),
        },
    )
