from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from civitas.kit.errors import NotFound
from civitas.kit.paging import LimitOffsetPagination
from civitas.matters import selectors
from civitas.matters.models import Matter
from civitas.matters.schemas import MatterOut

router = Router()


@router.get("/matters", response=list[MatterOut])
@paginate(LimitOffsetPagination)
def list_matters(
    request: HttpRequest,
    catalogue: str = "",
    leaves_only: bool = False,
    search: str = "",
    within: str = "",
) -> object:
    return selectors.matters(
        catalogue=catalogue, leaves_only=leaves_only, search=search, within=within
    )


@router.get("/matters/{code}", response=MatterOut)
def get_matter(request: HttpRequest, code: str) -> Matter:
    m = selectors.get_matter(code)
    if m is None:
        raise NotFound(f"no matter with code {code!r}")
    return m
