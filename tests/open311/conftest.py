"""Fixtures and helpers for the Open311 GeoReport v2 tests.

Written from the specification (wiki.open311.org/GeoReport_v2, FixMyStreet's updates
extension), not from the server, so that the tests say what a client may rely on.

Fixtures
    ``o311``         the small test city (tests.factories.small_city) made ready for Open311:
                     three leaf matters with responsibility-list entries, so that requests are
                     dispatched to District 1's housing bureau at (0.5, 0.5); the third
                     ("street light", ``FORM``) has a ServiceAttribute of every datatype,
                     required and optional, and one that is not a question (variable false).
                     People: ``dispatcher``, ``handler`` (the lead unit), ``operator``.
    ``api_key``      the clear text of an API key with scope ``appeals:submit``
                     (``api_key_row`` is its ApiKey row).
    ``api``          an :class:`Open311` client on Django's test client.
    ``second_city``  a second root jurisdiction ``U`` with one leaf matter: the installation then
                     serves two cities, so ``jurisdiction_id`` becomes required.

Helpers
    :class:`Open311` ``get``/``post`` a resource in a format and return an :class:`Answer`
    whose ``data`` has the same shape in both formats (XML is turned into lists and dicts;
    values stay text). Every answer is checked for what the specification requires of all of
    them: the content type and charset, UTF-8, the XML declaration, never an HTML page; an
    XML answer is validated against ``src/civitas/open311/schema/georeport-v2.xsd`` (with the
    stricter type for the kind of <request> asked for), a JSON answer against the same rules.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from lxml import etree

import civitas.open311
from civitas.geo import services as geo_services
from civitas.geo.models import Level
from civitas.matters import services as matter_services
from civitas.org import services as org_services
from civitas.org.models import ApiKey, Role, UnitKind
from tests.factories import member, rect

BASE = "/open311/v2/"
SCHEMA_PATH = Path(civitas.open311.__file__).parent / "schema" / "georeport-v2.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

LIFT = "T-M1-1-1"  # the small city's leaf: no attributes
WATER = "T-M1-1-2"  # tests.factories.water_matter: no attributes
FORM = "T-M1-1-3"  # a leaf with an attribute of every datatype
INSIDE = {"lat": "0.5", "long": "0.5"}  # in T-D1-S1-C1; District 1's housing bureau leads

# A date-time as the w3 note: seconds and a zone (Z or +HH:MM).
W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# The kinds of document, by the element that holds them, and what each record must carry.
RECORD_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
UPDATE_FIELDS = (
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
)
# <request> kinds → the xsi:type the schema checks them with, and the fields they must carry
REQUEST_KINDS = {
    "created": ("CreatedRequest", ("service_request_id",)),
    "deferred": ("DeferredRequest", ("token",)),
    "token": ("TokenAnswer", ("service_request_id", "token")),
    "record": ("RequestRecord", RECORD_FIELDS),
}
UPDATE_KINDS = {
    "update": ("UpdateRecord", UPDATE_FIELDS),
    "update_answer": ("UpdateAnswer", ("update_id",)),
}
# containers whose children are a list (XML → lists, like the JSON arrays)
LISTS = {
    "services",
    "service_requests",
    "service_request_updates",
    "errors",
    "attributes",
    "values",
    "endpoints",
    "formats",
    "groups",
}


# -- answers ------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One answer of the server. ``data`` is the parsed body, the same shape for both formats
    (a list of dicts for services, requests, updates and errors; a dict for discovery and a
    service definition). XML values are text ('' for an empty element); JSON keeps its types.
    """

    status: int
    fmt: str
    content_type: str
    body: bytes
    headers: dict[str, str]
    data: Any = None
    root: Any = None  # the lxml root element of an XML answer
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def errors(self) -> list[dict[str, Any]]:
        assert self.status >= 400, f"{self.url}: expected an error, got {self.status}"
        return list(self.data)

    def error_text(self) -> str:
        """All error descriptions of the answer, lower-cased, for matching."""
        return " ".join(str(e.get("description", "")) for e in self.errors()).lower()

    def one(self) -> dict[str, Any]:
        assert isinstance(self.data, list) and len(self.data) == 1, (self.url, self.data)
        return dict(self.data[0])


def _schema() -> etree.XMLSchema:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    return _SCHEMA


_SCHEMA: etree.XMLSchema | None = None


