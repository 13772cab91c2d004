"""The GeoReport v2 endpoints at /open311/v2/ (plain Django views: the standard's answers are
XML documents and bare JSON lists, not the JSON API's envelopes).

Every view answers in the format its extension names; every failure is the standard's error
document with a 4xx status — never an HTML page or a traceback. Reads are public; writes need
an API key with the ``appeals:submit`` scope, given as the ``api_key`` parameter.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from civitas.appeals.models import Appeal
from civitas.kit import clock
from civitas.kit.clientaddr import client_address
from civitas.kit.errors import CivitasError
from civitas.matters.models import Matter
from civitas.open311 import documents, formats, selectors, server
from civitas.open311.models import PendingRequest, ServiceAttribute
from civitas.open311.selectors import Problem
from civitas.org import access
from civitas.org import services as org_services
from civitas.org.models import ApiKey

log = logging.getLogger(__name__)
View = Callable[..., HttpResponse]


def _ip(group: str, request: HttpRequest) -> str:
    return client_address(request) or "unknown"


def _limit(request: HttpRequest, group: str, key: str, rate: str) -> int | None:
    """Seconds to wait when the client is over its rate, else None."""
    usage = get_usage(request, group=group, key=lambda g, r: key, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None


def _too_many(fmt: str, wait: int) -> HttpResponse:
    response = formats.error(
        fmt,
        429,
        _("too many requests; try again in %(seconds)d seconds") % {"seconds": wait},
    )
    response["Retry-After"] = str(wait)
    return response


def endpoint(*methods: str) -> Callable[[View], View]:
    """Method check, GET rate limit per client address, jurisdiction, errors as documents."""

    def wrap(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def inner(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = formats.error(
                    fmt,
                    405,
                    _("%(method)s is not allowed here; use %(allowed)s")
                    % {"method": request.method, "allowed": ", ".join(methods)},
                )
                response["Allow"] = ", ".join(methods)
                return response
            if request.method == "GET":
                wait = _limit(
                    request, "open311.get", _ip("", request), settings.CIVITAS_OPEN311_GET_RATE
                )
                if wait:
                    return _too_many(fmt, wait)
            params = request.GET if request.method == "GET" else _form(request)
            try:
                _no_nul(params, kwargs)
                city = selectors.city_for(_param(params, "jurisdiction_id"))
                response = view(request, fmt, city, params, **kwargs)
            except _Wait as wait:
                response = _too_many(fmt, wait.seconds)
            except Problem as exc:
                response = formats.error(fmt, exc.status, exc.description)
            except (OperationalError, InterfaceError) as exc:  # the database away: retry
                log.warning("open311: database unavailable: %s", type(exc).__name__)
                response = formats.error(
                    fmt, 503, _("the service is briefly unavailable; try again in a few seconds")
                )
                response["Retry-After"] = "5"
            except Exception:
                log.exception("open311 %s %s failed", request.method, request.path)
                response = formats.error(
                    fmt, 500, _("the server failed to answer; the failure has been logged")
                )
            if request.method == "GET":
                response["Access-Control-Allow-Origin"] = "*"
            return response

        return inner

    return wrap


def _no_nul(params: Any, path: dict[str, str]) -> None:
    """NUL cannot be stored (PostgreSQL refuses it) and has no business in a request."""
    for name, values in [*params.lists(), *((k, [v]) for k, v in path.items())]:
        if any("\x00" in v for v in values):
            raise Problem(400, _("%(name)s contains a NUL character") % {"name": name})


def _form(request: HttpRequest) -> Any:
    """A POST's form, with what some clients put in the query string instead (api_key,
    jurisdiction_id) where the form lacks it."""
    form = request.POST.copy()
    for name in request.GET:
        if name not in form:
            form.setlist(name, request.GET.getlist(name))
    return form


def _param(params: Any, name: str) -> str:
    return (params.get(name) or "").strip()


def _int(params: Any, name: str, default: int, low: int, high: int) -> int:
    raw = _param(params, name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(
            400, _("%(name)s must be a whole number: %(value)s") % {"name": name, "value": raw[:20]}
        ) from None
    if not low <= value <= high:
        raise Problem(
            400,
            _("%(name)s must be between %(low)d and %(high)d")
            % {"name": name, "low": low, "high": high},
        )
    return value


def _list(params: Any, name: str) -> list[str]:
    return [v.strip() for v in _param(params, name).split(",") if v.strip()]


def _key(request: HttpRequest, params: Any) -> ApiKey:
    """The API key of a write, which must be allowed to submit appeals."""
    clear = _param(params, "api_key") or request.headers.get("X-Api-Key", "").strip()
    if not clear:
        raise Problem(403, _("api_key is required to write; ask the city for a key"))
    try:
        key = org_services.authenticate_api_key(clear)
    except CivitasError:
        raise Problem(403, _("api_key is not valid (unknown, revoked or expired)")) from None
    if not access.can(key, "appeals.submit"):
        raise Problem(403, _("this api_key may not submit requests (scope appeals:submit)"))
    return key


def _post_limited(request: HttpRequest, key: ApiKey) -> None:
    wait = _limit(request, "open311.post", f"key:{key.pk}", settings.CIVITAS_OPEN311_POST_RATE)
    if wait:
        raise _Wait(wait)


class _Wait(Problem):
    def __init__(self, seconds: int) -> None:
        super().__init__(429, "")
        self.seconds = seconds


# -- discovery and services --------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str, city: str, params: Any) -> HttpResponse:
    changed = Matter.objects.filter(catalogue=city).aggregate(at=Max("updated_at"))["at"]
    base = request.build_absolute_uri("/open311/v2/")
    return formats.render(fmt, "discovery", documents.discovery(base, changed or clock.now()))


@endpoint("GET")
def services(request: HttpRequest, fmt: str, city: str, params: Any) -> HttpResponse:
    listed = selectors.services(city)
    with_attributes = set(
        ServiceAttribute.objects.filter(matter__in=[m for m, _l in listed]).values_list(
            "matter_id", flat=True
        )
    )
    body = [documents.service(m, listing, m.pk in with_attributes) for m, listing in listed]
    return formats.render(fmt, "services", body, item="service")


@endpoint("GET")
def definition(request: HttpRequest, fmt: str, city: str, params: Any, code: str) -> HttpResponse:
    matter, _listing = selectors.service(city, code)
    attributes = list(ServiceAttribute.objects.filter(matter=matter).order_by("order", "code"))
    return formats.render(fmt, "service_definition", documents.definition(matter, attributes))


# -- requests ----------------------------------------------------------------------------------


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str, city: str, params: Any) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt, city, params)
    query = selectors.RequestQuery(
        ids=_list(params, "service_request_id"),
        codes=_list(params, "service_code"),
        start=server.parse_when(_param(params, "start_date"), "start_date"),
        end=server.parse_when(_param(params, "end_date"), "end_date"),
        statuses=_statuses(params),
        updated_after=server.parse_when(_param(params, "updated_after"), "updated_after"),
        updated_before=server.parse_when(_param(params, "updated_before"), "updated_before"),
        page=_int(params, "page", 1, 1, 1_000_000),
        page_size=_int(params, "page_size", selectors.MAX_RESULTS, 1, selectors.MAX_RESULTS),
    )
    return _requests_answer(fmt, selectors.requests(city, query))


def _statuses(params: Any) -> list[str] | None:
    wanted = [s.lower() for s in _list(params, "status")]
    wrong = [s for s in wanted if s not in ("open", "closed")]
    if wrong:
        raise Problem(
            400, _("status is open or closed, not %(status)s") % {"status": ", ".join(wrong)}
        )
    return wanted or None


def _requests_answer(fmt: str, appeals: list[Appeal]) -> HttpResponse:
    notes = selectors.last_public_notes(appeals) if documents.privacy.public_text() else {}
    contacts = documents.contacts_of([a.pk for a in appeals])
    body = [documents.request(a, notes, contacts) for a in appeals]
    return formats.render(fmt, "service_requests", body, item="request")


@endpoint("GET")
def one_request(
    request: HttpRequest, fmt: str, city: str, params: Any, request_id: str
) -> HttpResponse:
    return _requests_answer(fmt, [selectors.find_request(city, request_id)])


def _create(request: HttpRequest, fmt: str, city: str, params: Any) -> HttpResponse:
    key = _key(request, params)
    _post_limited(request, key)
    checked = server.check_request(city, params)
    if checked.batch:
        with transaction.atomic():
            pending = server.defer(city, params, key)
            transaction.on_commit(server.create_pending.enqueue)
        body = [
            {
                "token": pending.token,
                "service_notice": _("Accepted; the request id follows under tokens/%(token)s")
                % {"token": pending.token},
                "account_id": None,
            }
        ]
        return formats.render(fmt, "service_requests", body, item="request", status=201)
    idempotency = request.headers.get("Idempotency-Key", "").strip()
    with transaction.atomic():
        appeal = server.create(checked, key, idempotency)
    appeal.refresh_from_db()
    body = [
        {
            "service_request_id": appeal.ticket,
            "service_notice": documents.notice(appeal),
            "account_id": None,
        }
    ]
    return formats.render(fmt, "service_requests", body, item="request", status=201)


@endpoint("GET")
def token(request: HttpRequest, fmt: str, city: str, params: Any, token: str) -> HttpResponse:
    pending = PendingRequest.objects.filter(token=token, city=city).select_related("appeal").first()
    if pending is None:
        raise Problem(404, _("no token %(token)s") % {"token": token})
    if pending.state == PendingRequest.State.FAILED:
        raise Problem(400, _("the request was refused: %(reason)s") % {"reason": pending.error})
    ticket = pending.appeal.ticket if pending.appeal else None
    body = [{"service_request_id": ticket, "token": pending.token}]
    return formats.render(fmt, "service_requests", body, item="request")


# -- updates (FixMyStreet's extension) ---------------------------------------------------------


@endpoint("GET", "POST")
def updates(request: HttpRequest, fmt: str, city: str, params: Any) -> HttpResponse:
    if request.method == "POST":
        key = _key(request, params)
        _post_limited(request, key)
        ticket = _param(params, "service_request_id")
        if not ticket:
            raise Problem(400, _("service_request_id is required"))
        with transaction.atomic():
            appeal = selectors.find_request(city, ticket)
            server.post_update(appeal, key, params)
            event = appeal.events.order_by("-id").first()
        body = [{"update_id": str(event.pk) if event else ""}]
        return formats.render(fmt, "service_request_updates", body, item="request_update")
    events = selectors.updates(
        city,
        server.parse_when(_param(params, "start_date"), "start_date"),
        server.parse_when(_param(params, "end_date"), "end_date"),
        _list(params, "service_request_id"),
        _int(params, "page", 1, 1, 1_000_000),
        _int(params, "page_size", selectors.MAX_RESULTS, 1, selectors.MAX_RESULTS),
    )
    contacts = documents.contacts_of(list({e.appeal_id for e in events}))
    body = [documents.update(e, contacts) for e in events]
    return formats.render(fmt, "service_request_updates", body, item="request_update")


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    fmt = "json" if rest.endswith(".json") else "xml"
    return formats.error(
        fmt,
        404,
        _("no such Open311 resource: %(path)s; see discovery.xml") % {"path": rest[:100]},
    )
