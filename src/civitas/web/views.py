from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civitas.geo import selectors as geo_selectors


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"cities": geo_selectors.cities()})
