"""The hub's part of an area's profile (一格一档): for one actor and one grid, community or
street, what each shared dataset the actor may read says about the place.

A dataset counts when the actor reads it as the owner (its stewards and deciders: everything,
in clear) or through a grant in force of a unit it acts for whose area covers or overlaps the
place. Only rows inside both the grant's area and the place are counted, so a grant for one
community never tells a street office about the neighbouring one. Beside the number of
records, a ``population`` dataset gives the sum of its profile field (per place its latest
count, when the rows are dated: a monthly count appended each month is not added up) and an
``enterprises`` dataset the number of distinct credit codes, each only when the grant gives
that field in clear: public and internal fields, or a field the owner decided to give in clear
(``clear_fields`` of a grant someone approved; an automatic grant never gives a sensitive or
secret value in clear). A figure is derived from values, and a consumer may not learn from a
sum what the records it reads show masked or withheld.

Every figure read through a grant is a read of the data: it is logged like a page of records
(an :class:`AccessLog` row on the ``profile`` channel with the number of records counted, and
an entry in the audit chain, shaped as ``hub.query`` logs a page of records). The owner's own
view is not a use of a grant and is not logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.db.models import Count, FloatField, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from civitas.geo.models import Jurisdiction
from civitas.hub import rights
from civitas.hub.models import (
    AccessChannel,
    AccessLog,
    Dataset,
    Field,
    FieldType,
    Grant,
    KeyRole,
    ProfileRole,
    Record,
    Sensitivity,
)
from civitas.hub.query import in_area
from civitas.kit import audit
from civitas.org.models import ApiKey, User

NUMERIC = frozenset({FieldType.INTEGER, FieldType.DECIMAL})


@dataclass
class DatasetFigures:
    """What one dataset says about the place, for one reader."""

    dataset: Dataset
    grant: Grant | None  # None: read as the owner
    area: Jurisdiction  # where the rows were counted: the place, or the grant's smaller area
    records: int
    population: int | float | None = None  # sum of the profile field (population datasets)
    as_of: date | None = None  # the latest date of the rows summed, when they have dates
    enterprises: int | None = None  # distinct credit codes (enterprise datasets)
    # Why a population or enterprise figure is missing: "no_field", "field_not_granted",
    # "field_masked" (granted, but masked or withheld: no figure is derived from it).
    missing: str = ""
    log: AccessLog | None = None
    place_path: str = ""

    @property
    def partial(self) -> bool:
        """Counted in a part of the place only (the grant's or the dataset's area is smaller)."""
        return self.area.path != self.place_path


def _meet(*paths: str) -> str | None:
    """The subtree common to jurisdiction subtrees given by their paths (None: disjoint).
    Subtrees are nested or disjoint, so it is the deepest path when each contains the next."""
    ordered = sorted(paths, key=len)
    for outer, inner in pairwise(ordered):
        if not inner.startswith(outer):
            return None
    return ordered[-1]


CLEAR_CLASSES = frozenset({Sensitivity.PUBLIC, Sensitivity.INTERNAL})


def _why_not_clear(grant: Grant | None, field: Field) -> str:
    """Why ``grant`` does not let a figure be derived from ``field`` ("" when it does): the
    field must be granted and its values shown as stored, because a sum or a count of masked
    values would tell what the rows hide. The owner (no grant) reads everything in clear."""
    if grant is None:
        return ""
    if field.name not in (grant.fields or []):
        return "field_not_granted"
    if field.sensitivity in CLEAR_CLASSES:
        return ""
    if not grant.automatic and field.name in (grant.clear_fields or []):
        return ""
    return "field_masked"


def _credit_field(dataset: Dataset) -> Field | None:
    if dataset.schema is None:
        return None
    return dataset.schema.fields.filter(key_role=KeyRole.CREDIT_CODE).order_by("position").first()


def _figure_field(dataset: Dataset) -> Field | None:
    """The field the dataset's profile figure is derived from (None: it has none)."""
    if dataset.profile_role == ProfileRole.ENTERPRISES:
        return _credit_field(dataset)
    if dataset.profile_role != ProfileRole.POPULATION:
        return None
    if dataset.schema is None or not dataset.profile_field:
        return None
    return dataset.schema.fields.filter(name=dataset.profile_field).first()


def _best_grants(actor: Any, place: Jurisdiction) -> dict[int, tuple[Grant, str]]:
    """Per dataset, the grant in force giving the most about ``place``: one that includes the
    profile figure's field first, then the widest part of the place, then the latest expiry."""
    best: dict[int, tuple[tuple[Any, ...], Grant, str]] = {}
    for g in rights.grants_in_force(actor).select_related("dataset__schema"):
        ds = g.dataset
        if ds.city != place.root_code:
            continue
        # The dataset's own area bounds every grant on it.
        inside = _meet(place.path, g.area_path or ds.jurisdiction_path, ds.jurisdiction_path)
        if inside is None:
            continue
        needed = _figure_field(ds)
        gives = needed is not None and not _why_not_clear(g, needed)
        rank = (gives, -len(inside), g.expires_at)
        if ds.pk not in best or rank > best[ds.pk][0]:
            best[ds.pk] = (rank, g, inside)
    return {pk: (g, inside) for pk, (_rank, g, inside) in best.items()}