def xml_to_data(element: Any) -> Any:
    """An XML answer as lists and dicts (values as text), the shape of the JSON answers."""
    children = list(element)
    if element.tag in LISTS:
        return [xml_to_data(child) for child in children]
    if not children:
        return element.text or ""
    return {child.tag: xml_to_data(child) for child in children}


def validate_xml(root: Any, kind: str | None = None) -> None:
    """Validate an XML answer against the schema. ``kind`` (a key of REQUEST_KINDS or
    UPDATE_KINDS) makes each <request> / <request_update> be checked with its stricter type."""
    if kind is not None:
        root = etree.fromstring(etree.tostring(root))  # a copy: the caller's tree stays as sent
        xsi_type, _ = {**REQUEST_KINDS, **UPDATE_KINDS}[kind]
        child = "request" if kind in REQUEST_KINDS else "request_update"
        for element in root.iter(child):
            element.set(f"{{{XSI}}}type", xsi_type)
    schema = _schema()
    if not schema.validate(root):
        raise AssertionError(
            "XML answer does not validate against georeport-v2.xsd:\n"
            + "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
            + "\n"
            + etree.tostring(root, encoding="unicode")[:3000]
        )


def _is_decimal_or_empty(value: Any, low: float, high: float) -> bool:
    if value in (None, ""):
        return True
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if isinstance(value, str) and not re.fullmatch(r"[+-]?\d+(\.\d+)?", value.strip()):
        return False
    return low <= number <= high


def check_json(root_kind: str, data: Any, kind: str | None) -> None:
    """The JSON twin of the schema: the same records, the same required fields and values."""
    if root_kind == "errors":
        assert isinstance(data, list) and data, data
        for e in data:
            assert set(e) >= {"code", "description"}, e
            assert isinstance(e["code"], int) and not isinstance(e["code"], bool), e
            assert isinstance(e["description"], str) and e["description"].strip(), e
        return
    if kind in REQUEST_KINDS or kind in UPDATE_KINDS:
        assert isinstance(data, list), data
        required = {**REQUEST_KINDS, **UPDATE_KINDS}[kind][1]
        for record in data:
            missing = [f for f in required if f not in record]
            assert not missing, f"{kind} record lacks {missing}: {record}"
            for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
                value = record.get(name)
                if value not in (None, ""):
                    assert isinstance(value, str) and W3.match(value), f"{name}={value!r}"
            assert _is_decimal_or_empty(record.get("lat"), -90, 90), record.get("lat")
            assert _is_decimal_or_empty(record.get("long"), -180, 180), record.get("long")
            if kind == "record":
                assert record["status"] in ("open", "closed"), record["status"]
                assert record["service_request_id"] not in (None, ""), record
                assert W3.match(record["requested_datetime"] or ""), record
            if kind in ("created",):
                assert record["service_request_id"] not in (None, ""), record
            if kind in ("deferred", "token"):
                assert record["token"] not in (None, ""), record
            if kind == "update":
                assert record["update_id"] not in (None, ""), record
                assert W3.match(record["updated_datetime"] or ""), record


