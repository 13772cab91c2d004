"""The pages: who may open what, scoping through the one door, forms, and page hygiene."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from civitas.geo.models import Level
from civitas.kit import audit
from civitas.kit.models import AuditEntry
from civitas.org import services as org_services
from civitas.org.models import ResponsibilityRevision, ResponsibilityRule, User
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


class _Scripts(HTMLParser):
    """Collects <script> tags, inline style attributes and <style> elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_bodies: list[str] = []
        self.style_attrs: list[str] = []
        self.style_tags = 0
        self.html_lang: str | None = None
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "script":
            self.scripts.append(a)
            self._in_script = a
        if tag == "style":
            self.style_tags += 1
        if "style" in a:
            self.style_attrs.append(tag)
        if any(k.startswith("on") for k in a):
            self.inline_bodies.append(f"<{tag} on…>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        script = self._in_script
        if (
            script is not None
            and not script.get("src")
            and script.get("type") != "application/json"
        ) and data.strip():
            self.inline_bodies.append(data.strip()[:80])


def parse(html: bytes) -> _Scripts:
    p = _Scripts()
    p.feed(html.decode())
    return p


@pytest.fixture
def rules(city: dict[str, Any], people: dict[str, User]) -> dict[str, ResponsibilityRule]:
    levels = {lv.code: lv for lv in Level.objects.all()}
    with transaction.atomic():
        citywide = org_services.save_responsibility(
            actor="test",
            reason="initial list",
            matter=city["leaf"],
            level=levels["district"],
            city="T",
            unit_type="housing",
        )
        local = org_services.save_responsibility(
            actor="test",
            reason="district 2 handles lifts itself",
            matter=city["leaf"],
            level=levels["street"],
            city="T",
            jurisdiction=city["T-D2"],
            unit=city["T-D2-housing"],
        )
    return {"citywide": citywide, "local": local}


PAGES = [
    ("home", []),
    ("city", []),
    ("city-search", []),
    ("jurisdiction", ["T-D1"]),
    ("jurisdiction-map", ["T-D1"]),
    ("locate", []),
    ("places", []),
    ("units", []),
    ("unit", ["T-D1-HOUSING"]),
    ("people", []),
    ("matters", []),
    ("matter", ["T-M1-1-1"]),
    ("responsibilities", []),
    ("responsibility-new", []),
    ("audit", []),
]


class TestEveryPageRenders:
    @pytest.mark.parametrize(("name", "args"), PAGES)
    def test_for_an_administrator(
        self, people: dict[str, User], name: str, args: list[str]
    ) -> None:
        r = client_for(people["admin"]).get(reverse(name, args=args))
        assert r.status_code == 200

    def test_rule_pages(self, people: dict[str, User], rules: dict[str, Any]) -> None:
        c = client_for(people["admin"])
        for name in ("responsibility", "responsibility-edit"):
            r = c.get(reverse(name, args=[rules["local"].pk]))
            assert r.status_code == 200
            assert "Lift out of service" in r.content.decode()

    def test_reference_pages_for_a_resident(self, people: dict[str, User]) -> None:
        c = client_for(people["resident"])
        for name, args in [("home", []), ("city", []), ("jurisdiction", ["T"]), ("matters", [])]:
            assert c.get(reverse(name, args=args)).status_code == 200


class TestSignInRequired:
    @pytest.mark.parametrize(("name", "args"), PAGES)
    def test_anonymous_is_sent_to_sign_in(self, city: Any, name: str, args: list[str]) -> None:
        url = reverse(name, args=args)
        r = Client().get(url)
        assert r.status_code == 302
        assert r["Location"].startswith(reverse("login"))
        assert "next=" in r["Location"]

    def test_sign_in_page_renders_and_signs_in(self, people: dict[str, User]) -> None:
        c = Client()
        assert c.get(reverse("login")).status_code == 200
        r = c.post(
            reverse("login"),
            {"username": "d1", "password": "correct horse battery staple"},
            REMOTE_ADDR="10.0.0.1",
        )
        assert r.status_code == 302
        assert c.get(reverse("home")).status_code == 200


class TestHome:
    def test_shows_roles_scope_and_allowed_links(self, people: dict[str, User]) -> None:
        html = client_for(people["d1"]).get(reverse("home")).content.decode()
        assert "Dispatcher" in html
        assert "North 1 District" in html  # the scope
        assert reverse("units") in html
        assert reverse("audit") not in html

    def test_resident_sees_no_staff_links(self, people: dict[str, User]) -> None:
        html = client_for(people["resident"]).get(reverse("home")).content.decode()
        assert "Resident" in html
        for name in ("units", "people", "responsibilities", "audit"):
            assert f'href="{reverse(name)}"' not in html


class TestScoping:
    def test_district_dispatcher_sees_only_own_district_units(
        self, people: dict[str, User]
    ) -> None:
        c = client_for(people["d1"])
        html = c.get(reverse("units")).content.decode()
        assert "District 1 Housing Bureau" in html
        assert "District 2 Housing Bureau" not in html
        assert "City Service Centre" not in html
        # Searching does not widen the scope.
        found = c.get(reverse("units"), {"q": "District 2"}).content.decode()
        assert "District 2 Housing Bureau" not in found
        assert "No unit in your area matches" in found

    def test_out_of_scope_unit_is_not_found(self, people: dict[str, User]) -> None:
        c = client_for(people["d1"])
        assert c.get(reverse("unit", args=["T-D1-HOUSING"])).status_code == 200
        r = c.get(reverse("unit", args=["T-D2-HOUSING"]))
        assert r.status_code == 404
        assert "District 2 Housing Bureau" not in r.content.decode()

    def test_district_dispatcher_sees_only_own_district_people(
        self, people: dict[str, User]
    ) -> None:
        html = client_for(people["d1"]).get(reverse("people")).content.decode()
        assert "<code>d1</code>" in html
        assert "<code>d2</code>" not in html
        assert "<code>handler</code>" not in html
        assert "<code>admin</code>" not in html

    def test_city_centre_sees_everything(self, people: dict[str, User]) -> None:
        c = client_for(people["centre"])
        units = c.get(reverse("units")).content.decode()
        for name in (
            "District 1 Housing Bureau",
            "District 2 Housing Bureau",
            "City Service Centre",
        ):
            assert name in units
        assert c.get(reverse("unit", args=["T-D2-HOUSING"])).status_code == 200
        folks = c.get(reverse("people")).content.decode()
        for username in ("d1", "d2", "handler", "admin"):
            assert f"<code>{username}</code>" in folks

    @pytest.mark.parametrize("name", ["units", "people", "responsibilities"])
    def test_resident_gets_an_explained_refusal(self, people: dict[str, User], name: str) -> None:
        r = client_for(people["resident"]).get(reverse(name))
        assert r.status_code == 403
        html = r.content.decode()
        assert "staff" in html
        assert reverse("home") in html  # says what to do next

    def test_resident_cannot_open_a_unit(self, people: dict[str, User]) -> None:
        r = client_for(people["resident"]).get(reverse("unit", args=["T-D1-HOUSING"]))
        assert r.status_code == 403

    def test_out_of_scope_responsibility_is_not_found(
        self, people: dict[str, User], rules: dict[str, Any]
    ) -> None:
        c = client_for(people["d1"])
        assert c.get(reverse("responsibility", args=[rules["citywide"].pk])).status_code == 200
        assert c.get(reverse("responsibility", args=[rules["local"].pk])).status_code == 404
        listing = c.get(reverse("responsibilities")).content.decode()
        assert reverse("responsibility", args=[rules["citywide"].pk]) in listing
        assert reverse("responsibility", args=[rules["local"].pk]) not in listing

    def test_unknown_jurisdiction_is_not_found(self, people: dict[str, User]) -> None:
        r = client_for(people["d1"]).get(reverse("jurisdiction", args=["NOPE"]))
        assert r.status_code == 404
        assert "cannot find" in r.content.decode()


class TestUnitPeople:
    def test_phones_only_for_administrators_and_the_units_leader(
        self, people: dict[str, User]
    ) -> None:
        url = reverse("unit", args=["T-D2-HOUSING"])
        for who, sees in [("admin", True), ("leader", True), ("handler", False), ("d2", False)]:
            html = client_for(people[who]).get(url).content.decode()
            assert "handler" in html or people["handler"].display_name in html
            assert ("+86 10 2222" in html) is sees, who


class TestCity:
    def test_levels_in_rank_order(self, people: dict[str, User]) -> None:
        html = client_for(people["d1"]).get(reverse("city")).content.decode()
        table = html[html.index("<h3>Levels</h3>") :]
        order = [table.index(f"<td>{name}") for name in ("City", "District", "Street", "Community")]
        assert order == sorted(order)

    def test_tree_lists_children_with_counts(self, people: dict[str, User]) -> None:
        html = client_for(people["d1"]).get(reverse("jurisdiction", args=["T-D1"])).content.decode()
        assert "Elm 11 Street" in html and "Elm 12 Street" in html
        assert "Elm 21 Street" not in html
        assert 'data-src="/city/j/T-D1/map.json"' in html

    def test_map_data_is_geojson_of_self_and_children(self, people: dict[str, User]) -> None:
        data = client_for(people["d1"]).get(reverse("jurisdiction-map", args=["T-D1"])).json()
        assert data["type"] == "FeatureCollection"
        roles = sorted((f["properties"]["name"], f["properties"]["role"]) for f in data["features"])
        assert roles == [("T-D1", "self"), ("T-D1-S1", "child"), ("T-D1-S2", "child")]
        assert data["features"][0]["geometry"]["type"] == "Polygon"

    def test_htmx_search_returns_a_fragment(self, people: dict[str, User]) -> None:
        c = client_for(people["d1"])
        r = c.get(reverse("city-search"), {"q": "Elm 2"}, HTTP_HX_REQUEST="true")
        html = r.content.decode()
        assert "<html" not in html
        assert "Elm 21 Street" in html and "Elm 22 Street" in html
        assert "Elm 11 Street" not in html

    def test_search_by_code_and_alias(self, people: dict[str, User]) -> None:
        c = client_for(people["d1"])
        by_alias = c.get(reverse("city-search"), {"q": "A2"}, HTTP_HX_REQUEST="true")
        assert "North 2 District" in by_alias.content.decode()
        by_code = c.get(reverse("city-search"), {"q": "T-D1-S2-C1"}, HTTP_HX_REQUEST="true")
        assert "Oak 121 Community" in by_code.content.decode()
        by_zh = c.get(reverse("city-search"), {"q": "榆树22"}, HTTP_HX_REQUEST="true")
        assert "Elm 22 Street" in by_zh.content.decode()

    def test_search_without_htmx_is_a_full_page(self, people: dict[str, User]) -> None:
        r = client_for(people["d1"]).get(reverse("city-search"), {"q": "Oak 111"})
        assert "<html" in r.content.decode() and "Oak 111 Community" in r.content.decode()

    def test_locate_gives_the_chain(self, people: dict[str, User]) -> None:
        r = client_for(people["d1"]).get(reverse("locate"), {"lat": "1.5", "lon": "2.5"})
        html = r.content.decode()
        chain = ["Testville", "North 2 District", "Elm 21 Street", "Oak 212 Community"]
        positions = [html.index(name) for name in chain]
        assert positions == sorted(positions)

    def test_locate_outside_and_invalid(self, people: dict[str, User]) -> None:
        c = client_for(people["d1"])
        assert (
            "No jurisdiction contains"
            in c.get(reverse("locate"), {"lat": "50", "lon": "50"}).content.decode()
        )
        bad = c.get(reverse("locate"), {"lat": "95", "lon": "x"}).content.decode()
        assert bad.count('class="error"') == 2

    def test_places_in_text(self, people: dict[str, User]) -> None:
        r = client_for(people["d1"]).post(
            reverse("places"), {"text": "电梯坏了，在北1区榆树12街道橡树121社区"}
        )
        html = r.content.decode()
        assert "Oak 121 Community" in html
        assert "%" in html


class TestMatters:
    def test_catalogue_shows_leaf_facts(self, people: dict[str, User]) -> None:
        html = client_for(people["resident"]).get(reverse("matters")).content.decode()
        assert "Housing" in html and "Property" in html and "Lift out of service" in html
        assert "lift" in html and "15wd" in html
        assert "Housing and urban-rural development" in html

    def test_matter_page(self, people: dict[str, User]) -> None:
        html = client_for(people["d1"]).get(reverse("matter", args=["T-M1-1-1"])).content.decode()
        assert "24h" in html and "Property" in html


class TestResponsibilityEditing:
    def _form(self, city: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        data = {
            "city": "T",
            "matter": "T-M1-1-1",
            "level": "street",
            "jurisdiction": "",
            "unit_type": "street_office",
            "unit": "",
            "note": "",
            "active": "on",
            "reason": "streets handle lifts from now on",
        }
        data.update(overrides)
        return data

    def test_create_requires_a_reason(self, people: dict[str, User], city: Any) -> None:
        c = client_for(people["admin"])
        r = c.post(reverse("responsibility-new"), self._form(city, reason=""))
        assert r.status_code == 200
        assert "This field is required" in r.content.decode()
        assert ResponsibilityRule.objects.count() == 0

    def test_create_makes_a_revision_and_an_audit_entry(
        self, people: dict[str, User], city: Any
    ) -> None:
        c = client_for(people["admin"])
        before = AuditEntry.objects.count()
        r = c.post(reverse("responsibility-new"), self._form(city))
        rule = ResponsibilityRule.objects.get()
        assert r.status_code == 302 and r["Location"] == reverse("responsibility", args=[rule.pk])
        rev = ResponsibilityRevision.objects.get(rule=rule)
        assert rev.reason == "streets handle lifts from now on"
        assert rev.actor.endswith(":admin")
        entry = AuditEntry.objects.order_by("-seq").first()
        assert AuditEntry.objects.count() == before + 1
        assert entry is not None and entry.action == "responsibility.create"
        page = c.get(r["Location"]).content.decode()
        assert "streets handle lifts from now on" in page

    def test_edit_bumps_the_version(self, people: dict[str, User], rules: dict[str, Any]) -> None:
        c = client_for(people["admin"])
        rule = rules["citywide"]
        data = {
            "city": "T",
            "matter": "T-M1-1-1",
            "level": "district",
            "unit_type": "housing",
            "note": "confirmed by the mayor's office",
            "active": "on",
            "reason": "add a note",
        }
        r = c.post(reverse("responsibility-edit", args=[rule.pk]), data)
        assert r.status_code == 302
        rule.refresh_from_db()
        assert rule.version == 2
        assert list(rule.revisions.values_list("reason", flat=True)) == [
            "initial list",
            "add a note",
        ]
        assert AuditEntry.objects.order_by("-seq").first().action == "responsibility.update"

    def test_service_refusal_is_shown_on_the_form(self, people: dict[str, User], city: Any) -> None:
        c = client_for(people["admin"])
        r = c.post(reverse("responsibility-new"), self._form(city, unit_type=""))
        assert r.status_code == 200
        assert "name a responsible department type or a unit" in r.content.decode()
        assert ResponsibilityRule.objects.count() == 0

    def test_unknown_unit_code_is_refused(self, people: dict[str, User], city: Any) -> None:
        r = client_for(people["admin"]).post(
            reverse("responsibility-new"), self._form(city, unit="NOPE")
        )
        assert "No unit you may see has the code NOPE" in r.content.decode()

    @pytest.mark.parametrize("who", ["d1", "centre", "auditor", "resident"])
    def test_non_administrators_cannot_edit(
        self, people: dict[str, User], rules: dict[str, Any], who: str
    ) -> None:
        c = client_for(people[who])
        assert c.get(reverse("responsibility-new")).status_code == 403
        r = c.post(reverse("responsibility-new"), self._form({}))
        assert r.status_code == 403
        assert ResponsibilityRule.objects.count() == 2
        if who != "resident":
            page = c.get(reverse("responsibility", args=[rules["citywide"].pk])).content.decode()
            assert reverse("responsibility-edit", args=[rules["citywide"].pk]) not in page


class TestAudit:
    def test_auditor_sees_entries_and_verifies_with_htmx(self, people: dict[str, User]) -> None:
        c = client_for(people["auditor"])
        html = c.get(reverse("audit")).content.decode()
        assert "jurisdiction.create" in html
        r = c.post(reverse("audit-verify"), HTTP_HX_REQUEST="true")
        assert r.status_code == 200
        assert "The chain is intact" in r.content.decode()
        assert "<html" not in r.content.decode()

    def test_tampering_is_reported(self, people: dict[str, User]) -> None:
        AuditEntry.objects.filter(seq=2).update(reason="rewritten")
        r = client_for(people["admin"]).post(reverse("audit-verify"))
        assert "The chain is broken at entry #2" in r.content.decode()

    def test_paginated_newest_first(self, people: dict[str, User]) -> None:
        with transaction.atomic():
            for i in range(60):
                audit.record(actor="test", action="thing.touch", object_type="t", object_id=i)
        c = client_for(people["auditor"])
        first = c.get(reverse("audit")).content.decode()
        last_seq = AuditEntry.objects.order_by("-seq").first()
        assert last_seq is not None
        assert f'<td class="num">{last_seq.seq}</td>' in first
        assert "Page 1 of 2" in first
        second = c.get(reverse("audit"), {"page": 2}).content.decode()
        assert "Page 2 of 2" in second and '<td class="num">1</td>' in second

    @pytest.mark.parametrize("who", ["d1", "resident"])
    def test_others_are_refused(self, people: dict[str, User], who: str) -> None:
        c = client_for(people[who])
        assert c.get(reverse("audit")).status_code == 403
        assert c.post(reverse("audit-verify")).status_code == 403


class TestPageHygiene:
    @pytest.mark.parametrize(("name", "args"), PAGES)
    def test_csp_and_no_inline_script_or_style(
        self, people: dict[str, User], name: str, args: list[str]
    ) -> None:
        r = client_for(people["admin"]).get(reverse(name, args=args))
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        if r["Content-Type"].startswith("application/json"):
            return
        page = parse(r.content)
        assert page.scripts, "pages load their scripts from files"
        assert all(s.get("src") for s in page.scripts)
        assert page.inline_bodies == []
        assert page.style_attrs == [] and page.style_tags == 0

    def test_error_pages_are_clean_too(self, people: dict[str, User]) -> None:
        r = client_for(people["resident"]).get(reverse("units"))
        page = parse(r.content)
        assert page.inline_bodies == [] and page.style_attrs == []

    def test_language_switch_changes_lang(self, people: dict[str, User]) -> None:
        c = client_for(people["d1"])
        assert parse(c.get(reverse("city")).content).html_lang == "en"
        r = c.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("city")})
        assert r.status_code == 302
        html = c.get(reverse("city")).content
        assert parse(html).html_lang == "zh-hans"
        assert "测试市" in html.decode()  # names follow the language
        c.post(reverse("set_language"), {"language": "en", "next": reverse("city")})
        assert parse(c.get(reverse("city")).content).html_lang == "en"

    def test_server_error_page_renders_without_a_request(self) -> None:
        html = render_to_string("500.html")
        assert "Something went wrong" in html and "<html" in html
        assert parse(html.encode()).inline_bodies == []

    def test_htmx_is_configured_for_the_csp(self, people: dict[str, User]) -> None:
        html = client_for(people["d1"]).get(reverse("city")).content.decode()
        assert '"includeIndicatorStyles": false' in html
