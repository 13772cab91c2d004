"""Reading records: only through a grant in force (or as the owner), only the granted fields
and rows, masked by sensitivity, and every read logged (AccessLog + audit chain).

A page is one indexed query: the records of the dataset inside the area, in the order of the
``hub_rec_area`` index (area path, then id), from the keyset cursor on. The cursor is the id
of the last record of the previous page; its area path is looked up (one primary-key read) so
the next page starts exactly there in the index. Refused reads are logged too, so the owner
sees who tried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.hub import keys, rights
from civitas.hub.masking import WITHHELD, mask
from civitas.hub.models import (
    AccessChannel,
    AccessLog,
    Dataset,
    Field,
    FieldType,
    Grant,
    GrantStatus,
    KeyRole,
    Record,
    Sensitivity,
)
from civitas.kit import audit, clock
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.org import access
from civitas.org.models import ApiKey, Unit, User

MAX_PAGE = 500


@dataclass
class Page:
    dataset: Dataset
    grant: Grant | None  # None when the owner reads its own data
    fields: list[Field]  # the columns shown, in schema order
    rows: list[dict[str, Any]]  # {"id": record id, "area": code or "", <field>: value, ...}
    total: int | None  # rows matching (None when not counted)
    next_after: int | None  # keyset cursor for the next page
    log: AccessLog | None = None
    masked: set[str] = field(default_factory=set)  # fields shown masked


# -- the area as an index range -------------------------------------------------------------

_binary_collation: dict[str, bool] = {}


def _paths_compare_bytewise() -> bool:
    """Whether text compares byte by byte (SQLite; PostgreSQL with the C collation), so that
    an area's subtree is exactly the range [path, path with its last "/" raised to "0")."""
    alias = connection.alias
    if alias not in _binary_collation:
        if connection.vendor != "postgresql":
            _binary_collation[alias] = connection.vendor == "sqlite"
        else:
            with connection.cursor() as cur:
                cur.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
                row = cur.fetchone()
            name = str(row[0] if row else "").lower()
            _binary_collation[alias] = name in {"c", "posix", "c.utf-8", "c.utf8", "ucs_basic"}
    return _binary_collation[alias]


def in_area(path: str) -> Q:
    """Records whose area lies in the subtree at ``path`` (paths end with "/")."""
    if _paths_compare_bytewise() and path.endswith("/"):
        return Q(jurisdiction_path__gte=path, jurisdiction_path__lt=path[:-1] + "0")
    return Q(jurisdiction_path__startswith=path)


def from_cursor(qs: QuerySet[Record], path: str, start: str, after: int) -> QuerySet[Record]:
    """``qs`` inside the area at ``path`` (or everywhere when empty), after the record
    ``after`` whose area path is ``start``, in (area path, id) order. The index range begins
    at the cursor, not at the start of the area: a deep page reads no more of the index than
    the first one (SQLite does not start a range scan from a row value, so it is spelled
    out there)."""
    if path and _paths_compare_bytewise() and path.endswith("/"):
        lower, upper = max(path, start), path[:-1] + "0"
        qs = qs.filter(jurisdiction_path__gte=lower, jurisdiction_path__lt=upper)
    else:
        qs = qs.filter(in_area(path) if path else Q(), jurisdiction_path__gte=start)
    if connection.vendor == "postgresql":
        return qs.filter(TupleGreaterThan(Tuple(F("jurisdiction_path"), F("id")), (start, after)))
    # With the path at least ``start``, this is (path, id) > (start, after).
    return qs.filter(Q(jurisdiction_path__gt=start) | Q(id__gt=after))


