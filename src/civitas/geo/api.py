"""Jurisdictions, locate and the gazetteer: reference data for every signed-in person and for
API keys with the reference:read scope (checked where the API is composed, civitas.api)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from civitas.geo import selectors
from civitas.geo.gazetteer import gazetteer
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.geo.schemas import (
    GazetteerOut,
    JurisdictionDetail,
    JurisdictionOut,
    LevelOut,
    LocateOut,
    MentionOut,
)
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.paging import LimitOffsetPagination

router = Router()


@router.get("/levels", response=list[LevelOut])
def list_levels(request: HttpRequest) -> list[object]:
    return list(selectors.levels())


@router.get("/jurisdictions", response=list[JurisdictionOut])
@paginate(LimitOffsetPagination)
def list_jurisdictions(
    request: HttpRequest, level: str = "", within: str = "", search: str = ""
) -> object:
    return selectors.jurisdictions(level=level, within=within, search=search)


@router.get("/jurisdictions/{code}", response=JurisdictionDetail)
def get_jurisdiction(request: HttpRequest, code: str) -> Jurisdiction:
    j = selectors.get_jurisdiction(code)
    if j is None:
        raise NotFound(f"no jurisdiction with code {code!r}")
    return j


@router.get("/locate", response=LocateOut)
def locate_point(request: HttpRequest, lat: float = Query(...), lon: float = Query(...)) -> dict:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(
            "lat must be within [-90, 90] and lon within [-180, 180]",
            details={"lat": lat, "lon": lon},
        )
    hit = locate(lat, lon)
    if hit is None:
        return {"found": False}
    return {
        "found": True,
        "jurisdiction": hit.jurisdiction.as_dict(),
        "ancestors": [p.as_dict() for p in hit.ancestors],
        "overlays": [p.as_dict() for p in hit.overlays],
    }


@router.get("/gazetteer", response=GazetteerOut)
def find_places(request: HttpRequest, text: str = Query(..., max_length=4000)) -> dict:
    g = gazetteer()
    mentions = g.find(text)
    best = g.best(text)

    def out(m: object) -> MentionOut:
        return MentionOut.model_validate(m, from_attributes=True)

    return {"best": out(best) if best else None, "mentions": [out(m) for m in mentions]}
