"""/api/mediation/figures: disputes received, resolved, by level, type and area.

The same numbers as the figures page (civitas.mediation.figures), for the same reader:
``disputes.figures`` over the areas of their scope. Query: ``from``, ``to`` (YYYY-MM-DD, both
included; by default the last 365 days) and ``area`` (a jurisdiction code). Bad input answers
422 with the field named.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from civitas.mediation import figures

router = Router()


class ErrorOut(Schema):
    error: dict[str, Any]


@router.get("/figures", response={200: dict[str, Any], 403: ErrorOut, 422: ErrorOut})
def mediation_figures(request: HttpRequest) -> dict[str, Any]:
    # The query is read as text, so a malformed date is answered by the figures' own error
    # naming the field (from, to or area).
    actor = request.auth  # type: ignore[attr-defined]
    f = figures.parse_filters(actor, request.GET)
    return figures.as_dict(figures.compute(actor, f))
