"""The catalogue's writes: datasets and their versioned schemas.

Only the stewards of the owner unit (``civitas.hub.rights.stewarded_units``: data stewards,
administrators over the unit's area, the unit's ``hub:write`` API keys) define a dataset.
Every write locks the dataset row, compares the ``version`` the form or client saw (409
``stale``), and writes its audit entry in the same transaction.

A schema is never edited in place: saving one adds :class:`SchemaVersion` n+1 and makes it
current, so batches keep pointing at the version they were checked against and the versions
page can show what changed. Validation collects every problem (with the field's row and name)
before refusing, so a steward fixes a schema in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from civitas.geo.models import Jurisdiction
from civitas.hub import rights
from civitas.hub.models import (
    Dataset,
    Domain,
    Field,
    FieldType,
    Frequency,
    KeyRole,
    ProfileRole,
    SchemaVersion,
    Sensitivity,
    Sharing,
)
from civitas.kit import audit
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.org.models import Unit

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# Path words of the pages that a dataset code would shadow.
RESERVED_CODES = frozenset({"new"})
MAX_FIELDS = 200
MAX_KEYWORDS = 30
MAX_TEXT_LENGTH = 100_000

# Standard keys that are text whatever the file holds (codes keep their leading zeros).
TEXT_KEYS = frozenset(
    {KeyRole.GRID_CODE, KeyRole.ADDRESS, KeyRole.CREDIT_CODE, KeyRole.PERSON_ID, KeyRole.PHONE}
)
POINT_KEYS = frozenset({KeyRole.LATITUDE, KeyRole.LONGITUDE})
PLACE_KEYS = frozenset({KeyRole.GRID_CODE, KeyRole.ADDRESS})
NUMBER_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL})
DATE_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME})
# Attributes compared between two versions of a field.
FIELD_ATTRS = ("label_en", "label_zh", "type", "sensitivity", "key_role", "required", "max_length")
# What update_dataset may change (the code and the owner stay: grants and files name them).
EDITABLE = frozenset(
    {
        "title_en",
        "title_zh",
        "description_en",
        "description_zh",
        "keywords",
        "domain",
        "frequency",
        "sharing",
        "jurisdiction",
        "profile_role",
        "profile_field",
        "feeds_risk",
    }
)


class StaleDataset(Conflict):
    code = "stale"


@dataclass
class Problems:
    """Problems found while checking input, each naming where it is."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, where: str, code: str, message: str, **at: Any) -> None:
        self.items.append({"field": where, "code": code, "message": message, **at})

    def raise_if_any(self, summary: str, code: str) -> None:
        if not self.items:
            return
        lines = "; ".join(p["message"] for p in self.items[:10])
        more = len(self.items) - 10
        tail = _(" (and %(n)d more)") % {"n": more} if more > 0 else ""
        raise InvalidInput(f"{summary}: {lines}{tail}", code=code, details={"problems": self.items})


# -- who -------------------------------------------------------------------------------------


def may_define(actor: Any, unit: Unit | int) -> bool:
    unit_id = unit if isinstance(unit, int) else unit.pk
    return unit_id in rights.stewarded_units(actor)


def _require_steward(actor: Any, unit: Unit) -> None:
    if not may_define(actor, unit):
        raise Forbidden(
            _(
                "only the data stewards of %(unit)s (or administrators over its area) define "
                "its datasets"
            )
            % {"unit": unit.name},
            code="not_steward",
            details={"action": "hub.manage", "unit": unit.code},
        )


# -- datasets --------------------------------------------------------------------------------


def _keywords(raw: Any, problems: Problems) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = re.split(r"[,，;；\n]", raw)
    if not isinstance(raw, Iterable):
        problems.add("keywords", "invalid", _("keywords must be a list of words"))
        return []
    words = list(dict.fromkeys(str(w).strip() for w in raw if str(w).strip()))
    if len(words) > MAX_KEYWORDS:
        problems.add(
            "keywords",
            "too_many",
            _("at most %(n)d keywords; you gave %(given)d")
            % {"n": MAX_KEYWORDS, "given": len(words)},
        )
    if any(len(w) > 60 for w in words):
        problems.add("keywords", "too_long", _("a keyword has at most 60 characters"))
    return words


