"""Hostile XML: entity expansion (billion laughs) and external entities are refused cleanly.

Open311 answers in XML (built, never parsed), takes POSTs as form fields (an XML body is not
read), and its client reads other systems' XML through defusedxml with DTDs forbidden. A guard
below reads src: any XML parse must go through defusedxml.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

import civitas
from civitas.open311 import client as o311_client
from civitas.open311.models import ExternalSystem
from civitas.org import services as org_services

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><service_requests><request><service_request_id>&lol9;</service_request_id>"
    b"</request></service_requests>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<service_requests><request><service_request_id>&xxe;</service_request_id></request>"
    b"</service_requests>"
)
REMOTE_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://169.254.169.254/evil.dtd">'
    b"<service_requests><request><token>1</token></request></service_requests>"
)


def system() -> ExternalSystem:
    return ExternalSystem(name="Water Co", endpoint="https://water.example.org/v2", format="xml")


@pytest.mark.parametrize("body", [LAUGHS, XXE, REMOTE_DTD], ids=["laughs", "xxe", "remote-dtd"])
def test_the_client_refuses_entities_at_once(body: bytes) -> None:
    started = time.monotonic()
    with pytest.raises(o311_client.HandoffError, match="refuse to read"):
        o311_client._parse(system(), body)
    assert time.monotonic() - started < 1.0


def test_the_client_reads_plain_xml() -> None:
    plain = b"<service_requests><request><token>abc</token></request></service_requests>"
    assert o311_client._parse(system(), plain) == [{"token": "abc"}]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [LAUGHS, XXE], ids=["laughs", "xxe"])
def test_the_server_does_not_read_an_xml_body(city: dict[str, Any], body: bytes) -> None:
    with transaction.atomic():
        _, key = org_services.create_api_key(
            actor="test", name="app", scopes=["appeals:submit"], unit=None
        )
    answer = Client().post(
        f"/open311/v2/requests.xml?api_key={key}", data=body, content_type="application/xml"
    )
    assert 400 <= answer.status_code < 500
    text = answer.content.decode()
    assert text.startswith("<?xml") and "lol" not in text and "root:" not in text


def test_every_xml_parse_in_src_goes_through_defusedxml() -> None:
    src = Path(civitas.__file__).parent
    parse = re.compile(
        r"\b(ET|etree|ElementTree|minidom|pulldom|sax|expat)\.(fromstring|parse|iterparse|"
        r"XMLParser|parseString|XML)\("
    )
    unsafe = []
    for path in sorted(src.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if parse.search(line) and "SafeET" not in line and "defusedxml" not in text:
                unsafe.append(f"{path.relative_to(src)}: {line.strip()}")
    assert unsafe == [], unsafe
