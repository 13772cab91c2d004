"""GeoReport v2 documents in XML and JSON, from the same plain data.

A document is a root name, an item name and a list of dicts (``services`` / ``service``), or a
root name and one dict (``discovery``, ``service_definition``). Values are strings, numbers,
booleans, datetimes, ``None`` (an empty element, JSON null) or lists; a list's elements are
named by ``LIST_ITEMS`` (``attributes`` holds ``attribute`` elements). XML is built with the
standard library's ElementTree, which escapes text, and characters XML 1.0 cannot carry are
dropped, so nothing a resident typed can break or inject into the document.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
FORMATS = ("xml", "json")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

LIST_ITEMS = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the offset of the city's time zone (the w3 profile the standard asks)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(settings.TIME_ZONE)).isoformat(timespec="seconds")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value) or ""
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), key, inner)
    elif isinstance(value, list):
        item = LIST_ITEMS.get(name, "item")
        for inner in value:
            _fill(ET.SubElement(element, item), item, inner)
    else:
        element.text = _scalar(value)


def xml_bytes(root: str, body: Any, item: str | None = None) -> bytes:
    element = ET.Element(root)
    if item is None:
        _fill(element, root, body)
    else:
        for entry in body:
            _fill(ET.SubElement(element, item), item, entry)
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def render(
    fmt: str, root: str, body: Any, *, item: str | None = None, status: int = 200
) -> HttpResponse:
    """``body`` is a list of dicts when ``item`` is given (a collection), else one dict."""
    if fmt == "json":
        payload = json.dumps(_jsonable(body), ensure_ascii=False, separators=(",", ":"))
        return HttpResponse(payload.encode(), content_type=JSON_TYPE, status=status)
    return HttpResponse(xml_bytes(root, body, item), content_type=XML_TYPE, status=status)


def error(fmt: str, status: int, description: str, *, code: int | None = None) -> HttpResponse:
    """The standard's ``errors/error`` document (JSON: a list of ``{code, description}``)."""
    body = [{"code": code or status, "description": description}]
    return render(fmt if fmt in FORMATS else "xml", "errors", body, item="error", status=status)
