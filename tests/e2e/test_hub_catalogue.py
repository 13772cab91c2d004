"""A data steward defines a dataset and its schema through the catalogue's pages, then finds
it by searching the catalogue in Chinese — in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from civitas.hub.models import Dataset
from civitas.kit import audit
from tests.e2e.session import PASSWORD
from tests.hub.conftest import hub  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_steward_defines_a_dataset_and_finds_it_in_chinese(
    live_server: Any,
    page: Any,
    hub: dict[str, Any],  # noqa: F811 - the fixture imported above
    screenshots: Path,
) -> None:
    base = live_server.url
    page.goto(f"{base}/hub/")
    assert "/login/" in page.url
    page.fill("#id_username", "steward")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/hub/$"))
    assert page.locator("h1").inner_text() == "Data catalogue"
    assert page.locator("nav.main a[aria-current=page]").inner_text() == "Data hub"

    # The dataset.
    page.click("text=New dataset")
    page.select_option("#id_owner_unit", str(hub["market"].pk))
    page.fill("#id_code", "t-food-licences")
    page.fill("#id_title_en", "Food business licences")
    page.fill("#id_title_zh", "食品经营许可")
    page.fill("#id_description_en", "Licences issued to restaurants and food shops.")
    page.fill("#id_description_zh", "向餐馆和食品店发放的经营许可证。")
    page.fill("#id_keywords", "restaurants, 餐饮")
    page.select_option("#id_domain", "market_supervision")
    page.select_option("#id_frequency", "weekly")
    page.check("input[name=sharing][value=unconditional]")
    page.select_option("#id_profile_role", "enterprises")
    page.click("main button[type=submit].primary")
    page.wait_for_url(re.compile(r"/hub/datasets/t-food-licences/schema/$"))
    assert "Now describe its fields" in page.locator(".messages").inner_text()

    # Its schema: three rows are offered; a fourth comes with "More rows".
    rows = [
        ("uscc", "Credit code", "统一社会信用代码", "string", "public", "credit_code"),
        ("shop", "Shop name", "店名", "string", "public", ""),
        ("issued_on", "Issued on", "发证日期", "date", "internal", "date"),
        (
            "holder_id",
            "Holder's identity number",
            "负责人身份证号",
            "string",
            "internal",
            "person_id",
        ),
    ]

    def fill(i: int, name: str, en: str, zh: str, ftype: str, sens: str, role: str) -> None:
        page.fill(f"#f-{i}-name", name)
        page.fill(f"#f-{i}-label_en", en)
        page.fill(f"#f-{i}-label_zh", zh)
        page.select_option(f"#f-{i}-type", ftype)
        page.select_option(f"#f-{i}-sensitivity", sens)
        page.select_option(f"#f-{i}-key_role", role)

    for i, r in enumerate(rows[:3]):
        fill(i, *r)
    page.check("#f-0-required")
    assert page.locator("#f-3-name").count() == 0
    page.click("#more-rows")
    page.wait_for_selector("#f-3-name")
    assert page.input_value("#f-0-name") == "uscc"  # what was typed stays
    fill(3, *rows[3])
    page.fill("#schema-note", "First version")
    page.click("#save-schema")
    # An identity number marked internal is refused, next to its row, saying why.
    error = page.locator("#row-3 .error").inner_text()
    assert "personal data" in error
    page.screenshot(path=str(screenshots / "hub-schema-edit.png"), full_page=True)
    page.select_option("#f-3-sensitivity", "secret")
    page.click("#save-schema")
    page.wait_for_url(re.compile(r"/hub/datasets/t-food-licences/$"))
    assert "Version 1 of the schema is now current" in page.locator(".messages").inner_text()
    assert page.locator("table.schema-table tbody tr").count() == 4
    secret = page.locator("tr[data-field=holder_id] .sens").inner_text()
    assert secret == "Secret"
    page.screenshot(path=str(screenshots / "hub-dataset.png"), full_page=True)

    ds = Dataset.objects.get(code="t-food-licences")
    assert ds.schema is not None and ds.schema.number == 1 and ds.owner_unit == hub["market"]
    assert ds.sharing == "unconditional" and ds.keywords == ["restaurants", "餐饮"]

    # In Chinese: search the catalogue by a Chinese keyword and open the dataset.
    page.goto(f"{base}/hub/")
    with page.expect_navigation():
        page.select_option("#language-select", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.fill("#catalogue-q", "餐饮")
    page.press("#catalogue-q", "Enter")
    page.wait_for_url(re.compile(r"/hub/\?q="))
    cards = page.locator(".dataset-cards li")
    assert cards.count() == 1
    assert "食品经营许可" in cards.inner_text()
    assert "向餐馆和食品店发放的经营许可证" in cards.inner_text()
    page.screenshot(path=str(screenshots / "hub-catalogue-zh.png"), full_page=True)
    page.click(".dataset-cards li h3 a")
    page.wait_for_url(re.compile(r"/hub/datasets/t-food-licences/$"))
    assert "食品经营许可" in page.locator("h1").inner_text()
    assert "负责人身份证号" in page.locator("table.schema-table").inner_text()

    assert audit.verify().ok
    assert page.problems.items == []
