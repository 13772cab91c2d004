"""Reads of the catalogue, through the one door (``access.readable``, ``hub.browse``).

Staff see the catalogue of their own city; a withdrawn (inactive) dataset only its stewards.
Search matches every word of the query, case-insensitively, in the titles, descriptions and
keywords in both languages and in the current schema's field names and labels. It is plain
``icontains`` so it runs the same on SQLite and PostgreSQL; the catalogue is small (hundreds of
datasets), so no search index is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from civitas.hub import rights
from civitas.hub.models import Dataset, Domain, Field, Frequency, SchemaVersion, Sharing
from civitas.kit.errors import InvalidInput, NotFound
from civitas.org import access
from civitas.org.models import Unit

MAX_QUERY = 200


@dataclass(frozen=True)
class Filters:
    q: str = ""
    domain: str = ""
    sharing: str = ""
    owner: str = ""  # unit code
    frequency: str = ""

    def without(self, name: str) -> Filters:
        return Filters(**{**self.__dict__, name: ""})


def check_filters(f: Filters) -> Filters:
    """Refuse unknown choices, naming the filter (a page shows the message and drops it)."""
    for name, choices in (("domain", Domain), ("sharing", Sharing), ("frequency", Frequency)):
        value = getattr(f, name)
        if value and value not in choices.values:
            raise InvalidInput(
                _("unknown %(filter)s %(value)r; use one of: %(allowed)s")
                % {"filter": name, "value": value, "allowed": ", ".join(choices.values)},
                details={"field": name},
            )
    return f


def visible(actor: Any) -> QuerySet[Dataset]:
    """Every dataset ``actor`` may see in the catalogue."""
    qs = access.readable(actor, Dataset.objects.all())
    stewarded = rights.stewarded_units(actor) if qs.exists() else set()
    return qs.filter(Q(active=True) | Q(owner_unit_id__in=stewarded))


def _term_q(term: str) -> Q:
    # SQLite keeps JSON as text with non-ASCII characters escaped (\uXXXX); PostgreSQL's
    # jsonb keeps them as they are. Matching both spellings finds Chinese keywords on both.
    escaped = json.dumps(term)[1:-1]
    matching_fields = Field.objects.filter(
        Q(name__icontains=term) | Q(label_en__icontains=term) | Q(label_zh__icontains=term)
    ).values("schema_id")
    q = (
        Q(code__icontains=term)
        | Q(title_en__icontains=term)
        | Q(title_zh__icontains=term)
        | Q(description_en__icontains=term)
        | Q(description_zh__icontains=term)
        | Q(keywords__icontains=term)
        | Q(schema_id__in=matching_fields)
    )
    if escaped != term:
        q |= Q(keywords__icontains=escaped)
    return q


def _filtered(actor: Any, f: Filters) -> QuerySet[Dataset]:
    qs = visible(actor)
    for term in f.q.split()[:10]:
        qs = qs.filter(_term_q(term))
    if f.domain:
        qs = qs.filter(domain=f.domain)
    if f.sharing:
        qs = qs.filter(sharing=f.sharing)
    if f.frequency:
        qs = qs.filter(frequency=f.frequency)
    if f.owner:
        qs = qs.filter(owner_unit__code=f.owner)
    return qs


def search(actor: Any, f: Filters | None = None) -> QuerySet[Dataset]:
    """The datasets matching ``f`` that ``actor`` may see, by code (pages and the API slice
    it into pages)."""
    f = check_filters(f or Filters())
    f = Filters(**{**f.__dict__, "q": f.q.strip()[:MAX_QUERY]})
    return (
        _filtered(actor, f).select_related("owner_unit", "jurisdiction", "schema").order_by("code")
    )


def facet_counts(actor: Any, f: Filters, facet: str) -> dict[str, int]:
    """How many datasets each value of ``facet`` (domain, sharing, owner, frequency) would
    show with the other filters kept: the badges beside the facet's links."""
    f = check_filters(f)
    column = {"owner": "owner_unit__code"}.get(facet, facet)
    rows = (
        _filtered(actor, f.without(facet))
        .order_by()
        .values(column)
        .annotate(n=Count("pk", distinct=True))
    )
    return {r[column]: r["n"] for r in rows}


def domain_counts(actor: Any, f: Filters | None = None) -> dict[str, int]:
    return facet_counts(actor, f or Filters(), "domain")


def owners(actor: Any) -> QuerySet[Unit]:
    """Units owning a dataset ``actor`` may see (the owner facet)."""
    ids = visible(actor).values("owner_unit_id")
    return Unit.objects.filter(pk__in=ids).order_by("code")


def dataset_for(actor: Any, code: str) -> Dataset:
    """One dataset by code, or NotFound (the same answer whether it does not exist or may not
    be seen, so codes cannot be probed)."""
    ds = (
        visible(actor)
        .select_related("owner_unit", "jurisdiction", "schema")
        .filter(code=code)
        .first()
    )
    if ds is None:
        raise NotFound(
            _("no dataset %(code)r that you may see") % {"code": code},
            details={"dataset": code},
        )
    return ds


def current_fields(ds: Dataset) -> list[Field]:
    if ds.schema_id is None:
        return []
    return list(Field.objects.filter(schema_id=ds.schema_id).order_by("position"))


def schema_versions(actor: Any, ds: Dataset) -> list[SchemaVersion]:
    """The versions of a dataset's schema, newest first, with their fields. ``ds`` comes from
    ``dataset_for`` (already checked for ``actor``); checked again so a caller cannot skip it."""
    if not visible(actor).filter(pk=ds.pk).exists():
        raise NotFound(_("no dataset %(code)r that you may see") % {"code": ds.code})
    return list(
        SchemaVersion.objects.filter(dataset=ds)
        .order_by("-number")
        .prefetch_related(Prefetch("fields", queryset=Field.objects.order_by("position")))
    )


def may_manage(actor: Any, ds: Dataset) -> bool:
    return rights.is_steward(actor, ds)


def stewarded(actor: Any) -> QuerySet[Unit]:
    """Active units whose datasets ``actor`` may define (for the owner choice of a form)."""
    return Unit.objects.filter(pk__in=rights.stewarded_units(actor), active=True).order_by("code")