def _area_code(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if path else ""


# -- who reads through what -----------------------------------------------------------------


@dataclass
class Access:
    grant: Grant | None
    owner: bool
    unit: Unit | None
    fields: list[Field]
    clear: set[str]
    base_path: str  # "" for the whole dataset


def _schema_fields(dataset: Dataset) -> list[Field]:
    if not dataset.schema_id:
        return []
    return list(Field.objects.filter(schema_id=dataset.schema_id).order_by("position"))


def _actor_unit(actor: Any) -> Unit | None:
    if isinstance(actor, ApiKey):
        return actor.unit
    units = rights.acting_units(actor)
    if len(units) == 1:
        return Unit.objects.filter(pk=next(iter(units))).first()
    return None


def may_read_as_owner(actor: Any, dataset: Dataset) -> bool:
    """The owner's stewards and deciders read their own data; a key of the owner unit reads
    it only with the ``hub:read`` scope (``hub:write`` is for pushing records)."""
    if isinstance(actor, ApiKey):
        return actor.unit_id == dataset.owner_unit_id and bool(rights.acting_units(actor))
    return rights.is_steward(actor, dataset) or rights.is_decider(actor, dataset)


def _resolve(actor: Any, dataset: Dataset, grant: Grant | int | None) -> Access:
    fields = _schema_fields(dataset)
    if grant is None and may_read_as_owner(actor, dataset):
        return Access(
            grant=None,
            owner=True,
            unit=dataset.owner_unit,
            fields=fields,
            clear={f.name for f in fields},
            base_path="",
        )
    in_force = rights.grants_in_force(actor, dataset)
    if grant is not None:
        pk = grant.pk if isinstance(grant, Grant) else int(grant)
        found = in_force.filter(pk=pk).first()
        if found is None:
            why = Grant.objects.filter(pk=pk, dataset=dataset).first()
            raise Forbidden(
                _("grant %(id)s gives you no access to %(dataset)s now (%(why)s)")
                % {
                    "id": pk,
                    "dataset": dataset.code,
                    "why": _why_not(why, actor),
                },
                code="grant_not_in_force",
                details={"field": "grant", "grant": pk},
            )
    else:
        found = in_force.order_by("-decided_at", "-pk").first()
        if found is None:
            raise Forbidden(
                _(
                    "you hold no grant in force on %(dataset)s; ask its owner %(owner)s for one "
                    "(request a grant)"
                )
                % {"dataset": dataset.code, "owner": dataset.owner_unit.code},
                code="no_grant",
                details={"dataset": dataset.code},
            )
    granted = set(found.fields)
    return Access(
        grant=found,
        owner=False,
        unit=found.consumer_unit,
        fields=[f for f in fields if f.name in granted],
        clear=set(found.clear_fields) & granted,
        # The area as it is now (a subtree moved since the grant keeps its grant).
        base_path=found.area.path if found.area_id and found.area else "",
    )


def _why_not(grant: Grant | None, actor: Any) -> str:
    if grant is None:
        return _("no such grant on this dataset")
    if grant.consumer_unit_id not in rights.acting_units(actor):
        return _("it is held by another unit, or your key lacks the hub:read scope")
    if grant.status != GrantStatus.APPROVED:
        return grant.get_status_display()
    if grant.expires_at <= clock.now():
        return _("expired on %(at)s") % {"at": grant.expires_at.isoformat(timespec="minutes")}
    return _("the dataset is withdrawn")


# -- filters ---------------------------------------------------------------------------------


def _typed(f: Field, raw: str) -> Any:
    text = str(raw).strip()
    try:
        if f.type == FieldType.INTEGER:
            return int(text)
        if f.type == FieldType.DECIMAL:
            return float(Decimal(text))
        if f.type == FieldType.BOOLEAN:
            low = text.lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if f.type == FieldType.DATE:
            return dt.date.fromisoformat(text).isoformat()
    except (ValueError, InvalidOperation):
        raise InvalidInput(
            _("%(field)s: %(value)r is not a %(type)s")
            % {"field": f.name, "value": text, "type": f.get_type_display()},
            details={"field": f.name},
        ) from None
    return text


def _shows_clear(f: Field, clear: set[str]) -> bool:
    """Whether the consumer sees this field's values as stored (so filtering on them tells it
    nothing it does not see anyway)."""
    return (
        f.name in clear
        or f.sensitivity in (Sensitivity.PUBLIC, Sensitivity.INTERNAL)
        or f.key_role == KeyRole.PERSON_ID  # pseudonymous keys are shown as they are
    )


def _loggable(value: str) -> str:
    """What the log keeps of a filter value: never an identity number typed in clear (the
    audit chain cannot be cleaned), its pseudonymous key instead."""
    try:
        return f"[identity number {keys.person_key(value)}]"
    except ValueError:
        return value[:200]


def _filter_q(acc: Access, filters: dict[str, str]) -> Q:
    by_name = {f.name: f for f in acc.fields}
    q = Q()
    for name, raw in sorted(filters.items()):
        f = by_name.get(name)
        if f is None:
            raise Forbidden(
                _("you may filter only on fields granted to you; %(field)s is not one of them")
                % {"field": name},
                code="field_not_granted",
                details={"field": name},
            )
        if not _shows_clear(f, acc.clear):
            raise Forbidden(
                _(
                    "%(field)s is shown to you masked, so you may not filter on it; ask for "
                    "it in clear"
                )
                % {"field": name},
                code="field_masked",
                details={"field": name},
            )
        value = _typed(f, raw)
        q &= Q(**{f"data__{name}": value})
        if f.key_role == KeyRole.CREDIT_CODE:
            q &= Q(credit_code=str(value).upper())
        elif f.key_role == KeyRole.PERSON_ID:
            q &= Q(person_key=str(value))
    return q


# -- masking ----------------------------------------------------------------------------------


def _withhold(value: Any) -> Any:
    return None if value is None or value == "" else WITHHELD


def _maskers(acc: Access) -> tuple[list[tuple[str, Callable[[Any], Any] | None]], set[str]]:
    """For each shown field: its name and the function that masks it (None: shown as is)."""
    out: list[tuple[str, Callable[[Any], Any] | None]] = []
    masked: set[str] = set()
    for f in acc.fields:
        if acc.owner and f.key_role == KeyRole.PERSON_ID:
            # The owner loaded the numbers; showing it their keys would let any steward load
            # guessed numbers and read back the keys other units see through their grants.
            masked.add(f.name)
            out.append((f.name, _withhold))
            continue
        if f.name in acc.clear or f.sensitivity in (Sensitivity.PUBLIC, Sensitivity.INTERNAL):
            out.append((f.name, None))
            continue
        masked.add(f.name)

        def fn(value: Any, s: str = f.sensitivity, r: str = f.key_role) -> Any:
            return mask(value, sensitivity=s, key_role=r)

        out.append((f.name, fn))
    return out, masked


# -- reading ----------------------------------------------------------------------------------


def _log(
    actor: Any,
    dataset: Dataset,
    *,
    action: str,
    grant: Grant | None,
    unit: Unit | None,
    channel: str,
    purpose: str,
    case_ref: str,
    query: dict[str, Any],
    rows: int,
    reason: str = "",
) -> AccessLog:
    with transaction.atomic():
        entry = audit.record(
            actor=actor,
            action=action,
            object_type="hub.dataset",
            object_id=dataset.code,
            reason=reason,
            extra={
                "grant": grant.pk if grant else None,
                "unit": unit.code if unit else None,
                "channel": channel,
                "rows": rows,
                "case_ref": case_ref,
                "query": query,
            },
        )
        return AccessLog.objects.create(
            at=entry.at,
            dataset=dataset,
            grant=grant,
            unit=unit,
            user=actor if isinstance(actor, User) else None,
            api_key=actor if isinstance(actor, ApiKey) else None,
            actor=audit.actor_label(actor)[:120],
            channel=channel,
            purpose=purpose,
            case_ref=case_ref[:120],
            query=query,
            rows=rows,
            audit_seq=entry.seq,
        )


def read(
    actor: Any,
    dataset: Dataset,
    *,
    grant: Grant | int | None = None,
    area: str | None = None,
    filters: dict[str, str] | None = None,
    after: int | None = None,
    page_size: int = 100,
    purpose: str = "",
    case_ref: str = "",
    channel: str = AccessChannel.PAGE,
    count: bool = False,
) -> Page:
    """One page of records of ``dataset`` for ``actor``.

    ``grant`` is one of the actor's grants in force on the dataset (the first such grant when
    None); an owner's steward or decider without a grant reads everything in clear
    (channel ``owner``). ``area`` (a jurisdiction code) narrows inside the grant's area;
    ``filters`` are exact matches on granted fields. Raises Forbidden (no grant, grant not in
    force, a field not granted in ``filters``, an area outside the grant) and InvalidInput.
    Logs the read with the query and the number of rows, even when it returns none.
    ``count`` adds the number of matching rows (one more query; pages ask for it on the first
    page only). Rows come in the order of the area index (area path, then id); ``after`` is
    the ``next_after`` of the previous page."""
    filters = {str(k): str(v) for k, v in (filters or {}).items()}
    purpose, case_ref = (purpose or "").strip(), (case_ref or "").strip()
    query: dict[str, Any] = {
        "grant": grant.pk if isinstance(grant, Grant) else grant,
        "area": area or "",
        "filters": {k: _loggable(v) for k, v in filters.items()},
        "after": after,
        "page_size": page_size,
    }
    for name, value in (("after", after), ("grant", query["grant"])):
        if value is not None and not 0 < int(value) < 2**63:
            raise InvalidInput(
                _("%(field)s: %(value)s is no record or grant number")
                % {"field": name, "value": value},
                details={"field": name},
            )
    if not 1 <= int(page_size) <= MAX_PAGE:
        raise InvalidInput(
            _("page_size: choose between 1 and %(max)s rows") % {"max": MAX_PAGE},
            details={"field": "page_size"},
        )
    acc: Access | None = None
    try:
        if not dataset.active:
            raise Forbidden(
                _("%(dataset)s is withdrawn from the hub") % {"dataset": dataset.code},
                code="dataset_withdrawn",
            )
        acc = _resolve(actor, dataset, grant)
        if acc.owner:
            channel = AccessChannel.OWNER
        path = acc.base_path
        if area:
            place = Jurisdiction.objects.filter(code=area).only("path", "code").first()
            if place is None:
                raise InvalidInput(
                    _("area: no area with the code %(code)s") % {"code": area},
                    details={"field": "area"},
                )
            if path and not place.path.startswith(path):
                raise Forbidden(
                    _("area: %(code)s lies outside the area of your grant (%(granted)s)")
                    % {"code": area, "granted": _area_code(path)},
                    code="area_not_granted",
                    details={"field": "area"},
                )
            path = place.path
        condition = Q(dataset_id=dataset.pk) & _filter_q(acc, filters)
    except Forbidden as exc:
        _log(
            actor,
            dataset,
            action="hub.read_refused",
            grant=acc.grant if acc else None,
            unit=acc.unit if acc else _actor_unit(actor),
            channel=channel,
            purpose=purpose,
            case_ref=case_ref,
            query={**query, "refused": exc.code},
            rows=0,
            reason=exc.message,
        )
        raise

    qs = Record.objects.filter(condition)
    scoped = qs.filter(in_area(path)) if path else qs
    total = scoped.count() if count else None
    page_qs = scoped
    if after is not None:
        start = (
            Record.objects.filter(pk=int(after), dataset_id=dataset.pk)
            .values_list("jurisdiction_path", flat=True)
            .first()
        )
        if start is None:
            raise InvalidInput(
                _("after: %(id)s is not a record of %(dataset)s; use next_after of a page")
                % {"id": after, "dataset": dataset.code},
                details={"field": "after"},
            )
        page_qs = from_cursor(qs, path, start, int(after))
    got = list(
        page_qs.order_by("jurisdiction_path", "id").values_list(
            "id", "jurisdiction_path", "data", "jurisdiction_id"
        )[: int(page_size) + 1]
    )
    more = len(got) > page_size
    got = got[:page_size]
    cursor = got[-1][0] if more and got else None
    if path:
        # Records keep the area path they were loaded with; a place moved out of the area
        # since then is outside it now (one look at the page's few places, not a join).
        places = {r[3] for r in got if r[3] is not None}
        now_inside = {
            pk
            for pk, place_path in Jurisdiction.objects.filter(pk__in=places).values_list(
                "pk", "path"
            )
            if place_path.startswith(path)
        }
        got = [r for r in got if r[3] in now_inside]
    maskers, masked = _maskers(acc)
    rows: list[dict[str, Any]] = []
    for pk, rpath, data, _place in got:
        row: dict[str, Any] = {"id": pk, "area": _area_code(rpath)}
        for name, fn in maskers:
            value = data.get(name)
            row[name] = fn(value) if fn is not None else value
        rows.append(row)
    log = _log(
        actor,
        dataset,
        action="hub.read",
        grant=acc.grant,
        unit=acc.unit,
        channel=channel,
        purpose=purpose or (acc.grant.purpose if acc.grant else ""),
        case_ref=case_ref,
        query=query,
        rows=len(rows),
    )
    return Page(
        dataset=dataset,
        grant=acc.grant,
        fields=acc.fields,
        rows=rows,
        total=total,
        next_after=cursor,
        log=log,
        masked=masked,
    )


# -- who used the data ------------------------------------------------------------------------


@dataclass
class UnitUsage:
    unit: Unit | None
    reads: int
    rows: int
    refused: int
    last_at: dt.datetime | None


@dataclass
class Usage:
    dataset: Dataset
    log: QuerySet[AccessLog]  # newest first
    by_unit: list[UnitUsage]


def may_see_usage(actor: Any, dataset: Dataset) -> bool:
    if rights.is_decider(actor, dataset):
        return True
    scope = access.scope_of(actor)
    return "audit.read" in scope.actions and (
        scope.covers_path(dataset.owner_unit.jurisdiction.path)
        or dataset.owner_unit_id in scope.unit_ids
    )


def usage(actor: Any, dataset: Dataset, filters: dict[str, Any] | None = None) -> Usage:
    """Who read ``dataset``: the log (reads and refused attempts) and counts per consumer unit,
    for the owner's deciders and auditors. Filters: ``unit`` (code), ``grant`` (id),
    ``channel``, ``since``/``until`` (dates or datetimes), ``refused`` (true: refusals only)."""
    if not may_see_usage(actor, dataset):
        raise Forbidden(
            _("who used %(dataset)s is shown to %(owner)s's deciders and to auditors")
            % {"dataset": dataset.code, "owner": dataset.owner_unit.code},
            details={"action": "hub.decide"},
        )
    f = filters or {}
    qs = AccessLog.objects.filter(dataset=dataset)
    if f.get("unit"):
        qs = qs.filter(unit__code=f["unit"])
    if f.get("grant"):
        try:
            qs = qs.filter(grant_id=int(f["grant"]))
        except (TypeError, ValueError):
            raise InvalidInput(_("grant: a grant number"), details={"field": "grant"}) from None
    if f.get("channel"):
        if f["channel"] not in AccessChannel.values:
            raise InvalidInput(
                _("channel: one of %(known)s") % {"known": ", ".join(AccessChannel.values)},
                details={"field": "channel"},
            )
        qs = qs.filter(channel=f["channel"])
    for key, op in (("since", "gte"), ("until", "lt")):
        value = f.get(key)
        if not value:
            continue
        when = _moment(value, key, end=(key == "until"))
        qs = qs.filter(**{f"at__{op}": when})
    if str(f.get("refused", "")).lower() in ("1", "true", "yes"):
        qs = qs.filter(query__has_key="refused")
    qs = qs.select_related("unit", "grant", "user", "api_key").order_by("-at", "-pk")
    summary = (
        qs.order_by()
        .values("unit_id")
        .annotate(
            reads=Count("pk"),
            rows=Sum("rows"),
            refused=Count("pk", filter=Q(query__has_key="refused")),
            last_at=Max("at"),
        )
    )
    units = {u.pk: u for u in Unit.objects.filter(pk__in=[s["unit_id"] for s in summary])}
    by_unit = sorted(
        (
            UnitUsage(
                unit=units.get(s["unit_id"]),
                reads=s["reads"],
                rows=s["rows"] or 0,
                refused=s["refused"],
                last_at=s["last_at"],
            )
            for s in summary
        ),
        key=lambda u: (-u.reads, u.unit.code if u.unit else ""),
    )
    return Usage(dataset=dataset, log=qs, by_unit=by_unit)


def _moment(value: Any, key: str, *, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        day = value
    else:
        text = str(value).strip()
        try:
            if len(text) > 10:
                moment = dt.datetime.fromisoformat(text)
                return moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                _("%(field)s: a date like 2026-11-27") % {"field": key}, details={"field": key}
            ) from None
    start = dt.datetime.combine(day, dt.time.min, tzinfo=clock.now().tzinfo)
    return start + dt.timedelta(days=1) if end else start