def _check_text(data: dict[str, Any], problems: Problems) -> None:
    for name in ("title_en", "title_zh"):
        if name in data:
            data[name] = str(data[name] or "").strip()
            if not data[name]:
                which = _("English") if name.endswith("_en") else _("Chinese")
                problems.add(
                    name,
                    "required",
                    _("the title in %(language)s is required") % {"language": which},
                )
            elif len(data[name]) > 200:
                problems.add(name, "too_long", _("a title has at most 200 characters"))
    for name in ("description_en", "description_zh"):
        if name in data:
            data[name] = str(data[name] or "").strip()
            if len(data[name]) > MAX_TEXT_LENGTH:
                problems.add(name, "too_long", _("the description is too long"))


def _check_choice(
    data: dict[str, Any], name: str, choices: Any, problems: Problems, label: str
) -> None:
    if name not in data:
        return
    value = data[name] if data[name] is not None else ""
    data[name] = value
    if value not in choices.values:
        allowed = ", ".join(v for v in choices.values if v)
        problems.add(
            name,
            "invalid_choice",
            _("%(what)s %(value)r is not one of: %(allowed)s")
            % {"what": label, "value": value, "allowed": allowed},
        )


def _check_area(owner: Unit, area: Jurisdiction | None, problems: Problems) -> None:
    if area is None:
        return
    if area.path.strip("/").split("/")[0] != owner.city:
        problems.add(
            "jurisdiction",
            "outside_city",
            _("the area %(area)s is not in the city of %(unit)s; choose an area of %(city)s")
            % {"area": area.code, "unit": owner.name, "city": owner.city},
        )


def _check_against_schema(
    data: Mapping[str, Any], fields: Sequence[Mapping[str, Any]] | None, problems: Problems
) -> None:
    """The dataset's profile role and feeding the risk detectors need certain fields."""
    role = data.get("profile_role") or ""
    pfield = data.get("profile_field") or ""
    if role == ProfileRole.POPULATION and not pfield:
        problems.add(
            "profile_field",
            "required",
            _("a population dataset names the field whose values are summed (e.g. residents)"),
        )
    if role != ProfileRole.POPULATION and pfield:
        problems.add(
            "profile_field",
            "not_used",
            _("a profile field is only used by a population dataset; leave it empty"),
        )
    if fields is None:
        return  # no schema yet: checked when the first one is saved
    by_name = {f["name"]: f for f in fields}
    roles = {f.get("key_role") or "" for f in fields}
    if role == ProfileRole.POPULATION and pfield:
        target = by_name.get(pfield)
        if target is None:
            problems.add(
                "profile_field",
                "unknown_field",
                _("the profile field %(name)r is not a field of the schema") % {"name": pfield},
            )
        elif target.get("type") not in NUMBER_TYPES:
            problems.add(
                "profile_field",
                "not_a_number",
                _("the profile field %(name)r must be a whole or decimal number to be summed")
                % {"name": pfield},
            )
    if role == ProfileRole.ENTERPRISES and KeyRole.CREDIT_CODE not in roles:
        problems.add(
            "profile_role",
            "needs_credit_code",
            _(
                "an enterprises dataset counts distinct credit codes: give one field the "
                "standard key 'unified social credit code'"
            ),
        )
    if data.get("feeds_risk"):
        if KeyRole.DATE not in roles:
            problems.add(
                "feeds_risk",
                "needs_date",
                _(
                    "to feed the risk detectors a field must have the standard key "
                    "'date of the event'"
                ),
            )
        if not (roles >= POINT_KEYS or roles & PLACE_KEYS):
            problems.add(
                "feeds_risk",
                "needs_place",
                _(
                    "to feed the risk detectors the records need a place: latitude and "
                    "longitude fields, an address or a grid code"
                ),
            )


def _schema_rows(dataset: Dataset) -> list[dict[str, Any]] | None:
    if dataset.schema_id is None:
        return None
    return [field_dict(f) for f in Field.objects.filter(schema_id=dataset.schema_id)]


