"""Checking and converting rows against a dataset's schema, and deriving the standard keys.

A :class:`Converter` is prepared once per batch and takes rows in chunks. Each value is
converted by its field's type (text, whole and decimal numbers, yes/no, dates, date-times);
then the standard keys are derived: an identity number becomes its pseudonymous key (the
number itself is never kept, not even for a bad row), a credit code is validated, a phone
number normalised, a point located to its deepest jurisdiction (vectorised per chunk) and
checked to lie in the dataset's area; without a point a grid code names the area, and without
that an address is looked up in the gazetteer (not found is no error: the record has no area).

A problem is ``{"field", "code", "message"}``; the message says in words what is wrong with the
value and is translated through gettext.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from django.utils import timezone
from django.utils.translation import gettext as _

from civitas.hub import keys
from civitas.hub.models import Dataset, FieldType, KeyRole

Problem = dict[str, str]
MEMO = 200_000  # distinct good identity numbers and credit codes remembered per batch
Row = tuple[int, dict[str, str]]

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "是", "对", "有"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "否", "不", "无"})
_DATE_RE = re.compile(
    r"^\s*(\d{4})\s*(?:[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})|年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?)"
    r"(?:\s*(?:T|\s)\s*(.*))?$"
)
_TIME_RE = re.compile(
    r"^(\d{1,2})(?::|时)(\d{2})(?:(?::|分)(\d{2})(?:\.(\d{1,6}))?)?秒?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_PHONE_SEPARATORS = str.maketrans("", "", " -()（）.\u3000")
_INTEGER_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")


_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def redact(text: str) -> str:
    """``text`` with every identity number in it (18 characters with a valid check character:
    one typed in the wrong column, say) replaced by "[identity number]", so that it reaches
    no message, report or quarantined value in clear."""
    if not isinstance(text, str) or len(text) < 18:
        return text

    def hide(m: re.Match[str]) -> str:
        return _("[identity number]") if not keys.person_id_problem(m[0].upper()) else m[0]

    return _NUMBER_RE.sub(hide, text)


def _show(value: str) -> str:
    """The value as quoted in a message: short, on one line, identity numbers hidden."""
    text = redact(" ".join(str(value).split()))
    return text if len(text) <= 40 else text[:37] + "…"


class ValueProblem(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- values ----------------------------------------------------------------------------------


def to_string(text: str, max_length: int | None) -> str:
    if max_length and len(text) > max_length:
        raise ValueProblem(
            "too_long",
            _("%(length)s characters; at most %(max)s are allowed")
            % {"length": len(text), "max": max_length},
        )
    return text


def to_integer(text: str) -> int:
    raw = text.replace(" ", "")
    if _INTEGER_RE.match(raw):
        raw = raw.replace(",", "")
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = Decimal(raw)
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite() and number == number.to_integral_value():
        return int(number)  # "12.0", as spreadsheets write whole numbers
    raise ValueProblem(
        "not_integer", _("“%(value)s” is not a whole number") % {"value": _show(text)}
    )


def to_decimal(text: str) -> float:
    raw = text.replace(" ", "")
    if _INTEGER_RE.match(raw.split(".")[0]):
        raw = raw.replace(",", "")
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ValueProblem(
            "not_number", _("“%(value)s” is not a number") % {"value": _show(text)}
        ) from None
    if not number.is_finite():
        raise ValueProblem("not_number", _("“%(value)s” is not a number") % {"value": text})
    return float(number)


def to_boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueProblem(
        "not_boolean",
        _("“%(value)s” is not yes or no (write yes/no, true/false, 1/0 or 是/否)")
        % {"value": _show(text)},
    )


def _date_parts(text: str) -> tuple[date, str]:
    m = _DATE_RE.match(text)
    if not m:
        raise ValueProblem(
            "not_date",
            _("“%(value)s” is not a date (write 2026-11-27, 2026/11/27 or 2026年11月27日)")
            % {"value": _show(text)},
        )
    year = int(m.group(1))
    month = int(m.group(2) or m.group(4))
    day = int(m.group(3) or m.group(5))
    try:
        return date(year, month, day), (m.group(6) or "").strip()
    except ValueError:
        raise ValueProblem(
            "no_such_date",
            _("%(value)s is no day of the calendar (month or day out of range)")
            % {"value": _show(text)},
        ) from None


def to_date(text: str) -> date:
    day, rest = _date_parts(text)
    if rest and _TIME_RE.match(rest):
        parts = _TIME_RE.match(rest)
        assert parts is not None
        if int(parts.group(1)) or int(parts.group(2)) or int(parts.group(3) or 0):
            raise ValueProblem(
                "not_date",
                _("“%(value)s” has a time of day; this field takes a date only")
                % {"value": _show(text)},
            )
        return day
    if rest:
        raise ValueProblem(
            "not_date",
            _("“%(value)s” is not a date (write 2026-11-27, 2026/11/27 or 2026年11月27日)")
            % {"value": _show(text)},
        )
    return day


def to_datetime(text: str) -> datetime:
    day, rest = _date_parts(text)
    m = _TIME_RE.match(rest) if rest else None
    if not m:
        raise ValueProblem(
            "not_datetime",
            _("“%(value)s” is not a date and time (write 2026-11-27 08:30)")
            % {"value": _show(text)},
        )
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    micro = int((m.group(4) or "0").ljust(6, "0"))
    try:
        moment = datetime(day.year, day.month, day.day, hour, minute, second, micro)
    except ValueError:
        raise ValueProblem(
            "no_such_time", _("“%(value)s” is no time of day") % {"value": _show(text)}
        ) from None
    zone = m.group(5)
    if zone:
        stamp = moment.isoformat() + ("+00:00" if zone == "Z" else _colon(zone))
        return datetime.fromisoformat(stamp)
    return timezone.make_aware(moment, timezone.get_default_timezone())


def _colon(zone: str) -> str:
    return zone if ":" in zone else zone[:3] + ":" + zone[3:]


def to_phone(text: str) -> str:
    raw = text.translate(_PHONE_SEPARATORS)
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits.isdigit() or not digits.isascii():
        raise ValueProblem(
            "invalid_phone",
            _("“%(value)s” is not a phone number (digits, with + before a country code)")
            % {"value": _show(text)},
        )
    if not 3 <= len(digits) <= 20:
        raise ValueProblem(
            "invalid_phone",
            _("a phone number has 3 to 20 digits, this one has %(n)s") % {"n": len(digits)},
        )
    return raw


def to_person_key(text: str, *, trusted: bool = False, secret: bytes | None = None) -> str:
    """The pseudonymous key of an identity number. The message never repeats the number."""
    if trusted and keys.is_person_key(text):
        return text
    compact = "".join(text.split()).upper()
    if len(compact) != 18:
        raise ValueProblem(
            "invalid_person_id",
            _(
                "an identity number has 18 characters, this one has %(n)s; the number is not "
                "kept, type it again"
            )
            % {"n": len(compact)},
        )
    problem = keys.person_id_problem(compact)
    if problem == "checksum":
        message = _(
            "the identity number's check character does not match (a typing error?); "
            "the number is not kept, type it again"
        )
    elif problem == "component":
        message = _(
            "the birth date or region inside the identity number is not valid; the "
            "number is not kept, type it again"
        )
    elif problem:
        message = _(
            "not an identity number (17 digits and a digit or X); the number is not "
            "kept, type it again"
        )
    else:
        if secret is None:
            return keys.person_key(compact)
        digest = hmac.new(secret, compact.encode(), hashlib.sha256).hexdigest()
        return keys.PERSON_KEY_PREFIX + digest[: keys.PERSON_KEY_LENGTH]
    raise ValueProblem("invalid_person_id", message)


def to_credit_code(text: str) -> str:
    try:
        return keys.normalise_credit_code(text)
    except ValueError as exc:
        said = str(exc)
        if "18 characters" in said:
            message = _("a credit code has 18 characters, this one has %(n)s") % {
                "n": len("".join(text.split()))
            }
        elif "check character" in said:
            message = _("the credit code's check character does not match (a typing error?)")
        else:
            message = _("“%(value)s” is not a unified social credit code") % {"value": _show(text)}
        raise ValueProblem("invalid_credit_code", message) from None


# -- rows ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Converted:
    """A good row: its values as JSON types and the standard keys derived from it."""

    row_number: int
    data: dict[str, Any]
    jurisdiction_id: int | None = None
    jurisdiction_path: str = ""
    lat: float | None = None
    lon: float | None = None
    person_key: str = ""
    credit_code: str = ""
    occurred_on: date | None = None


@dataclass(slots=True)
class Bad:
    """A bad row: what was read (identity numbers as keys or left out) and every problem."""

    row_number: int
    values: dict[str, str]
    errors: list[Problem]


@dataclass
class Chunk:
    good: list[Converted] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)


@dataclass(frozen=True)
class _Spec:
    name: str
    type: str
    role: str
    required: bool
    max_length: int | None
    label: str


class Converter:
    """Checks rows of one dataset; ``stats`` counts how the records' areas were found."""

    def __init__(self, dataset: Dataset, fields: Sequence[Any] | None = None) -> None:
        if fields is None:
            assert dataset.schema is not None, "the dataset has no schema yet"
            fields = list(dataset.schema.fields.all())
        self.dataset = dataset
        self.area_path = dataset.jurisdiction_path
        self.area_id = dataset.jurisdiction_id
        self.specs = [
            _Spec(f.name, f.type, f.key_role or "", f.required, f.max_length, f.label)
            for f in fields
        ]
        self.by_name = {s.name: s for s in self.specs}
        roles: dict[str, str] = {}
        for s in self.specs:
            if s.role:
                roles.setdefault(s.role, s.name)
        self.roles = roles
        self.person_fields = [s.name for s in self.specs if s.role == KeyRole.PERSON_ID]
        self.stats: Counter[str] = Counter()
        self._secret = keys._secret()  # computed once per batch, not per row
        # Good values seen before in this batch (people and enterprises recur): checked once.
        self._people: dict[str, str] = {}
        self._codes: dict[str, str] = {}
        self._areas: dict[str, tuple[int, str] | None] = {}
        self._addresses: dict[str, tuple[int, str] | str | None] = {}

    # -- values --

    def _value(self, spec: _Spec, text: str, trusted: bool) -> Any:
        if spec.role == KeyRole.PERSON_ID:
            if not trusted:
                known = self._people.get(text)
                if known is not None:
                    return known
            key = to_person_key(text, trusted=trusted, secret=self._secret)
            if not trusted and len(self._people) < MEMO:
                self._people[text] = key
            return key
        if spec.type == FieldType.STRING:
            if spec.role == KeyRole.CREDIT_CODE:
                code = self._codes.get(text)
                if code is None:
                    code = to_credit_code(text)
                    if len(self._codes) < MEMO:
                        self._codes[text] = code
                return code
            if spec.role == KeyRole.PHONE:
                return to_string(to_phone(text), spec.max_length)
            return to_string(text, spec.max_length)
        if spec.type == FieldType.INTEGER:
            return to_integer(text)
        if spec.type == FieldType.DECIMAL:
            return to_decimal(text)
        if spec.type == FieldType.BOOLEAN:
            return to_boolean(text)
        if spec.type == FieldType.DATE:
            return to_date(text)
        if spec.type == FieldType.DATETIME:
            return to_datetime(text)
        return text

    def sanitise(self, values: dict[str, str], *, trusted: bool = False) -> dict[str, str]:
        """``values`` as the quarantine may keep them: identity numbers replaced by their key
        when valid, left out (empty) when not; an identity number in any other field (typed
        in the wrong column) hidden; bookkeeping keys dropped."""
        person = set(self.person_fields)
        out = {
            k: v if k in person else redact(v) for k, v in values.items() if not k.startswith("__")
        }
        for name in self.person_fields:
            text = (out.get(name) or "").strip()
            if not text:
                continue
            try:
                out[name] = to_person_key(text, trusted=trusted, secret=self._secret)
            except ValueProblem:
                out[name] = ""
        return out

    def convert(
        self, rows: Iterable[Row], *, trusted: Callable[[int], bool] | None = None
    ) -> Chunk:
        """Check a chunk of rows. ``trusted(row_number)`` says whether a row's identity
        fields may already hold pseudonymous keys (rows corrected in the quarantine)."""
        chunk = Chunk()
        pending: list[tuple[Converted, list[Problem], dict[str, str], bool]] = []
        lat_name = self.roles.get(KeyRole.LATITUDE)
        lon_name = self.roles.get(KeyRole.LONGITUDE)
        date_name = self.roles.get(KeyRole.DATE)
        credit_name = self.roles.get(KeyRole.CREDIT_CODE)
        # Every person_id field becomes its key (in _value); the indexed Record.person_key
        # column holds the key of the first one in the schema's order, the others are in data.
        person_name = self.person_fields[0] if self.person_fields else None
        for number, values in rows:
            is_trusted = bool(trusted and trusted(number))
            problems: list[Problem] = []
            data: dict[str, Any] = {}
            if "__unknown__" in values:
                problems.append(
                    _problem(
                        "",
                        "unknown_field",
                        _("the record names fields the dataset does not know: %(names)s")
                        % {"names": values["__unknown__"]},
                    )
                )
            if "__extra__" in values:
                problems.append(
                    _problem(
                        "",
                        "extra_cells",
                        _("the row has %(n)s more cells than the header has columns")
                        % {"n": values["__extra__"]},
                    )
                )
            for spec in self.specs:
                raw = values.get(spec.name)
                text = raw.strip() if raw else ""
                if not text:
                    if spec.required:
                        problems.append(
                            _problem(spec.name, "required", _("a value is required here"))
                        )
                    continue
                try:
                    data[spec.name] = self._value(spec, text, is_trusted)
                except ValueProblem as exc:
                    problems.append(_problem(spec.name, exc.code, exc.message))
            rec = Converted(number, data)
            if person_name and person_name in data:
                rec.person_key = data[person_name]
            if credit_name and credit_name in data:
                rec.credit_code = data[credit_name]
            if date_name and date_name in data:
                when = data[date_name]
                rec.occurred_on = (
                    timezone.localtime(when).date() if isinstance(when, datetime) else when
                )
            if lat_name and lon_name:
                self._point(rec, data, lat_name, lon_name, problems)
            pending.append((rec, problems, values, is_trusted))
        self._locate_points(pending)
        self._areas_by_code(pending)
        for rec, problems, values, is_trusted in pending:
            if problems:
                chunk.bad.append(
                    Bad(rec.row_number, self.sanitise(values, trusted=is_trusted), problems)
                )
            else:
                rec.data = {k: _jsonable(v) for k, v in rec.data.items()}
                chunk.good.append(rec)
        return chunk

    # -- areas --

    def _point(
        self,
        rec: Converted,
        data: dict[str, Any],
        lat_name: str,
        lon_name: str,
        problems: list[Problem],
    ) -> None:
        lat, lon = data.get(lat_name), data.get(lon_name)
        bad = {p["field"] for p in problems}
        if lat is None and lon is None:
            return
        if lat is None or lon is None:
            if lat_name in bad or lon_name in bad:
                return
            missing = lat_name if lat is None else lon_name
            problems.append(
                _problem(
                    missing,
                    "half_point",
                    _("a point needs both a latitude and a longitude; this one is missing"),
                )
            )
            return
        ok = True
        if not (isinstance(lat, float) and math.isfinite(lat) and -90 <= lat <= 90):
            problems.append(
                _problem(
                    lat_name,
                    "out_of_range",
                    _("latitude %(value)s is outside -90 to 90") % {"value": lat},
                )
            )
            ok = False
        if not (isinstance(lon, float) and math.isfinite(lon) and -180 <= lon <= 180):
            problems.append(
                _problem(
                    lon_name,
                    "out_of_range",
                    _("longitude %(value)s is outside -180 to 180") % {"value": lon},
                )
            )
            ok = False
        if ok:
            rec.lat, rec.lon = lat, lon

    def _locate_points(
        self, pending: list[tuple[Converted, list[Problem], dict[str, str], bool]]
    ) -> None:
        from civitas.geo.locate import index

        with_point = [item for item in pending if item[0].lat is not None]
        if not with_point:
            return
        lats = np.fromiter((item[0].lat for item in with_point), float, len(with_point))
        lons = np.fromiter((item[0].lon for item in with_point), float, len(with_point))
        found = index.locate_many(lats, lons)
        lat_name = self.roles.get(KeyRole.LATITUDE, "")
        for (rec, problems, _values, _t), located in zip(with_point, found, strict=True):
            path = located.jurisdiction.path if located else ""
            if located and path.startswith(self.area_path):
                rec.jurisdiction_id, rec.jurisdiction_path = located.jurisdiction.id, path
                self.stats["located_by_point"] += 1
            elif located and self.area_path.startswith(path):
                # The dataset's area has no boundary of its own (some streets have none):
                # the point lies in the enclosing area, so the record takes the dataset's.
                rec.jurisdiction_id, rec.jurisdiction_path = self.area_id, self.area_path
                self.stats["located_by_point"] += 1
            else:
                problems.append(
                    _problem(
                        lat_name,
                        "outside_area",
                        _("the point %(lat)s, %(lon)s lies outside the dataset's area")
                        % {"lat": rec.lat, "lon": rec.lon},
                    )
                )

    def _areas_by_code(
        self, pending: list[tuple[Converted, list[Problem], dict[str, str], bool]]
    ) -> None:
        grid_name = self.roles.get(KeyRole.GRID_CODE)
        address_name = self.roles.get(KeyRole.ADDRESS)
        if grid_name:
            wanted = {
                str(item[0].data[grid_name])
                for item in pending
                if item[0].lat is None and item[0].data.get(grid_name)
            }
            self._load_codes(wanted - self._areas.keys())
        for rec, problems, _values, _t in pending:
            if rec.lat is not None:
                continue
            code = str(rec.data.get(grid_name, "")) if grid_name else ""
            if code:
                area = self._areas.get(code)
                if area is None:
                    problems.append(
                        _problem(
                            grid_name or "",
                            "unknown_area",
                            _("no grid, community or other area has the code %(code)s")
                            % {"code": _show(code)},
                        )
                    )
                elif not area[1].startswith(self.area_path):
                    problems.append(
                        _problem(
                            grid_name or "",
                            "outside_area",
                            _("the area %(code)s lies outside the dataset's area")
                            % {"code": _show(code)},
                        )
                    )
                else:
                    rec.jurisdiction_id, rec.jurisdiction_path = area
                    self.stats["located_by_grid"] += 1
                continue
            address = str(rec.data.get(address_name, "")) if address_name else ""
            if address:
                hit = self._address(address)
                if isinstance(hit, tuple):
                    rec.jurisdiction_id, rec.jurisdiction_path = hit
                    self.stats["located_by_address"] += 1
                elif hit == "outside":
                    self.stats["address_outside_area"] += 1
                else:
                    self.stats["address_not_found"] += 1
                continue
            self.stats["no_area"] += 1

    def _load_codes(self, codes: set[str]) -> None:
        from civitas.geo.models import Jurisdiction

        if not codes:
            return
        for code in codes:
            self._areas[code] = None
        found = Jurisdiction.objects.filter(code__in=codes).values_list("code", "id", "path")
        for code, pk, path in found:
            self._areas[code] = (pk, path)

    def _address(self, text: str) -> tuple[int, str] | str | None:
        if text in self._addresses:
            return self._addresses[text]
        from civitas.geo.gazetteer import gazetteer

        hit = gazetteer().best(text)
        result: tuple[int, str] | str | None = None
        if hit is not None:
            if hit.code not in self._areas:
                self._load_codes({hit.code})
            area = self._areas.get(hit.code)
            if area and area[1].startswith(self.area_path):
                result = area
            elif area:
                result = "outside"
        if len(self._addresses) < 200_000:
            self._addresses[text] = result
        return result


def _problem(field_name: str, code: str, message: str) -> Problem:
    return {"field": field_name, "code": code, "message": redact(str(message))}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
