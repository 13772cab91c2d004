"""Script injection: text people write is shown back as text, never as markup.

Hostile text goes in through the services (as a form or the API would put it) into the
fields shown back on pages — an appeal's text (the resident's tracking page and the staff's
case page), a suggestion's title and text, a consultation's title, body and comments — and
the pages are read: the markup must arrive escaped. The templates never mark text safe
(a guard below reads them), and every page carries a CSP without 'unsafe-inline' scripts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

import civitas
from civitas.appeals import intake
from civitas.org.models import Role
from civitas.participation import consultations
from tests.factories import member
from tests.participation.conftest import part  # noqa: F401 - a fixture
from tests.participation.suggest_helpers import consultation, propose

PAYLOADS = [
    "<script>alert('xss-1')</script>",
    '"><img src=x onerror=alert("xss-2")>',
    "javascript:alert('xss-3')",
    "<svg/onload=alert('xss-4')>",
    "</textarea><iframe src=javascript:alert('xss-5')>",
]
HOSTILE = " ".join(PAYLOADS)
# What must never appear raw in a page: the payloads' tags (their text may, escaped).
RAW = ["<script>alert(", "<img src=x", "<svg/onload", "<iframe src=javascript", '"><img']


def assert_escaped(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} reached the page unescaped"
    assert re.search(r"javascript:alert\('xss-3'\)|javascript:alert\(&#x27;xss-3&#x27;\)", html), (
        f"{where}: the text itself is missing (the test would prove nothing)"
    )
    assert "&lt;img src=x" in html or "&lt;script&gt;" in html
    assert 'href="javascript:' not in html and "href='javascript:" not in html


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.django_db
def test_an_appeals_text_on_the_tracking_and_case_pages(city: dict[str, Any]) -> None:
    resident = member("resident", Role.RESIDENT)
    dispatcher = member("dispatcher", Role.DISPATCHER, city["centre"])
    with transaction.atomic():
        made = intake.submit(
            actor=resident,
            data=intake.AppealIn(
                city="T",
                text="The lift is broken " + HOSTILE,
                lat=0.5,
                lon=0.5,
                contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
            ),
            resident=resident,
        )
    assert made.token
    track = Client().get(reverse("track", args=[made.token]))
    assert track.status_code == 200
    assert_escaped(track.content.decode(), "tracking page")
    case = client_for(dispatcher).get(reverse("case", args=[made.appeal.ticket]))
    assert case.status_code == 200
    assert_escaped(case.content.decode(), "case page")


@pytest.mark.django_db
def test_a_suggestion_on_the_public_pages(part: dict[str, Any]) -> None:  # noqa: F811
    author = part["residents"][0]
    s = propose(author, part["T-D1-S1-C1"], title="Benches " + PAYLOADS[1], text=HOSTILE)
    for url in (
        reverse("participation-suggestion", args=[s.code]),
        reverse("participation-suggestions"),
    ):
        page = Client().get(url)
        assert page.status_code == 200
        html = page.content.decode()
        for raw in RAW:
            assert raw not in html, f"{url}: {raw!r} unescaped"
    assert_escaped(
        Client().get(reverse("participation-suggestion", args=[s.code])).content.decode(),
        "suggestion page",
    )


@pytest.mark.django_db
def test_a_consultation_and_its_comments(part: dict[str, Any]) -> None:  # noqa: F811
    c = consultation(part)
    c.title = "Market street " + PAYLOADS[0]
    c.body = HOSTILE
    c.save()
    with transaction.atomic():
        consultations.comment(part["residents"][0], c, position="support", text=HOSTILE)
    page = Client().get(reverse("participation-consultation", args=[c.code]))
    assert page.status_code == 200
    assert_escaped(page.content.decode(), "consultation page")


def test_no_template_marks_text_safe() -> None:
    src = Path(civitas.__file__).parent
    risky = re.compile(r"\|\s*safe\b|{%\s*autoescape\s+off|\bmark_safe\(|\bSafeString\(")
    found = [
        f"{p.relative_to(src)}"
        for p in sorted([*src.rglob("*.html"), *src.rglob("*.py")])
        if "migrations" not in p.parts and risky.search(p.read_text(encoding="utf-8"))
    ]
    assert found == [], f"text marked safe (check each is not user text): {found}"


@pytest.mark.django_db
def test_every_page_carries_a_strict_csp() -> None:
    for url in ("/", "/login/", "/participation/suggestions/"):
        answer = Client().get(url, follow=True)
        csp = answer["Content-Security-Policy"]
        directives = dict(
            ([*d.split(" ", 1), ""])[:2] for d in (x.strip() for x in csp.split(";")) if d
        )
        assert "'unsafe-inline'" not in directives.get("script-src", "")
        assert "'unsafe-eval'" not in directives.get("script-src", "")
        assert directives.get("object-src") == "'none'"
        assert directives.get("frame-ancestors") == "'none'"
        assert directives.get("base-uri") == "'self'"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "body", "where"),
    [
        ("?q=a%00b", None, "q"),
        ("/DC-1%00", None, "the path"),
        ("", '{"title": "a\\u0000b"}', "the request body"),
        ("", '{"title": "a\\\\\\u0000b"}', "the request body"),
    ],
)
def test_nul_characters_are_refused_by_the_json_api(query: str, body: Any, where: str) -> None:
    """PostgreSQL cannot store U+0000: the API names the field instead of failing with a 500."""
    client = Client()
    if body is None:
        answer = client.get("/api/appeals" + query)
    else:
        answer = client.post("/api/appeals", body, content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["field"] == where


def test_a_backslash_before_u0000_is_text_not_a_nul() -> None:
    from civitas.web.nul import _JSON_NUL

    assert _JSON_NUL.search(b'{"a": "x\\\\u0000"}') is None  # the six characters \u0000
    assert _JSON_NUL.search(b'{"a": "x\\u0000"}') is not None
