"""The JSON API: one NinjaAPI composed from each domain's router. OpenAPI at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError

from civitas.appeals.api import router as appeals_router
from civitas.geo.api import router as geo_router
from civitas.kit.errors import CivitasError
from civitas.matters.api import router as matters_router
from civitas.org.api import router as org_router
from civitas.org.auth import API_AUTH, REFERENCE_AUTH


class CivitasAPI(NinjaAPI):
    """The documented schema names the error answers every operation may give.

    Any operation may refuse a request (401 without a usable key, 403 out of scope, 404, 409,
    422 malformed, 429 too many); those answers share one shape, documented here once as
    ``4XX`` so clients (and schemathesis) can rely on it.
    """

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorAnswer"] = ERROR_ANSWER
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault(
                        "4XX",
                        {
                            "description": "Refused: what is wrong and what to do",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorAnswer"}
                                }
                            },
                        },
                    )
        return schema


ERROR_ANSWER: dict[str, Any] = {
    "title": "ErrorAnswer",
    "type": "object",
    "description": "Either {error: {code, message, details?}} or ninja's {detail}.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
            "required": ["code", "message"],
        },
        "detail": {},
    },
}


api = CivitasAPI(
    title="Civitas API",
    version="1",
    description="Municipal social governance: the city model, people and the audit chain.",
    auth=API_AUTH,
    urls_namespace="api",
    # Swagger UI is served from the installed package (no CDN); it styles elements inline.
    docs_decorator=csp_update({"style-src": ["'unsafe-inline'"]}),
)
# Reference data: every person may read it; an API key needs the reference:read scope.
api.add_router("/", geo_router, auth=REFERENCE_AUTH, tags=["city model"])
api.add_router("/", matters_router, auth=REFERENCE_AUTH, tags=["matters"])
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