def _check_dataset(
    data: dict[str, Any], owner: Unit, fields: Sequence[Mapping[str, Any]] | None
) -> Problems:
    problems = Problems()
    _check_text(data, problems)
    if "keywords" in data:
        data["keywords"] = _keywords(data["keywords"], problems)
    _check_choice(data, "domain", Domain, problems, _("domain"))
    _check_choice(data, "frequency", Frequency, problems, _("update frequency"))
    _check_choice(data, "sharing", Sharing, problems, _("sharing type"))
    _check_choice(data, "profile_role", ProfileRole, problems, _("profile role"))
    if "profile_field" in data:
        data["profile_field"] = str(data["profile_field"] or "").strip()
    if "feeds_risk" in data:
        data["feeds_risk"] = bool(data["feeds_risk"])
    if "jurisdiction" in data:
        _check_area(owner, data["jurisdiction"], problems)
    _check_against_schema(data, fields, problems)
    return problems


def snapshot(ds: Dataset) -> dict[str, Any]:
    """What the audit chain keeps of a dataset."""
    return {
        "code": ds.code,
        "owner_unit": ds.owner_unit.code,
        "jurisdiction": ds.jurisdiction.code,
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
        "active": ds.active,
        "schema": ds.schema.number if ds.schema_id and ds.schema else None,
        "version": ds.version,
    }


def create_dataset(
    actor: Any,
    *,
    owner_unit: Unit,
    code: str,
    title_en: str,
    title_zh: str,
    description_en: str = "",
    description_zh: str = "",
    keywords: Sequence[str] | str = (),
    domain: str,
    frequency: str,
    sharing: str,
    jurisdiction: Jurisdiction | None = None,
    profile_role: str = "",
    profile_field: str = "",
    feeds_risk: bool = False,
) -> Dataset:
    """A new dataset of ``owner_unit``, without a schema yet (``save_schema`` adds one). The
    area covered is the owner's unless given, and must be in the owner's city."""
    _require_steward(actor, owner_unit)
    code = (code or "").strip().lower()
    data: dict[str, Any] = {
        "title_en": title_en,
        "title_zh": title_zh,
        "description_en": description_en,
        "description_zh": description_zh,
        "keywords": keywords,
        "domain": domain,
        "frequency": frequency,
        "sharing": sharing,
        "jurisdiction": jurisdiction,
        "profile_role": profile_role,
        "profile_field": profile_field,
        "feeds_risk": feeds_risk,
    }
    problems = _check_dataset(data, owner_unit, None)
    if not CODE_RE.match(code) or code in RESERVED_CODES:
        problems.add(
            "code",
            "invalid_code",
            _(
                "the code %(code)r must be 2 to 60 lowercase letters, digits and hyphens, "
                "starting with a letter or digit"
            )
            % {"code": code},
        )
    elif Dataset.objects.filter(code=code).exists():
        problems.add(
            "code", "code_taken", _("a dataset with the code %(code)r exists") % {"code": code}
        )
    problems.raise_if_any(_("The dataset was not created"), "invalid_dataset")
    area = jurisdiction or owner_unit.jurisdiction
    with transaction.atomic():
        ds = Dataset.objects.create(
            code=code,
            city=owner_unit.city,
            owner_unit=owner_unit,
            jurisdiction=area,
            jurisdiction_path=area.path,
            **{k: v for k, v in data.items() if k != "jurisdiction"},
        )
        audit.record(
            actor=actor,
            action="hub.dataset_create",
            object_type="hub.dataset",
            object_id=ds.code,
            after=snapshot(ds),
        )
    return ds


def _lock(dataset: Dataset, version: int | None) -> Dataset:
    locked = (
        Dataset.objects.select_for_update(of=("self",), no_key=True)
        .select_related("owner_unit", "jurisdiction", "schema")
        .get(pk=dataset.pk)
    )
    if version is None or int(version) != locked.version:
        raise StaleDataset(
            _(
                "%(code)s was changed by someone else meanwhile (now version %(now)s, your "
                "page showed %(seen)s): reload it and make your change again"
            )
            % {"code": locked.code, "now": locked.version, "seen": version},
            details={"field": "version", "current": locked.version},
        )
    return locked