def readable_datasets(actor: Any, place: Jurisdiction) -> list[tuple[Dataset, Grant | None, str]]:
    """The datasets ``actor`` may count in ``place``: (dataset, grant or None for the owner,
    the path rows are counted under), by title."""
    owned = rights.stewarded_units(actor) | rights.deciding_units(actor)
    out: dict[int, tuple[Dataset, Grant | None, str]] = {}
    if owned:
        for ds in Dataset.objects.filter(
            owner_unit_id__in=owned, active=True, city=place.root_code
        ).select_related("schema", "owner_unit"):
            inside = _meet(place.path, ds.jurisdiction_path)
            if inside is not None:
                out[ds.pk] = (ds, None, inside)
    for pk, (g, inside) in _best_grants(actor, place).items():
        if pk not in out:
            out[pk] = (g.dataset, g, inside)
    return sorted(out.values(), key=lambda t: (t[0].title.lower(), t[0].code))


def _latest_counts(dataset: Dataset, rows: QuerySet[Record]) -> QuerySet[Record]:
    """A count per place repeated over time (a monthly count appended each month) is taken
    once: per place, only the rows of its latest date (rows without a date all count)."""
    latest = (
        Record.objects.filter(
            dataset=dataset,
            jurisdiction_path=OuterRef("jurisdiction_path"),
            occurred_on__isnull=False,
        )
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )
    return rows.filter(Q(occurred_on__isnull=True) | Q(occurred_on=Subquery(latest)))


def _figures(dataset: Dataset, grant: Grant | None, path: str) -> dict[str, Any]:
    rows = Record.objects.filter(in_area(path), dataset=dataset)
    wanted: dict[str, Any] = {"records": Count("pk")}
    out: dict[str, Any] = {"population": None, "enterprises": None, "as_of": None, "missing": ""}
    field = _figure_field(dataset)
    if dataset.profile_role == ProfileRole.NONE:
        pass  # records only
    elif field is None or (
        dataset.profile_role == ProfileRole.POPULATION and field.type not in NUMERIC
    ):
        out["missing"] = "no_field"
    elif why := _why_not_clear(grant, field):
        out["missing"] = why
    elif dataset.profile_role == ProfileRole.POPULATION:
        got = _latest_counts(dataset, rows).aggregate(
            total=Sum(Cast(KeyTextTransform(field.name, "data"), output_field=FloatField())),
            as_of=Max("occurred_on"),
        )
        total = float(got["total"] or 0)
        out["population"] = int(total) if total.is_integer() else total
        out["as_of"] = got["as_of"]
    else:
        wanted["enterprises"] = Count("credit_code", distinct=True, filter=~Q(credit_code=""))
    got = rows.aggregate(**wanted)
    out["records"] = int(got["records"] or 0)
    if "enterprises" in wanted:
        out["enterprises"] = int(got["enterprises"] or 0)
    return out


def _log_profile_read(
    actor: Any, figures: DatasetFigures, place: Jurisdiction, purpose: str
) -> AccessLog:
    """One read through a grant: an AccessLog row and its audit entry, in one transaction."""
    grant = figures.grant
    assert grant is not None
    query = {
        "profile": place.code,
        "area": figures.area.code,
        "figures": [
            k for k in ("records", "population", "enterprises") if getattr(figures, k) is not None
        ],
    }
    with transaction.atomic():
        entry = audit.record(
            actor=actor,
            action="hub.read",
            object_type="hub.dataset",
            object_id=figures.dataset.code,
            reason=purpose or grant.purpose,
            extra={
                "grant": grant.pk,
                "unit": grant.consumer_unit.code,
                "channel": AccessChannel.PROFILE.value,
                "rows": figures.records,
                "case_ref": "",
                "query": query,
            },
        )
        return AccessLog.objects.create(
            at=entry.at,
            dataset=figures.dataset,
            grant=grant,
            unit=grant.consumer_unit,
            user=actor if isinstance(actor, User) else None,
            api_key=actor if isinstance(actor, ApiKey) else None,
            actor=audit.actor_label(actor)[:120],
            channel=AccessChannel.PROFILE,
            purpose=purpose or grant.purpose,
            query=query,
            rows=figures.records,
            audit_seq=entry.seq,
        )


def area_profile(actor: Any, place: Jurisdiction, *, purpose: str = "") -> list[DatasetFigures]:
    """What the shared datasets ``actor`` may read say about ``place``, one entry per dataset;
    each figure read through a grant is logged."""
    chosen = readable_datasets(actor, place)
    paths = {inside for _ds, _g, inside in chosen}
    areas = {j.path: j for j in Jurisdiction.objects.filter(path__in=paths)}
    out = []
    for ds, grant, inside in chosen:
        got = _figures(ds, grant, inside)
        figures = DatasetFigures(
            dataset=ds,
            grant=grant,
            area=areas.get(inside, place),
            records=got["records"],
            population=got["population"],
            enterprises=got["enterprises"],
            as_of=got["as_of"],
            missing=got["missing"],
            place_path=place.path,
        )
        if grant is not None:
            figures.log = _log_profile_read(actor, figures, place, purpose)
        out.append(figures)
    return out
