"""A small Open311 GeoReport v2 client for handing cases to outside systems.

Three calls, each one HTTP request with the system's timeout: ``post_request`` (POST
``requests.{fmt}``), ``get_token`` (GET ``tokens/{token}.{fmt}``) and ``get_requests`` (GET
``requests.{fmt}`` with a comma-separated ``service_request_id``). Answers are read in the
system's format; XML only through defusedxml with DTDs, entities and external references
refused, so an answer can neither expand entities nor make us fetch anything.

Every failure is a :class:`HandoffError` with a readable message (the outside system's own
``errors/error`` descriptions when it sent some), whether it is ``permanent`` (a 4xx other than
429, or a case we cannot describe to them: retrying the same thing will fail the same way until
someone changes the configuration) and, for 429 and 503, the ``Retry-After`` it asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from django.utils.translation import gettext as _

from civitas.appeals.models import Appeal
from civitas.kit import clock, netguard
from civitas.open311.models import ExternalSystem

MAX_DESCRIPTION = 4000  # the specification's limit
MAX_ANSWER = 2 * 1024 * 1024  # bytes read from an answer at most
CLOSED = frozenset({"closed", "fixed"})  # FixMyStreet's "fixed" is a closed status too


class HandoffError(Exception):
    """One failed exchange with an outside system."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Created:
    """The answer to POST requests: their id, or a token to ask for it later."""

    service_request_id: str
    token: str
    service_notice: str


@dataclass(frozen=True)
class RemoteStatus:
    service_request_id: str
    status: str  # lower case as sent: open, closed (or an extended status)
    status_notes: str
    updated_datetime: str
    expected_datetime: str

    @property
    def closed(self) -> bool:
        return self.status in CLOSED


# -- the request we send -----------------------------------------------------------------------


def service_code(system: ExternalSystem, appeal: Appeal) -> str:
    """Their service code for the case's matter; HandoffError (permanent) when there is none."""
    matter_code = appeal.matter.code if appeal.matter is not None else ""
    code = str((system.service_codes or {}).get(matter_code) or system.default_service_code or "")
    if not code.strip():
        raise HandoffError(
            _(
                "%(system)s has no service code for the category %(matter)s: set one in the "
                "outside system's service codes (or a default service code)"
            )
            % {"system": system.name, "matter": matter_code or _("(none)")},
            permanent=True,
        )
    return code.strip()


def _split_name(name: str) -> tuple[str, str]:
    name = " ".join(name.split())
    if " " not in name:
        return "", name
    first, last = name.rsplit(" ", 1)
    return first, last


def request_form(system: ExternalSystem, appeal: Appeal) -> dict[str, str]:
    """The form fields of POST requests for ``appeal`` (the API key included)."""
    form: dict[str, str] = {"api_key": system.api_key, "service_code": service_code(system, appeal)}
    if system.jurisdiction_id:
        form["jurisdiction_id"] = system.jurisdiction_id
    if appeal.lat is not None and appeal.lon is not None:
        form["lat"] = repr(float(appeal.lat))
        form["long"] = repr(float(appeal.lon))
    if appeal.address:
        form["address_string"] = appeal.address
    elif "lat" not in form:
        where = appeal.jurisdiction
        place = (where.name_en or where.name_zh) if where is not None else ""
        if not place:
            raise HandoffError(
                _("%(ticket)s has no place, address or coordinates to send to %(system)s")
                % {"ticket": appeal.ticket, "system": system.name},
                permanent=True,
            )
        form["address_string"] = place
    form["description"] = (appeal.text or "")[:MAX_DESCRIPTION]
    if system.share_contact:
        contact = getattr(appeal, "contact", None)
        if contact is not None:
            first, last = _split_name(contact.name or "")
            for key, value in (
                ("first_name", first),
                ("last_name", last),
                ("email", contact.email),
                ("phone", contact.phone),
            ):
                if value:
                    form[key] = value
    return form


# -- the exchange ------------------------------------------------------------------------------


def _url(system: ExternalSystem, resource: str) -> str:
    return f"{system.endpoint.rstrip('/')}/{resource}.{system.format}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.now()).total_seconds())


