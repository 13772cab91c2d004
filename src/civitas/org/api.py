"""Units, people, the responsibility list and the audit chain, each narrowed to the caller."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from civitas.kit import audit
from civitas.kit.errors import NotFound
from civitas.kit.paging import LimitOffsetPagination
from civitas.org import access, selectors
from civitas.org.models import ApiKey, Unit
from civitas.org.schemas import (
    AuditEntryOut,
    AuditVerifyOut,
    MeOut,
    PersonOut,
    ResponsibilityOut,
    UnitOut,
)

router = Router()


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, Any]:
    actor = request.auth  # type: ignore[attr-defined]
    scope = access.scope_of(actor)
    return {
        "kind": "api_key" if isinstance(actor, ApiKey) else "person",
        "name": str(actor),
        "roles": sorted(scope.roles),
        "actions": sorted(scope.actions),
        "scope_paths": list(scope.paths),
        "everything": scope.everything,
    }


@router.get("/units", response=list[UnitOut])
@paginate(LimitOffsetPagination)
def list_units(request: HttpRequest, search: str = "", kind: str = "", city: str = "") -> object:
    return selectors.units(request.auth, search=search, kind=kind, city=city)  # type: ignore[attr-defined]


@router.get("/units/{code}", response=UnitOut)
def get_unit(request: HttpRequest, code: str) -> Unit:
    unit = selectors.units(request.auth).filter(code=code).first()  # type: ignore[attr-defined]
    if unit is None:
        raise NotFound(f"no unit {code!r} that you may see")
    return unit


@router.get("/people", response=list[PersonOut])
@paginate(LimitOffsetPagination)
def list_people(request: HttpRequest, search: str = "") -> object:
    return selectors.people(request.auth, search=search).prefetch_related(  # type: ignore[attr-defined]
        "memberships__unit"
    )


@router.get("/responsibilities", response=list[ResponsibilityOut])
@paginate(LimitOffsetPagination)
def list_responsibilities(request: HttpRequest, city: str = "", matter: str = "") -> object:
    return selectors.responsibilities(request.auth, city=city, matter=matter)  # type: ignore[attr-defined]


@router.get("/audit/verify", response=AuditVerifyOut, tags=["audit"])
def verify_audit(request: HttpRequest) -> object:
    access.require(request.auth, "audit.read")  # type: ignore[attr-defined]
    return audit.verify()


@router.get("/audit/entries", response=list[AuditEntryOut], tags=["audit"])
@paginate(LimitOffsetPagination)
def list_audit(request: HttpRequest, object_type: str = "", object_id: str = "") -> object:
    return selectors.audit_entries(
        request.auth,  # type: ignore[attr-defined]
        object_type=object_type,
        object_id=object_id,
    )
