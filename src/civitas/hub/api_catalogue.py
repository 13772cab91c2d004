"""/api/hub/…: the catalogue. Reading needs ``hub.browse`` (staff of the city; API keys with
``hub:read`` or ``hub:write``); defining datasets and schemas the owner unit's stewards (or its
``hub:write`` key). Errors are CivitasError, answered as ``{"error": {code, message, details}}``
by civitas.api; schema problems list every bad field by row and name."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Router
from ninja import Status as Reply
from ninja.pagination import paginate

from civitas.geo.models import Jurisdiction
from civitas.hub import catalogue, selectors
from civitas.hub.models import Dataset, Field
from civitas.hub.schemas import (
    ERRORS,
    DatasetDetailOut,
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    SchemaIn,
    SchemaVersionOut,
)
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.kit.paging import LimitOffsetPagination, Mapped
from civitas.org import access
from civitas.org.models import Unit

router = Router()


def _actor(request: HttpRequest) -> Any:
    actor = request.auth  # type: ignore[attr-defined]
    if not access.can(actor, "hub.browse"):
        raise Forbidden(
            "the data catalogue is open to the staff of the city and to API keys with the "
            "hub:read or hub:write scope",
            details={"action": "hub.browse"},
        )
    return actor


def _dataset_out(ds: Dataset) -> dict[str, Any]:
    return {
        "code": ds.code,
        "city": ds.city,
        "owner_unit": ds.owner_unit.code,
        "area": ds.jurisdiction.code,
        "title_en": ds.title_en,
        "title_zh": ds.title_zh,
        "description_en": ds.description_en,
        "description_zh": ds.description_zh,
        "keywords": list(ds.keywords),
        "domain": ds.domain,
        "frequency": ds.frequency,
        "sharing": ds.sharing,
        "profile_role": ds.profile_role,
        "profile_field": ds.profile_field,
        "feeds_risk": ds.feeds_risk,
        "record_count": ds.record_count,
        "last_loaded_at": ds.last_loaded_at,
        "active": ds.active,
        "schema_version": ds.schema.number if ds.schema_id and ds.schema else None,
        "version": ds.version,
        "updated_at": ds.updated_at,
    }


def _fields_out(fields: list[Field]) -> list[dict[str, Any]]:
    return [catalogue.field_dict(f) for f in fields]


def _detail(actor: Any, code: str) -> dict[str, Any]:
    ds = selectors.dataset_for(actor, code)
    return {**_dataset_out(ds), "fields": _fields_out(selectors.current_fields(ds))}


def _area(code: str | None) -> Jurisdiction | None:
    if not code:
        return None
    j = Jurisdiction.objects.filter(code=code).first()
    if j is None:
        raise InvalidInput(f"no area {code!r}", details={"field": "area"})
    return j


@router.get("/datasets", response=list[DatasetOut])
@paginate(LimitOffsetPagination)
def list_datasets(
    request: HttpRequest,
    q: str = "",
    domain: str = "",
    sharing: str = "",
    owner: str = "",
    frequency: str = "",
) -> Mapped:
    """The catalogue you may see, by code. ``q`` matches every word in the titles,
    descriptions and keywords (both languages) and the fields' names and labels; ``owner`` is
    a unit code."""
    f = selectors.Filters(q=q, domain=domain, sharing=sharing, owner=owner, frequency=frequency)
    return Mapped(selectors.search(_actor(request), f), _dataset_out)


@router.get("/datasets/{code}", response={200: DatasetDetailOut, **ERRORS})
def get_dataset(request: HttpRequest, code: str) -> dict[str, Any]:
    """One dataset with its current schema's fields."""
    return _detail(_actor(request), code)


@router.get("/datasets/{code}/schemas", response={200: list[SchemaVersionOut], **ERRORS})
def list_schemas(request: HttpRequest, code: str) -> list[dict[str, Any]]:
    """Every version of the dataset's schema, newest first."""
    actor = _actor(request)
    ds = selectors.dataset_for(actor, code)
    return [
        {
            "number": s.number,
            "note": s.note,
            "created_by": s.created_by,
            "created_at": s.created_at,
            "fields": _fields_out(list(s.fields.all())),
        }
        for s in selectors.schema_versions(actor, ds)
    ]


@router.post("/datasets", response={201: DatasetDetailOut, **ERRORS})
def create_dataset(request: HttpRequest, body: DatasetIn) -> Reply[dict[str, Any]]:
    """A new dataset of ``owner_unit`` (its stewards, or its key with ``hub:write``); add its
    schema with PUT …/schema."""
    actor = _actor(request)
    owner = Unit.objects.select_related("jurisdiction").filter(code=body.owner_unit).first()
    if owner is None:
        raise InvalidInput(f"no unit {body.owner_unit!r}", details={"field": "owner_unit"})
    with transaction.atomic():
        ds = catalogue.create_dataset(
            actor,
            owner_unit=owner,
            code=body.code,
            title_en=body.title_en,
            title_zh=body.title_zh,
            description_en=body.description_en,
            description_zh=body.description_zh,
            keywords=body.keywords,
            domain=body.domain,
            frequency=body.frequency,
            sharing=body.sharing,
            jurisdiction=_area(body.area),
            profile_role=body.profile_role,
            profile_field=body.profile_field,
            feeds_risk=body.feeds_risk,
        )
    return Reply(201, _detail(actor, ds.code))


@router.patch("/datasets/{code}", response={200: DatasetDetailOut, **ERRORS})
def update_dataset(request: HttpRequest, code: str, body: DatasetPatch) -> dict[str, Any]:
    """Change what is given (``version`` as last seen); ``active`` false withdraws the dataset
    from the catalogue (``reason`` required), true brings it back."""
    actor = _actor(request)
    ds = selectors.dataset_for(actor, code)
    data = body.model_dump(exclude_unset=True)
    version = data.pop("version")
    active = data.pop("active", None)
    reason = data.pop("reason", "")
    if "area" in data:
        data["jurisdiction"] = _area(data.pop("area"))
    with transaction.atomic():
        if data:
            ds = catalogue.update_dataset(actor, ds, version=version, **data)
            version = ds.version
        if active is False:
            ds = catalogue.deactivate(actor, ds, version=version, reason=reason)
        elif active is True:
            ds = catalogue.reactivate(actor, ds, version=version, reason=reason)
    return _detail(actor, code)


@router.put("/datasets/{code}/schema", response={200: DatasetDetailOut, **ERRORS})
def put_schema(request: HttpRequest, code: str, body: SchemaIn) -> dict[str, Any]:
    """Replace the schema: a new version, current at once (the same fields add nothing).
    Every problem is listed in ``error.details.problems`` with the field's ``index`` and
    ``name`` and the attribute at fault."""
    actor = _actor(request)
    ds = selectors.dataset_for(actor, code)
    with transaction.atomic():
        catalogue.save_schema(
            actor,
            ds,
            [f.model_dump() for f in body.fields],
            note=body.note,
            version=body.version,
        )
    return _detail(actor, code)