def _exchange(
    system: ExternalSystem,
    method: str,
    resource: str,
    *,
    params: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> tuple[int, bytes, httpx.Headers]:
    """One HTTP exchange; the status, at most MAX_ANSWER bytes of the body and the headers."""
    url = _url(system, resource)
    accept = "application/xml" if system.format == "xml" else "application/json"
    try:
        with (
            httpx.Client(
                timeout=float(system.timeout_seconds),
                # The endpoint's address is checked at connect time (no internal addresses
                # unless listed in CIVITAS_FETCH_ALLOW); tests pass their own transport.
                transport=transport or netguard.transport(),
                trust_env=False,
                follow_redirects=False,
                headers={"Accept": accept},
            ) as http,
            http.stream(method, url, params=params, data=form, headers=headers) as answer,
        ):
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise HandoffError(
                        _("%(system)s answered with more than %(n)d MB")
                        % {"system": system.name, "n": MAX_ANSWER // (1024 * 1024)}
                    )
            return answer.status_code, bytes(body), answer.headers
    except httpx.TimeoutException:
        raise HandoffError(
            _("%(system)s did not answer within %(s)s seconds")
            % {"system": system.name, "s": f"{system.timeout_seconds:g}"}
        ) from None
    except httpx.HTTPError as exc:
        raise HandoffError(
            _("could not reach %(system)s: %(error)s")
            % {"system": system.name, "error": str(exc) or type(exc).__name__}
        ) from None


def _parse(system: ExternalSystem, body: bytes) -> Any:
    """The answer as plain data: JSON as is; XML as a list of dicts of text (one per child of
    the root) — the shape of every GeoReport v2 list."""
    if system.format == "xml":
        try:
            root = SafeET.fromstring(body, forbid_dtd=True)
        except DefusedXmlException as exc:
            raise HandoffError(
                _("%(system)s sent XML we refuse to read (%(why)s)")
                % {"system": system.name, "why": type(exc).__name__}
            ) from None
        except SafeET.ParseError as exc:
            raise HandoffError(
                _("%(system)s sent XML that cannot be read: %(error)s")
                % {"system": system.name, "error": exc}
            ) from None
        return [{child.tag: (child.text or "").strip() for child in item} for item in root]
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HandoffError(
            _("%(system)s sent JSON that cannot be read: %(error)s")
            % {"system": system.name, "error": exc}
        ) from None


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _error_text(system: ExternalSystem, body: bytes) -> str:
    """The descriptions of an Open311 errors document, else the start of the body."""
    try:
        data = _parse(system, body)
    except HandoffError:
        return _snippet(body)
    if isinstance(data, dict):
        data = [data]
    parts = []
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and item.get("description"):
                code = str(item.get("code") or "").strip()
                text = str(item["description"]).strip()
                parts.append(f"{code}: {text}" if code else text)
    return "; ".join(parts) if parts else _snippet(body)


def _checked(system: ExternalSystem, status: int, body: bytes, headers: httpx.Headers) -> Any:
    """The parsed body of a successful answer; HandoffError for any other."""
    if 200 <= status < 300:
        return _parse(system, body)
    text = _error_text(system, body)
    if status == 429 or status >= 500:
        raise HandoffError(
            _("%(system)s answered HTTP %(status)d: %(text)s")
            % {"system": system.name, "status": status, "text": text},
            retry_after=_retry_after(headers.get("Retry-After")),
        )
    raise HandoffError(
        _("%(system)s refused the request (HTTP %(status)d): %(text)s")
        % {"system": system.name, "status": status, "text": text},
        permanent=True,
    )


def _records(system: ExternalSystem, data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise HandoffError(
            _("%(system)s sent an answer that is not a list of records") % {"system": system.name}
        )
    return data


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def post_request(
    system: ExternalSystem,
    appeal: Appeal,
    *,
    idempotency_key: str = "",
    transport: httpx.BaseTransport | None = None,
) -> Created:
    """Create the request at the outside system."""
    form = request_form(system, appeal)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    status, body, answer_headers = _exchange(
        system, "POST", "requests", form=form, headers=headers, transport=transport
    )
    records = _records(system, _checked(system, status, body, answer_headers))
    for record in records:
        created = Created(
            service_request_id=_text(record.get("service_request_id")),
            token=_text(record.get("token")),
            service_notice=_text(record.get("service_notice")),
        )
        if created.service_request_id or created.token:
            return created
    raise HandoffError(
        _("%(system)s answered without a service_request_id or a token") % {"system": system.name}
    )


def get_token(
    system: ExternalSystem, token: str, *, transport: httpx.BaseTransport | None = None
) -> str:
    """Their request id for ``token``; empty while they have not created it yet."""
    params = {"jurisdiction_id": system.jurisdiction_id} if system.jurisdiction_id else None
    status, body, headers = _exchange(
        system, "GET", f"tokens/{token}", params=params, transport=transport
    )
    for record in _records(system, _checked(system, status, body, headers)):
        found = _text(record.get("service_request_id"))
        if found:
            return found
    return ""


def get_requests(
    system: ExternalSystem, ids: list[str], *, transport: httpx.BaseTransport | None = None
) -> dict[str, RemoteStatus]:
    """The status of each of ``ids`` they know, by id (one GET for all)."""
    if not ids:
        return {}
    params = {"service_request_id": ",".join(ids)}
    if system.jurisdiction_id:
        params["jurisdiction_id"] = system.jurisdiction_id
    status, body, headers = _exchange(system, "GET", "requests", params=params, transport=transport)
    out: dict[str, RemoteStatus] = {}
    for record in _records(system, _checked(system, status, body, headers)):
        rid = _text(record.get("service_request_id"))
        if not rid:
            continue
        out[rid] = RemoteStatus(
            service_request_id=rid,
            status=_text(record.get("status")).lower(),
            status_notes=_text(record.get("status_notes")),
            updated_datetime=_text(record.get("updated_datetime")),
            expected_datetime=_text(record.get("expected_datetime")),
        )
    return out
