"""The JSON API: one NinjaAPI composed from each domain's router. OpenAPI at /api/openapi.json."""

from __future__ import annotations

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from civitas.appeals.api import router as appeals_router
from civitas.geo.api import router as geo_router
from civitas.kit.errors import CivitasError
from civitas.matters.api import router as matters_router
from civitas.org.api import router as org_router
from civitas.org.auth import API_AUTH

api = NinjaAPI(
    title="Civitas API",
    version="1",
    description="Municipal social governance: the city model, people and the audit chain.",
    auth=API_AUTH,
    urls_namespace="api",
    # Swagger UI is served from the installed package (no CDN); it styles elements inline.
    docs_decorator=csp_update({"style-src": ["'unsafe-inline'"]}),
)
api.add_router("/", geo_router, tags=["city model"])
api.add_router("/", matters_router, tags=["matters"])
api.add_router("/", org_router, tags=["organisation"])


@api.exception_handler(CivitasError)
def civitas_error(request: HttpRequest, exc: CivitasError) -> HttpResponse:
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status)


# -- appeals (issue 3) ----------------------------------------------------------------------
api.add_router("/", appeals_router, tags=["appeals"])


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Malformed requests answer in the same shape as every other error, naming the field."""
    details = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())[1:] if p != "body")
            or ".".join(str(p) for p in e.get("loc", ())),
            "message": str(e.get("msg", "")),
        }
        for e in exc.errors
    ]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return api.create_response(
        request,
        {"error": {"code": "invalid_input", "message": message, "details": details}},
        status=422,
    )


from civitas.assessment.api import router as assessment_router  # noqa: E402

api.add_router("/", assessment_router, tags=["assessment"])

from civitas.risk.api import router as risk_router  # noqa: E402

api.add_router("/", risk_router, tags=["risk"])

from civitas.hub.api import router as hub_router  # noqa: E402

api.add_router("/", hub_router, tags=["data-sharing hub"])

from civitas.mediation.api import router as mediation_router  # noqa: E402

api.add_router("/", mediation_router, tags=["mediation"])

from civitas.participation.api import router as participation_router  # noqa: E402

api.add_router("/", participation_router, tags=["participation"])