def update_dataset(actor: Any, dataset: Dataset, *, version: int | None, **changes: Any) -> Dataset:
    """Change a dataset's description, classification, area or profile settings."""
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput(
            _("these cannot be changed: %(names)s") % {"names": ", ".join(unknown)},
            details={"problems": [{"field": n, "code": "not_editable"} for n in unknown]},
        )
    _require_steward(actor, dataset.owner_unit)
    with transaction.atomic():
        ds = _lock(dataset, version)
        before = snapshot(ds)
        data = dict(changes)
        if "jurisdiction" in data and data["jurisdiction"] is None:
            data["jurisdiction"] = ds.owner_unit.jurisdiction
        # The profile settings are checked together, as they would stand after the change.
        merged = {
            "profile_role": ds.profile_role,
            "profile_field": ds.profile_field,
            "feeds_risk": ds.feeds_risk,
            **data,
        }
        problems = _check_dataset(merged, ds.owner_unit, _schema_rows(ds))
        problems.raise_if_any(_("The dataset was not saved"), "invalid_dataset")
        for name in changes:
            value = merged[name]
            setattr(ds, name, value)
            if name == "jurisdiction":
                ds.jurisdiction_path = value.path
        after = snapshot(ds)
        if after == before:
            return ds
        ds.version += 1
        ds.save()
        after["version"] = ds.version
        audit.record(
            actor=actor,
            action="hub.dataset_update",
            object_type="hub.dataset",
            object_id=ds.code,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return ds


def _set_active(
    actor: Any, dataset: Dataset, *, version: int | None, active: bool, reason: str
) -> Dataset:
    _require_steward(actor, dataset.owner_unit)
    reason = (reason or "").strip()
    if not active and not reason:
        raise InvalidInput(
            _("say why the dataset is withdrawn from the catalogue"),
            code="reason_required",
            details={"problems": [{"field": "reason", "code": "required"}], "field": "reason"},
        )
    with transaction.atomic():
        ds = _lock(dataset, version)
        if ds.active == active:
            return ds
        ds.active = active
        ds.version += 1
        ds.save(update_fields=["active", "version", "updated_at"])
        audit.record(
            actor=actor,
            action="hub.dataset_reactivate" if active else "hub.dataset_deactivate",
            object_type="hub.dataset",
            object_id=ds.code,
            after={"active": active, "version": ds.version},
            reason=reason,
        )
    return ds


def deactivate(actor: Any, dataset: Dataset, *, version: int | None, reason: str) -> Dataset:
    """Withdraw a dataset from the catalogue: only its stewards see it, and its grants give
    no access (``rights.grants_in_force`` needs an active dataset). Nothing is deleted."""
    return _set_active(actor, dataset, version=version, active=False, reason=reason)


def reactivate(actor: Any, dataset: Dataset, *, version: int | None, reason: str = "") -> Dataset:
    return _set_active(actor, dataset, version=version, active=True, reason=reason)


# -- schemas ---------------------------------------------------------------------------------


def field_dict(f: Field) -> dict[str, Any]:
    return {
        "name": f.name,
        "label_en": f.label_en,
        "label_zh": f.label_zh,
        "type": f.type,
        "sensitivity": f.sensitivity,
        "key_role": f.key_role,
        "required": f.required,
        "max_length": f.max_length,
    }


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _normalise_field(raw: Mapping[str, Any]) -> dict[str, Any]:
    def text(key: str) -> str:
        value = raw.get(key)
        return "" if value is None else str(value).strip()

    return {
        "name": text("name"),
        "label_en": text("label_en"),
        "label_zh": text("label_zh"),
        "type": text("type"),
        "sensitivity": text("sensitivity") or Sensitivity.INTERNAL,
        "key_role": text("key_role"),
        "required": _as_bool(raw.get("required", False)),
        "max_length": raw.get("max_length"),
    }


def check_fields(
    raw_fields: Sequence[Mapping[str, Any]],
    *,
    profile_role: str = "",
    profile_field: str = "",
    feeds_risk: bool = False,
) -> tuple[list[dict[str, Any]], Problems]:
    """Normalise and check a schema; every problem names the field's row (``index``, from 0)
    and name, and the attribute at fault (``field``)."""
    problems = Problems()
    fields = [_normalise_field(f) for f in raw_fields]
    if not fields:
        problems.add("fields", "empty", _("a schema needs at least one field"))
    if len(fields) > MAX_FIELDS:
        problems.add(
            "fields", "too_many", _("a schema has at most %(n)d fields") % {"n": MAX_FIELDS}
        )

    def add(i: int, attr: str, code: str, message: str) -> None:
        name = fields[i]["name"]
        where = _("field %(n)d (%(name)s)") % {"n": i + 1, "name": name or "?"}
        problems.add(attr, code, f"{where}: {message}", index=i, name=name, detail=message)

    seen: dict[str, int] = {}
    for i, f in enumerate(fields):
        name = f["name"]
        if not NAME_RE.match(name):
            add(
                i,
                "name",
                "invalid_name",
                _(
                    "the name %(name)r must start with a lowercase letter and use only "
                    "lowercase letters, digits and _ (at most 60)"
                )
                % {"name": name},
            )
        elif name in seen:
            add(
                i,
                "name",
                "duplicate_name",
                _("the name %(name)r is already used by field %(other)d")
                % {"name": name, "other": seen[name] + 1},
            )
        else:
            seen[name] = i
        for attr, language in (("label_en", _("English")), ("label_zh", _("Chinese"))):
            if not f[attr]:
                add(
                    i, attr, "label_required", _("the label in %(l)s is required") % {"l": language}
                )
            elif len(f[attr]) > 120:
                add(i, attr, "too_long", _("a label has at most 120 characters"))
        if f["type"] not in FieldType.values:
            add(
                i,
                "type",
                "invalid_type",
                _("the type %(v)r is not one of: %(allowed)s")
                % {"v": f["type"], "allowed": ", ".join(FieldType.values)},
            )
        if f["sensitivity"] not in Sensitivity.values:
            add(
                i,
                "sensitivity",
                "invalid_sensitivity",
                _("the sensitivity %(v)r is not one of: %(allowed)s")
                % {"v": f["sensitivity"], "allowed": ", ".join(Sensitivity.values)},
            )
        role = f["key_role"]
        if role not in KeyRole.values:
            add(
                i,
                "key_role",
                "invalid_key_role",
                _("the standard key %(v)r is not one of: %(allowed)s")
                % {"v": role, "allowed": ", ".join(v for v in KeyRole.values if v)},
            )
        ml = f["max_length"]
        if ml in ("", None):
            f["max_length"] = None
        else:
            try:
                number = int(ml)
                if isinstance(ml, float) and ml != number:
                    raise ValueError
            except (TypeError, ValueError):
                number = 0
            if number < 1 or number > MAX_TEXT_LENGTH:
                add(
                    i,
                    "max_length",
                    "invalid_max_length",
                    _("the maximum length must be a whole number from 1 to %(n)d")
                    % {"n": MAX_TEXT_LENGTH},
                )
            elif f["type"] != FieldType.STRING:
                add(
                    i,
                    "max_length",
                    "max_length_not_text",
                    _("only text fields have a maximum length; leave it empty"),
                )
            f["max_length"] = number or None
    _check_roles(fields, add)
    _check_against_schema(
        {"profile_role": profile_role, "profile_field": profile_field, "feeds_risk": feeds_risk},
        [f for f in fields if f["name"]],
        problems,
    )
    return fields, problems


def _check_roles(fields: list[dict[str, Any]], add: Any) -> None:
    holders: dict[str, list[int]] = {}
    for i, f in enumerate(fields):
        if f["key_role"] and f["key_role"] in KeyRole.values:
            holders.setdefault(f["key_role"], []).append(i)
    for role, rows in holders.items():
        label = KeyRole(role).label
        # Several identity numbers may be kept (a resident's and a guardian's): each is
        # pseudonymised; Record.person_key indexes the first. Other roles are one field each.
        for i in rows[1:] if role != KeyRole.PERSON_ID else []:
            add(
                i,
                "key_role",
                "duplicate_key_role",
                _("only one field may be the %(role)s; field %(other)d already is")
                % {"role": label, "other": rows[0] + 1},
            )
        for i in rows:
            ftype = fields[i]["type"]
            if role in TEXT_KEYS and ftype != FieldType.STRING and ftype in FieldType.values:
                add(i, "type", "key_not_text", _("a %(role)s is text") % {"role": label})
            if role in POINT_KEYS and ftype != FieldType.DECIMAL and ftype in FieldType.values:
                add(
                    i,
                    "type",
                    "coordinate_not_decimal",
                    _("a %(role)s is a decimal number (degrees)") % {"role": label},
                )
            if role == KeyRole.DATE and ftype not in DATE_TYPES and ftype in FieldType.values:
                add(
                    i,
                    "type",
                    "date_not_date",
                    _("the date of the event must be of type date or date and time"),
                )
            if role == KeyRole.PERSON_ID and fields[i]["sensitivity"] not in (
                Sensitivity.SECRET,
                Sensitivity.SENSITIVE,
            ):
                add(
                    i,
                    "sensitivity",
                    "person_id_exposed",
                    _(
                        "an identity card number is a resident's personal data: its sensitivity "
                        "must be secret or sensitive, so that consumers see it only masked and "
                        "only when a grant allows it"
                    ),
                )
    for role, other in (
        (KeyRole.LATITUDE, KeyRole.LONGITUDE),
        (KeyRole.LONGITUDE, KeyRole.LATITUDE),
    ):
        if role in holders and other not in holders:
            add(
                holders[role][0],
                "key_role",
                "coordinates_apart",
                _("a %(role)s needs a %(other)s field beside it")
                % {"role": KeyRole(role).label, "other": KeyRole(other).label},
            )


def save_schema(
    actor: Any,
    dataset: Dataset,
    fields: Sequence[Mapping[str, Any]],
    *,
    note: str = "",
    version: int | None,
) -> SchemaVersion:
    """Make ``fields`` the dataset's schema: version n+1, current at once. The same fields
    as the current version add nothing and answer the current version."""
    _require_steward(actor, dataset.owner_unit)
    with transaction.atomic():
        ds = _lock(dataset, version)
        checked, problems = check_fields(
            fields,
            profile_role=ds.profile_role,
            profile_field=ds.profile_field,
            feeds_risk=ds.feeds_risk,
        )
        problems.raise_if_any(_("The schema was not saved"), "invalid_schema")
        current = _schema_rows(ds)
        if current is not None and current == checked and ds.schema is not None:
            return ds.schema
        number = (ds.schemas.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        schema = SchemaVersion.objects.create(
            dataset=ds,
            number=number,
            note=(note or "").strip(),
            created_by=audit.actor_label(actor),
        )
        Field.objects.bulk_create(
            Field(schema=schema, position=i, **f) for i, f in enumerate(checked)
        )
        previous = ds.schema
        ds.schema = schema
        ds.version += 1
        ds.save(update_fields=["schema", "version", "updated_at"])
        changes = diff_rows(current or [], checked)
        audit.record(
            actor=actor,
            action="hub.schema_save",
            object_type="hub.dataset",
            object_id=ds.code,
            before={"schema": previous.number} if previous else None,
            after={"schema": number, "fields": checked, "version": ds.version},
            reason=schema.note,
            extra={"added": changes.added, "removed": changes.removed, "changed": changes.changed},
        )
    dataset.schema, dataset.version = schema, ds.version
    return schema


# -- differences between versions ------------------------------------------------------------


@dataclass
class SchemaDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # name -> {attribute: [before, after]}
    changed: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff_rows(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> SchemaDiff:
    """Fields added, removed, and changed (attribute by attribute), matched by name."""
    before = {f["name"]: f for f in old}
    after = {f["name"]: f for f in new}
    out = SchemaDiff(
        added=[n for n in after if n not in before],
        removed=[n for n in before if n not in after],
    )
    for name, f in after.items():
        if name in before:
            changes = {
                a: [before[name].get(a), f.get(a)]
                for a in FIELD_ATTRS
                if before[name].get(a) != f.get(a)
            }
            if changes:
                out.changed[name] = changes
    return out


def diff(old: SchemaVersion | None, new: SchemaVersion) -> SchemaDiff:
    """What ``new`` changed from ``old`` (everything is added when there is no ``old``)."""
    old_rows = [field_dict(f) for f in old.fields.all()] if old is not None else []
    return diff_rows(old_rows, [field_dict(f) for f in new.fields.all()])
