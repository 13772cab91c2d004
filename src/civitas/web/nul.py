"""NUL characters refused at the door of the JSON API.

PostgreSQL cannot store U+0000 in text, and no appeal, name or filter needs it; Django's form
fields already refuse it, Open311 checks its own parameters, and this middleware does the same
for the JSON API's query strings and JSON bodies, answering 422 with the parameter or the
body named instead of failing in the database with a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

# A NUL in JSON text is the escape \\u0000 (any case of the hex digits); an odd number of
# backslashes before it makes it an escape rather than the literal text "\\u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _refuse(where: str) -> JsonResponse:
    message = _("%(where)s contains a NUL character (U+0000); remove it and send again") % {
        "where": where
    }
    return JsonResponse(
        {"error": {"code": "invalid_input", "message": message, "details": {"field": where}}},
        status=422,
    )


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            if "\x00" in request.path_info:
                return _refuse(_("the path"))
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in v for v in values):
                    return _refuse(name.replace("\x00", ""))
            if request.content_type == "application/json" and request.method in (
                "POST",
                "PUT",
                "PATCH",
            ):
                body = request.body
                if b"\x00" in body or _JSON_NUL.search(body):
                    return _refuse(_("the request body"))
        return self.get_response(request)
