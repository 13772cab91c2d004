"""One error family for the whole platform.

Services raise these; the edges (API, pages, commands) map them to responses in one place.
"""

from __future__ import annotations

from typing import Any


class CivitasError(Exception):
    code = "error"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(CivitasError):
    code = "invalid_input"
    status = 422


class NotFound(CivitasError):
    code = "not_found"
    status = 404


class Forbidden(CivitasError):
    code = "forbidden"
    status = 403


class Conflict(CivitasError):
    code = "conflict"
    status = 409