def _root_kind(data: Any, path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name.startswith("discovery"):
        return "discovery"
    return name


class Open311:
    """GeoReport v2 over Django's test client (or, with ``live``, real HTTP).

    ``get("services", "xml")`` asks ``/open311/v2/services.xml``; ``kind`` names the kind of
    records expected (``record``, ``created``, ``deferred``, ``token``, ``update``,
    ``update_answer``) so they are checked strictly. Parameters are passed as given (lists
    for repeated keys); ``None`` values are left out.
    """

    def __init__(self, client: Client | None = None, live: str | None = None) -> None:
        self.client = client or Client()
        self.live = live

    def url(self, path: str, fmt: str) -> str:
        return f"{BASE}{path}.{fmt}" if fmt else f"{BASE}{path}"

    def get(self, path: str, fmt: str = "json", kind: str | None = None, **params: Any) -> Answer:
        return self.call("GET", path, fmt, kind, params)

    def post(self, path: str, fmt: str = "json", kind: str | None = None, **params: Any) -> Answer:
        return self.call("POST", path, fmt, kind, params)

    def call(
        self, method: str, path: str, fmt: str, kind: str | None, params: dict[str, Any]
    ) -> Answer:
        url = self.url(path, fmt)
        clean = {k: v for k, v in params.items() if v is not None}
        if self.live:
            answer = self._http(method, url, clean, fmt)
        else:
            if method == "GET":
                response = self.client.get(url, clean)
            elif method == "POST":
                response = self.client.post(  # form-encoded, as the specification says
                    url,
                    urllib.parse.urlencode(clean, doseq=True),
                    content_type="application/x-www-form-urlencoded",
                )
            else:
                response = self.client.generic(method, url)
            answer = Answer(
                status=response.status_code,
                fmt=fmt,
                content_type=response.headers.get("Content-Type", ""),
                body=response.content,
                headers=dict(response.headers.items()),
                url=url,
            )
        inspect(answer, kind)
        return answer

    def _http(self, method: str, url: str, params: dict[str, Any], fmt: str) -> Answer:
        assert self.live
        body = urllib.parse.urlencode(params, doseq=True)
        full = self.live + url
        data = None
        if method == "GET":
            full += ("?" + body) if body else ""
        else:
            data = body.encode()
        request = urllib.request.Request(full, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
                status, headers, content = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, content = error.code, error.headers, error.read()
        return Answer(
            status=status,
            fmt=fmt,
            content_type=headers.get("Content-Type", ""),
            body=content,
            headers=dict(headers.items()),
            url=url,
        )


def inspect(answer: Answer, kind: str | None = None) -> None:
    """What the specification requires of every answer, in either format, error or not."""
    ctype = answer.content_type.lower()
    assert not ctype.startswith("text/html"), f"{answer.url}: an HTML page ({answer.status})"
    assert b"Traceback" not in answer.body, f"{answer.url}: a traceback in the answer"
    assert answer.status != 500, f"{answer.url}: server error\n{answer.body[:2000]!r}"
    if answer.status == 204:
        return
    answer.body.decode("utf-8")  # UTF-8 everywhere
    if answer.fmt == "xml":
        media = ctype.split(";")[0].strip()
        assert media in ("text/xml", "application/xml"), f"{answer.url}: {ctype}"
        assert "charset=utf-8" in ctype.replace(" ", ""), f"{answer.url}: {ctype}"
        head = answer.body.lstrip(b"\xef\xbb\xbf")[:100]
        assert re.match(rb"<\?xml version=[\"']1\.0[\"'] encoding=[\"']UTF-8[\"']", head, re.I), (
            f"{answer.url}: no XML declaration with encoding UTF-8: {head!r}"
        )
        root = etree.fromstring(answer.body, parser=etree.XMLParser(resolve_entities=False))
        answer.root = root
        if answer.status >= 400:
            assert root.tag == "errors", f"{answer.url}: an error answer must be <errors>"
            validate_xml(root)
        else:
            validate_xml(root, kind)
        answer.data = xml_to_data(root)
    elif answer.fmt == "json":
        media = ctype.split(";")[0].strip()
        assert media == "application/json", f"{answer.url}: {ctype}"
        assert "charset=utf-8" in ctype.replace(" ", ""), f"{answer.url}: {ctype}"
        answer.data = json.loads(answer.body.decode("utf-8"))
        if answer.status >= 400:
            check_json("errors", answer.data, None)
        else:
            check_json("", answer.data, kind)


# -- the city -------------------------------------------------------------------------------------

ATTRIBUTES: list[dict[str, Any]] = [
    {
        "code": "pole",
        "datatype": "string",
        "required": True,
        "order": 1,
        "description_en": "The number on the pole",
        "datatype_description": "As painted on the pole, e.g. SL-0042",
    },
    {"code": "height", "datatype": "number", "order": 2, "description_en": "Height in metres"},
    {"code": "noticed", "datatype": "datetime", "order": 3, "description_en": "When noticed"},
    {"code": "details", "datatype": "text", "order": 4, "description_en": "Anything else"},
    {
        "code": "colour",
        "datatype": "singlevaluelist",
        "required": True,
        "order": 5,
        "description_en": "Colour of the light",
        "values": [
            {"key": "red", "name_en": "Red", "name_zh": "红"},
            {"key": "amber", "name_en": "Amber", "name_zh": "黄"},
            {"key": "dark", "name_en": "No light", "name_zh": "不亮"},
        ],
    },
    {
        "code": "hazards",
        "datatype": "multivaluelist",
        "order": 6,
        "description_en": "Hazards you see",
        "values": [
            {"key": "wires", "name_en": "Loose wires", "name_zh": "电线裸露"},
            {"key": "glass", "name_en": "Broken glass", "name_zh": "碎玻璃"},
            {"key": "leaning", "name_en": "Leaning pole", "name_zh": "灯杆倾斜"},
        ],
    },
    {
        "code": "safety",
        "datatype": "text",
        "variable": False,
        "order": 7,
        "description_en": "Keep away from fallen wires and call 110 if someone is hurt.",
    },
]
# A complete, valid set of answers for FORM, as form fields.
FORM_ANSWERS = {
    "attribute[pole]": "SL-0042",
    "attribute[colour]": "dark",
}


def make_form_matter(city: dict[str, Any]) -> Any:
    from civitas.open311.models import ServiceAttribute

    with transaction.atomic():
        form = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code=FORM,
            name_en="Street light out",
            name_zh="路灯不亮",
            parent=city["leaf"].parent,
            keywords=["street light", "路灯"],
            deadlines={"normal": {"respond": "24h", "resolve": "5wd"}},
            responsible={"district": "housing"},
        )
        for spec in ATTRIBUTES:
            ServiceAttribute.objects.create(matter=form, **spec)
    return form


@pytest.fixture
def o311(city: dict[str, Any]) -> dict[str, Any]:
    """The small city ready for Open311 (see the module's docstring)."""
    from tests.factories import water_matter

    water_matter(city, listed=True)
    city["form"] = make_form_matter(city)
    with transaction.atomic():
        for matter in (city["leaf"], city["form"]):
            org_services.save_responsibility(
                actor="test",
                reason="setup",
                matter=matter,
                level=city["levels"]["district"],
                city="T",
                unit_type="housing",
            )
    city["dispatcher"] = member("dispatcher", Role.DISPATCHER, city["centre"])
    city["handler"] = member("handler", Role.UNIT_HANDLER, city["T-D1-housing"])
    city["operator"] = member("operator", Role.HOTLINE_OPERATOR, city["centre"])
    return city


@pytest.fixture
def second_city(o311: dict[str, Any]) -> dict[str, Any]:
    """A second city ``U`` (lon 10..12, lat 0..2) with one leaf matter ``U-M1``."""
    with transaction.atomic():
        other = geo_services.save_jurisdiction(
            actor="test",
            code="U",
            level=Level.objects.get(code="city"),
            name_en="Otherton",
            name_zh="另一市",
            boundary=rect(10, 0, 12, 2),
        )
        org_services.save_unit(
            actor="test",
            code="U-CENTRE",
            kind=UnitKind.CENTRE,
            name_en="Otherton Service Centre",
            name_zh="另一市服务中心",
            jurisdiction=other,
        )
        matter_services.save_matter(
            actor="test", catalogue="U", code="U-M1", name_en="Potholes", name_zh="坑洼"
        )
    return {"U": other}


@pytest.fixture
def api_key_row(db: Any) -> tuple[ApiKey, str]:
    with transaction.atomic():
        return org_services.create_api_key(
            actor="test", name="A resident app", scopes=["appeals:submit"]
        )


@pytest.fixture
def api_key(api_key_row: tuple[ApiKey, str]) -> str:
    """The clear text of an API key with scope appeals:submit (no unit: a city app)."""
    return api_key_row[1]


@pytest.fixture
def api() -> Open311:
    return Open311(Client())


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Rate limits count in Django's cache: every test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _plain_settings(settings: Any) -> None:
    """The defaults these tests assume unless a test says otherwise."""
    settings.CIVITAS_OPEN311_DEFER = False
    settings.CIVITAS_OPEN311_PUBLIC_TEXT = False
    settings.CIVITAS_OPEN311_POST_RATE = "1000/m"
    settings.CIVITAS_OPEN311_GET_RATE = "10000/m"


# -- requests --------------------------------------------------------------------------------------

CONTACT = {
    "first_name": "Meilin",
    "last_name": "Xuanyuan",
    "email": "meilin.x@example.org",
    "phone": "13912345678",
}


def request_form(key: str, **overrides: Any) -> dict[str, Any]:
    """A valid POST requests form for the lift matter at (0.5, 0.5); ``None`` drops a field."""
    form: dict[str, Any] = {
        "api_key": key,
        "service_code": LIFT,
        **INSIDE,
        "description": "The lift in building 3 has been stuck on the 5th floor since Monday.",
        **CONTACT,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def create(api: Open311, key: str, fmt: str = "json", **overrides: Any) -> str:
    """POST a valid request and return its service_request_id (the appeal's ticket)."""
    answer = api.post("requests", fmt, kind="created", **request_form(key, **overrides))
    assert answer.status == 201, (answer.status, answer.body)
    return str(answer.one()["service_request_id"])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
