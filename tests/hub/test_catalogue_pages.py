"""The catalogue pages through Django's test client, in English and Chinese: search with
facets, a dataset's page, the stewards' forms (errors next to the fields), the schema editor
and the versions page; and who may see or change what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.hub import catalogue
from civitas.hub.models import Dataset, SchemaVersion
from civitas.kit import audit
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories
from tests.hub import helpers

pytestmark = pytest.mark.django_db


def client_for(user: Any, lang: str = "en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["civitas_language"] = lang
    return c


def text(response: Any) -> str:
    return response.content.decode()


def codes(html: str) -> list[str]:
    return re.findall(r'<li data-code="([^"]+)"', html)


@pytest.fixture
def many(hub: dict[str, Any], population: Dataset) -> dict[str, Any]:
    """The inspections, the population, and a traffic dataset with Chinese keywords."""
    hub["accidents"] = helpers.make_dataset(
        code="t-accidents",
        owner=hub["market"],
        area=hub["city"]["T-D1"],
        domain="traffic",
        sharing="not_shareable",
        frequency="weekly",
        fields=[("happened_on", "date", "internal", "date", True)],
        keywords=["碰撞", "collision"],
        description_en="Road accidents with injuries.",
        description_zh="有人员受伤的道路交通事故。",
    )
    hub["population"] = population
    return hub


class TestCatalogue:
    def test_everything_visible_with_facets_in_english(self, many: dict[str, Any]) -> None:
        r = client_for(many["consumer"]).get(reverse("hub-catalogue"))
        assert r.status_code == 200
        html = text(r)
        assert codes(html) == ["t-accidents", "t-inspections", "t-population"]
        assert "3 datasets" in html
        assert 'aria-current="page">Data hub</a>' in html
        assert "Shared on conditions" in html and "sharing-not_shareable" in html
        # the facet badges count what each choice would show
        facet = re.search(r'id="facet-domain">(.*?)</section>', html, re.S)
        assert facet is not None
        assert re.search(
            r'data-value="market_supervision">\s*Market supervision\s*<span class="count">1',
            facet.group(1),
        )
        assert re.search(r'data-value="traffic">\s*Traffic\s*<span class="count">1', facet.group(1))
        assert "Health" not in facet.group(1)  # no dataset: no link

    def test_search_and_filters(self, many: dict[str, Any]) -> None:
        c = client_for(many["consumer"])
        url = reverse("hub-catalogue")
        assert codes(text(c.get(url, {"q": "碰撞"}))) == ["t-accidents"]
        assert codes(text(c.get(url, {"q": "INJURIES road"}))) == ["t-accidents"]
        assert codes(text(c.get(url, {"q": "受伤"}))) == ["t-accidents"]
        # field names and labels of the current schema
        assert codes(text(c.get(url, {"q": "legal rep"}))) == ["t-inspections"]
        assert codes(text(c.get(url, {"q": "households"}))) == ["t-population"]
        assert codes(text(c.get(url, {"sharing": "unconditional"}))) == ["t-population"]
        assert codes(text(c.get(url, {"owner": "T-MARKET"}))) == ["t-accidents", "t-inspections"]
        html = text(c.get(url, {"owner": "T-MARKET", "domain": "traffic"}))
        assert codes(html) == ["t-accidents"]
        # the selected value is marked and its link removes it, keeping the other filter
        assert re.search(r'href="\?owner=T-MARKET" aria-current="true"', html)
        assert "No dataset matches" in text(c.get(url, {"q": "nothing-like-this"}))
        wrong = text(c.get(url, {"domain": "weather"}))
        assert "unknown domain" in wrong and len(codes(wrong)) == 3

    def test_pages_of_twenty(self, many: dict[str, Any]) -> None:
        for i in range(21):
            helpers.make_dataset(
                code=f"t-extra-{i:02d}",
                owner=many["market"],
                area=many["city"]["T"],
                fields=[("x", "string", "public", "", False)],
            )
        c = client_for(many["consumer"])
        first = text(c.get(reverse("hub-catalogue"), {"q": "extra"}))
        assert len(codes(first)) == 20 and "Page 1 of 2" in first
        assert 'href="?q=extra&amp;page=2"' in first
        second = text(c.get(reverse("hub-catalogue"), {"q": "extra", "page": 2}))
        assert codes(second) == ["t-extra-20"]

    def test_in_chinese(self, many: dict[str, Any]) -> None:
        html = text(client_for(many["consumer"], "zh-hans").get(reverse("hub-catalogue")))
        assert 'lang="zh-hans"' in html
        assert "t-accidents数据" in html and "有人员受伤的道路交通事故" in html
        assert "Road accidents with injuries" not in html

    def test_a_resident_and_staff_of_another_city_see_nothing(self, many: dict[str, Any]) -> None:
        r = client_for(many["resident"]).get(reverse("hub-catalogue"))
        assert r.status_code == 403
        assert "Data hub" not in text(client_for(many["resident"]).get(reverse("my-appeals")))
        r = client_for(many["resident"]).get(reverse("hub-dataset", args=["t-inspections"]))
        assert r.status_code == 403
        assert Client().get(reverse("hub-catalogue")).status_code == 302  # to sign in
        from civitas.geo import services as geo_services

        with transaction.atomic():
            other = geo_services.save_jurisdiction(
                actor="test",
                code="U",
                level=many["city"]["levels"]["city"],
                name_en="Otherton",
                name_zh="他市",
            )
            unit = org_services.save_unit(
                actor="test",
                code="U-CENTRE",
                kind=UnitKind.CENTRE,
                name_en="Otherton Centre",
                name_zh="他市中心",
                jurisdiction=other,
            )
        stranger = client_for(factories.member("u-analyst", Role.ANALYST, unit))
        html = text(stranger.get(reverse("hub-catalogue")))
        assert codes(html) == [] and "The catalogue is empty" in html
        assert stranger.get(reverse("hub-dataset", args=["t-inspections"])).status_code == 404


class TestDatasetPage:
    def test_metadata_in_both_languages_and_the_schema(self, many: dict[str, Any]) -> None:
        helpers.put_records(many["dataset"], helpers.inspection_rows(3))
        url = reverse("hub-dataset", args=["t-inspections"])
        html = text(client_for(many["consumer"]).get(url))
        assert "<h1>T Inspections" in html
        assert "t-inspections数据" in html  # the Chinese title beside the English
        assert "Market Supervision Bureau" in html and "Testville" in html
        assert "Shared on conditions" in html and "Daily" in html
        assert re.search(r'id="record-count">3<', html)
        row = re.search(r'<tr data-field="legal_rep_id">(.*?)</tr>', html, re.S)
        assert row is not None
        assert 'class="sens sens-secret">Secret<' in row.group(1)
        assert "Identity card number" in row.group(1)
        assert "version 1" in html
        # a consumer is not a steward: no edit buttons
        assert 'id="edit-schema"' not in html and 'id="withdraw"' not in html
        zh = text(client_for(many["consumer"], "zh-hans").get(url))
        assert "<h1>t-inspections数据" in zh and "市场监督管理局" in zh and "测试市" in zh

    def test_the_steward_sees_the_forms(self, many: dict[str, Any]) -> None:
        html = text(client_for(many["steward"]).get(reverse("hub-dataset", args=["t-inspections"])))
        assert 'id="edit-schema"' in html and 'id="edit-dataset"' in html
        assert 'id="withdraw"' in html

    def test_withdrawing_and_bringing_back(self, many: dict[str, Any]) -> None:
        c = client_for(many["steward"])
        url = reverse("hub-dataset-active", args=["t-inspections"])
        r = c.post(url, {"version": 1, "active": "0", "reason": ""}, follow=True)
        assert "say why" in text(r)
        r = c.post(url, {"version": 1, "active": "0", "reason": "replaced"}, follow=True)
        assert "was withdrawn" in text(r)
        assert (
            client_for(many["consumer"])
            .get(reverse("hub-dataset", args=["t-inspections"]))
            .status_code
            == 404
        )
        assert "withdrawn" in text(c.get(reverse("hub-catalogue")))
        c.post(url, {"version": 2, "active": "1"})
        assert Dataset.objects.get(code="t-inspections").active
        assert client_for(many["owner_leader"]).post(url, {"version": 3}).status_code == 403


class TestDatasetForms:
    def data(self, **extra: Any) -> dict[str, Any]:
        return {
            "owner_unit": "",
            "code": "t-noise",
            "title_en": "Noise complaints",
            "title_zh": "噪声投诉",
            "description_en": "",
            "description_zh": "",
            "keywords": "noise, 噪声",
            "domain": "environment",
            "frequency": "monthly",
            "sharing": "unconditional",
            "jurisdiction": "",
            "profile_role": "",
            "profile_field": "",
            **extra,
        }

    def test_a_steward_creates_then_edits(self, many: dict[str, Any]) -> None:
        c = client_for(many["steward"])
        form = text(c.get(reverse("hub-dataset-new")))
        assert "Market Supervision Bureau (T-MARKET)" in form
        assert "District 2 Housing Bureau" not in form  # not a unit of this steward
        r = c.post(reverse("hub-dataset-new"), self.data(owner_unit=many["market"].pk))
        assert r.status_code == 302 and r["Location"] == reverse(
            "hub-schema-edit", args=["t-noise"]
        )
        ds = Dataset.objects.get(code="t-noise")
        assert ds.keywords == ["noise", "噪声"] and ds.jurisdiction == many["city"]["T"]
        edit = reverse("hub-dataset-edit", args=["t-noise"])
        assert 'value="Noise complaints"' in text(c.get(edit))
        r = c.post(
            edit,
            self.data(
                version=1, title_en="Noise", jurisdiction=many["city"]["T-D2"].pk, feeds_risk="on"
            ),
        )
        # feeding the risk detectors needs a date and a place, and there is no schema yet:
        # checked when the schema is saved, so this is accepted
        assert r.status_code == 302
        ds.refresh_from_db()
        assert ds.title_en == "Noise" and ds.jurisdiction_path == many["city"]["T-D2"].path
        assert ds.version == 2 and ds.feeds_risk
        stale = c.post(edit, self.data(version=1, title_en="Old"))
        assert "Someone else changed the dataset" in text(stale)

    def test_errors_stand_next_to_their_fields_in_both_languages(
        self, many: dict[str, Any]
    ) -> None:
        c = client_for(many["steward"])
        r = c.post(
            reverse("hub-dataset-new"),
            self.data(owner_unit=many["market"].pk, code="t-inspections", profile_field="x"),
        )
        html = text(r)
        assert r.status_code == 200
        code_field = re.search(
            r'<div class="field has-error">\s*<label for="id_code">(.*?)</div>', html, re.S
        )
        assert code_field is not None and "exists" in code_field.group(1)
        pf = re.search(r'<label for="id_profile_field">(.*?)</div>', html, re.S)
        assert pf is not None and "only used by a population dataset" in pf.group(1)
        zh = client_for(many["steward"], "zh-hans").post(
            reverse("hub-dataset-new"), self.data(owner_unit=many["market"].pk, title_zh="")
        )
        assert 'lang="zh-hans"' in text(zh) and 'class="error"' in text(zh)
        assert not Dataset.objects.filter(code="t-noise").exists()

    @pytest.mark.parametrize("who", ["consumer", "owner_leader", "outsider"])
    def test_others_may_not(self, many: dict[str, Any], who: str) -> None:
        c = client_for(many[who])
        assert c.get(reverse("hub-dataset-new")).status_code == 403
        assert (
            c.post(reverse("hub-dataset-new"), self.data(owner_unit=many["market"].pk)).status_code
            == 403
        )
        assert c.get(reverse("hub-dataset-edit", args=["t-inspections"])).status_code == 403
        assert (
            c.post(reverse("hub-schema-edit", args=["t-inspections"]), {"rows": 0}).status_code
            == 403
        )
        assert not Dataset.objects.filter(code="t-noise").exists()


def schema_post(rows: list[dict[str, Any]], version: int, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"rows": len(rows), "version": version, "note": "", **extra}
    for i, row in enumerate(rows):
        for k, v in row.items():
            if k in ("required", "remove"):
                if v:
                    data[f"f-{i}-{k}"] = "on"
            else:
                data[f"f-{i}-{k}"] = v
    return data


def row(name: str, ftype: str = "string", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label_en": name.title(),
        "label_zh": f"{name}中文",
        "type": ftype,
        "sensitivity": "internal",
        "key_role": "",
        "max_length": "",
        **extra,
    }


class TestSchemaEditor:
    @pytest.fixture
    def noise(self, many: dict[str, Any]) -> Dataset:
        with transaction.atomic():
            return catalogue.create_dataset(
                many["steward"],
                owner_unit=many["market"],
                code="t-noise",
                title_en="Noise complaints",
                title_zh="噪声投诉",
                domain="environment",
                frequency="monthly",
                sharing="conditional",
            )

    def test_more_rows_then_save_then_a_second_version(
        self, many: dict[str, Any], noise: Dataset
    ) -> None:
        c = client_for(many["steward"])
        url = reverse("hub-schema-edit", args=["t-noise"])
        html = text(c.get(url))
        assert html.count('name="f-') // 9 == 3  # three empty rows, nine inputs each
        more = text(
            c.post(url, schema_post([row("heard_on", "date"), row("", type="string")], 1, more="1"))
        )
        assert 'value="heard_on"' in more and 'name="f-6-name"' in more  # 2 + 5 rows
        assert not SchemaVersion.objects.filter(dataset=noise).exists()
        rows = [
            row("heard_on", "date", key_role="date", required=True),
            row("address", key_role="address", max_length="200"),
            row("", label_en="", label_zh=""),  # left empty: ignored
        ]
        r = c.post(url, schema_post(rows, 1, note="first"), follow=True)
        assert "Version 1 of the schema is now current" in text(r)
        noise.refresh_from_db()
        assert noise.schema is not None and noise.version == 2
        assert [f.name for f in noise.schema.fields.all()] == ["heard_on", "address"]
        # the editor now shows the fields; remove one and add another
        assert 'value="address"' in text(c.get(url))
        rows = [
            row("heard_on", "date", key_role="date", required=True),
            row("address", key_role="address", max_length="200", remove=True),
            row("grid", key_role="grid_code", sensitivity="public"),
        ]
        r = c.post(url, schema_post(rows, 2, save="1"), follow=True)
        assert "Version 2 of the schema" in text(r)
        again = c.post(url, schema_post(rows, 3, save="1"), follow=True)
        assert "Nothing changed" in text(again)
        assert SchemaVersion.objects.filter(dataset=noise).count() == 2
        assert audit.verify().ok

    def test_problems_stand_on_their_rows(self, many: dict[str, Any], noise: Dataset) -> None:
        c = client_for(many["steward"])
        url = reverse("hub-schema-edit", args=["t-noise"])
        rows = [
            row("ok_field"),
            row("", label_en="", label_zh="", type="integer"),  # empty: skipped
            row("Bad Name"),
            row("owner_id", key_role="person_id"),
        ]
        r = c.post(url, schema_post(rows, 1))
        html = text(r)
        assert r.status_code == 200 and 'id="schema-errors"' in html
        assert "2 problems are shown on their rows." in html
        bad = re.search(r'<tr id="row-2" class="row-error">(.*?)</tr>', html, re.S)
        assert bad is not None and "must start with a lowercase letter" in bad.group(1)
        person = re.search(r'<tr id="row-3" class="row-error">(.*?)</tr>', html, re.S)
        assert person is not None and "personal data" in person.group(1)
        assert '<tr id="row-0">' in html  # the good row carries no error
        assert 'value="Bad Name"' in html  # what was typed stays
        stale = text(c.post(url, schema_post([row("x")], 9)))
        assert "Someone else changed the dataset" in stale
        assert not SchemaVersion.objects.filter(dataset=noise).exists()

    def test_versions_page_shows_the_differences(self, many: dict[str, Any]) -> None:
        ds = many["dataset"]
        fields = [catalogue.field_dict(f) for f in ds.schema.fields.all()]
        fields = [f for f in fields if f["name"] != "fine"]
        fields[1] = {**fields[1], "sensitivity": "public", "required": False, "label_en": "Firm"}
        fields.append({**fields[0], "name": "inspector", "key_role": "", "label_en": "Inspector"})
        with transaction.atomic():
            catalogue.save_schema(many["steward"], ds, fields, note="fines apart", version=1)
        url = reverse("hub-schema-versions", args=["t-inspections"])
        html = text(client_for(many["consumer"]).get(url))
        v2 = re.search(r'<section class="card schema-version" id="v2">(.*?)</section>', html, re.S)
        assert v2 is not None
        part = v2.group(1)
        assert "current" in part and "fines apart" in part
        assert "added <code>inspector</code>" in part and "removed <code>fine</code>" in part
        assert "changed <code>enterprise</code>" in part
        assert "<del>yes</del> → <ins>no</ins>" in part
        assert "label (English) <del>enterprise</del> → <ins>Firm</ins>" in part
        v1 = re.search(r'id="v1">(.*?)</section>', html, re.S)
        assert v1 is not None and "The first version: 10 fields." in v1.group(1)
        zh = text(client_for(many["consumer"], "zh-hans").get(url))
        assert 'lang="zh-hans"' in zh and "<h1>" in zh and "t-inspections数据" in zh
