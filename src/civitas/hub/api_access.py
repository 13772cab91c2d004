"""/api/hub/…: records through grants, grants themselves, and who used a dataset.

A consumer unit's machine reads with an API key of the unit holding the ``hub:read`` scope;
people read with their session (CSRF-checked on writes). Every read, answered or refused, is
logged by ``hub.query``. Errors are CivitasError, answered as ``{"error": {code, message,
details}}`` by civitas.api: 403 (no grant, field or area not granted), 404, 409 (a grant
changed meanwhile, or a move its status does not allow), 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.geo.models import Jurisdiction
from civitas.hub import api_ingest, grants, query
from civitas.hub.models import AccessChannel, AccessLog, Dataset, Grant
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination, Mapped
from civitas.org import access
from civitas.org.models import ApiKey, Unit

router = Router()

# Query parameters of the records endpoint that are not filters on fields.
RESERVED = frozenset({"grant", "area", "after", "page_size", "purpose", "case", "count"})


class ErrorOut(Schema):
    error: dict[str, Any]


ERRORS: dict[Any, Any] = {frozenset({401, 403, 404, 409, 422}): ErrorOut}


class FieldOut(Schema):
    name: str
    label: str
    type: str
    sensitivity: str
    masked: bool


class RecordsOut(Schema):
    dataset: str
    grant: int | None
    fields: list[FieldOut]
    rows: list[dict[str, Any]]
    next_after: int | None
    total: int | None


class GrantOut(Schema):
    id: int
    dataset: str
    dataset_title: str
    owner: str
    consumer: str
    consumer_name: str
    fields: list[str]
    clear_fields: list[str]
    area: str | None
    purpose: str
    legal_basis: str
    expires_at: datetime
    status: str
    in_force: bool
    automatic: bool
    requested_by: str
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None
    reason: str
    version: int


class GrantIn(Schema):
    dataset: str
    consumer: str = ""  # unit code; the one unit you ask for when empty
    fields: list[str]
    clear_fields: list[str] = []
    area: str = ""
    purpose: str
    legal_basis: str
    expires_at: datetime


class GrantActionIn(Schema):
    version: int
    reason: str = ""
    note: str = ""


class AccessOut(Schema):
    id: int
    at: datetime
    actor: str
    unit: str | None
    grant: int | None
    channel: str
    purpose: str
    case_ref: str
    query: dict[str, Any]
    rows: int
    refused: str | None
    audit_seq: int | None


class UnitUsageOut(Schema):
    unit: str | None
    unit_name: str
    reads: int
    rows: int
    refused: int
    last_at: datetime | None


class UsageOut(Schema):
    dataset: str
    by_unit: list[UnitUsageOut]
    count: int
    items: list[AccessOut]


def _dataset(code: str) -> Dataset:
    ds = (
        Dataset.objects.select_related("owner_unit", "owner_unit__jurisdiction", "jurisdiction")
        .filter(code=code, active=True)
        .first()
    )
    if ds is None:
        raise NotFound(f"no dataset {code!r} in the hub", details={"dataset": code})
    return ds


def _grant_out(g: Grant) -> dict[str, Any]:
    return {
        "id": g.pk,
        "dataset": g.dataset.code,
        "dataset_title": g.dataset.title,
        "owner": g.dataset.owner_unit.code,
        "consumer": g.consumer_unit.code,
        "consumer_name": g.consumer_unit.name,
        "fields": list(g.fields),
        "clear_fields": list(g.clear_fields),
        "area": g.area.code if g.area_id and g.area else None,
        "purpose": g.purpose,
        "legal_basis": g.legal_basis,
        "expires_at": g.expires_at,
        "status": g.status,
        "in_force": g.in_force(),
        "automatic": g.automatic,
        "requested_by": g.requested_by,
        "requested_at": g.requested_at,
        "decided_by": g.decided_by,
        "decided_at": g.decided_at,
        "reason": g.reason,
        "version": g.version,
    }


def _access_out(a: AccessLog) -> dict[str, Any]:
    return {
        "id": a.pk,
        "at": a.at,
        "actor": a.actor,
        "unit": a.unit.code if a.unit_id and a.unit else None,
        "grant": a.grant_id,
        "channel": a.channel,
        "purpose": a.purpose,
        "case_ref": a.case_ref,
        "query": a.query,
        "rows": a.rows,
        "refused": (a.query or {}).get("refused"),
        "audit_seq": a.audit_seq,
    }


def _int(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
        if not 0 < value < 2**63:
            raise ValueError(raw)
        return value
    except ValueError:
        raise InvalidInput(
            f"{name}: a whole number, not {raw!r}", details={"field": name}
        ) from None


# -- records ---------------------------------------------------------------------------------


def records(request: HttpRequest, code: str) -> dict[str, Any]:
    """One page of the records your unit's grant gives: only the granted fields, only rows in
    the grant's area, values masked unless granted in clear. Parameters: ``grant`` (id; your
    grant in force when omitted), ``area`` (a jurisdiction code inside the grant's area),
    ``after`` (``next_after`` of the previous page), ``page_size`` (≤ 500), ``purpose`` (or
    the ``X-Civitas-Purpose`` header), ``case`` (your case reference, or ``X-Civitas-Case``),
    ``count=1`` (also count the matching rows); any other parameter is an exact filter on a
    field granted and shown in clear (``?result=fail``)."""
    actor = request.auth  # type: ignore[attr-defined]
    ds = _dataset(code)
    filters = {str(k): str(v) for k, v in request.GET.items() if k not in RESERVED}
    page_size = _int(request, "page_size") or 100
    page = query.read(
        actor,
        ds,
        grant=_int(request, "grant"),
        area=request.GET.get("area", "").strip() or None,
        filters=filters,
        after=_int(request, "after"),
        page_size=page_size,
        purpose=request.GET.get("purpose", "") or request.headers.get("X-Civitas-Purpose", ""),
        case_ref=request.GET.get("case", "") or request.headers.get("X-Civitas-Case", ""),
        channel=AccessChannel.API,
        count=request.GET.get("count", "") in ("1", "true", "yes"),
    )
    return {
        "dataset": ds.code,
        "grant": page.grant.pk if page.grant else None,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "sensitivity": f.sensitivity,
                "masked": f.name in page.masked,
            }
            for f in page.fields
        ],
        "rows": page.rows,
        "next_after": page.next_after,
        "total": page.total,
    }


# One path, two methods: pushing records (api_ingest, POST) and reading them (here, GET).
# Django resolves a path to the first router that declares it, so the read is declared on
# the push's router, where both methods share one view.
api_ingest.router.add_api_operation(
    "datasets/{code}/records", ["GET"], records, response={200: RecordsOut, **ERRORS}
)


@router.get("/datasets/{code}/usage", response={200: UsageOut, **ERRORS})
def dataset_usage(
    request: HttpRequest,
    code: str,
    unit: str = "",
    grant: int | None = None,
    channel: str = "",
    since: str = "",
    until: str = "",
    refused: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Who used the dataset (for its owner's deciders and for auditors): reads and refused
    attempts, newest first, and the counts per consumer unit."""
    actor = request.auth  # type: ignore[attr-defined]
    ds = _dataset(code)
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidInput("limit: 1 to 500; offset: 0 or more", details={"field": "limit"})
    u = query.usage(
        actor,
        ds,
        {
            "unit": unit,
            "grant": grant,
            "channel": channel,
            "since": since,
            "until": until,
            "refused": refused,
        },
    )
    return {
        "dataset": ds.code,
        "by_unit": [
            {
                "unit": x.unit.code if x.unit else None,
                "unit_name": x.unit.name if x.unit else "",
                "reads": x.reads,
                "rows": x.rows,
                "refused": x.refused,
                "last_at": x.last_at,
            }
            for x in u.by_unit
        ],
        "count": u.log.count(),
        "items": [_access_out(a) for a in u.log[offset : offset + limit]],
    }


# -- grants ----------------------------------------------------------------------------------


def _require_browse(actor: Any) -> None:
    access.require(actor, "hub.browse")


@router.get("/grants", response=list[GrantOut])
@paginate(LimitOffsetPagination)
def list_grants(
    request: HttpRequest,
    side: str = "",
    status: str = "",
    dataset: str = "",
    consumer: str = "",
) -> Mapped:
    """The grants you may see, newest first: ``side=consumer`` your units' grants,
    ``side=owner`` grants on your units' datasets; ``status`` a comma-separated list;
    ``dataset`` and ``consumer`` codes."""
    actor = request.auth  # type: ignore[attr-defined]
    _require_browse(actor)
    ds = _dataset(dataset) if dataset else None
    unit = None
    if consumer:
        unit = Unit.objects.filter(code=consumer).first()
        if unit is None:
            raise InvalidInput(f"consumer: no unit {consumer!r}", details={"field": "consumer"})
    qs = grants.visible(actor, side=side, status=status, dataset=ds, consumer=unit)
    return Mapped(qs, _grant_out)


@router.get("/grants/{pk}", response={200: GrantOut, **ERRORS})
def get_grant(request: HttpRequest, pk: int) -> dict[str, Any]:
    return _grant_out(grants.get_visible(request.auth, pk))  # type: ignore[attr-defined]


@router.post("/grants", response={201: GrantOut, **ERRORS})
def request_grant(request: HttpRequest, body: GrantIn) -> Reply[dict[str, Any]]:
    """Ask for fields of a dataset for your unit (people only; a key cannot ask). Approved at
    once when the dataset is shared unconditionally, your unit is a government body and no
    sensitive or secret field is asked for in clear."""
    from civitas.hub import rights

    actor = request.auth  # type: ignore[attr-defined]
    ds = _dataset(body.dataset)
    if not access.readable(actor, Dataset.objects.filter(pk=ds.pk)).exists():
        raise NotFound(f"no dataset {body.dataset!r} in the hub", details={"dataset": body.dataset})
    if body.consumer:
        unit = Unit.objects.filter(code=body.consumer).first()
        if unit is None:
            raise InvalidInput(
                f"consumer: no unit {body.consumer!r}", details={"field": "consumer"}
            )
    else:
        mine = sorted(rights.requesting_units(actor)) if not isinstance(actor, ApiKey) else []
        if len(mine) != 1:
            raise InvalidInput(
                "consumer: name the unit you ask for (its code)", details={"field": "consumer"}
            )
        unit = Unit.objects.get(pk=mine[0])
    area = None
    if body.area:
        area = Jurisdiction.objects.filter(code=body.area).first()
        if area is None:
            raise InvalidInput(f"area: no area {body.area!r}", details={"field": "area"})
    g = grants.request_grant(
        actor,
        ds,
        consumer=unit,
        fields=body.fields,
        clear_fields=body.clear_fields,
        area=area,
        purpose=body.purpose,
        legal_basis=body.legal_basis,
        expires_at=body.expires_at,
    )
    return Reply(201, _grant_out(grants.get_visible(actor, g.pk)))


@router.post("/grants/{pk}/{action}", response={200: GrantOut, **ERRORS})
def act_on_grant(request: HttpRequest, pk: int, action: str, body: GrantActionIn) -> dict[str, Any]:
    """``approve`` (note), ``refuse`` (reason), ``revoke`` (reason) by the owner's deciders;
    ``withdraw`` by the consumer. Send the ``version`` you saw: a clash is refused (409)."""
    actor = request.auth  # type: ignore[attr-defined]
    g = grants.get_visible(actor, pk)
    if action == "approve":
        grants.approve(actor, g, version=body.version, note=body.note)
    elif action == "refuse":
        grants.refuse(actor, g, version=body.version, reason=body.reason)
    elif action == "revoke":
        grants.revoke(actor, g, version=body.version, reason=body.reason)
    elif action == "withdraw":
        grants.withdraw(actor, g, version=body.version)
    else:
        raise NotFound(f"no grant action {action!r}; use approve, refuse, revoke or withdraw")
    return _grant_out(grants.get_visible(actor, pk))
