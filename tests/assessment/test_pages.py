from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from civitas.kit import clock
from tests.assessment.conftest import LATER, refresh

QUERY = "?period=2026-11&group=departments"


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.django_db
class TestPage:
    def test_the_page_shows_the_ranking(self, month: dict[str, Any]) -> None:
        refresh()
        with clock.frozen(LATER):
            r = client_for(month["dispatcher"]).get(f"/assessment/{QUERY}")
        assert r.status_code == 200
        html = r.content.decode()
        assert "District 1 Housing Bureau" in html
        assert "75.0%" in html and "70.5" in html  # response rate, composite
        assert 'id="assessment-chart"' in html and "<script>" not in html
        assert "export.xlsx?period=2026-11&amp;group=departments&amp;city=T" in html

    def test_default_period_is_the_latest_month_with_figures(self, month: dict[str, Any]) -> None:
        refresh()
        r = client_for(month["analyst"]).get("/assessment/")
        assert r.status_code == 200
        assert 'value="2026-11"' in r.content.decode()

    def test_bad_period_is_explained(self, month: dict[str, Any]) -> None:
        r = client_for(month["dispatcher"]).get("/assessment/?period=soon")
        assert r.status_code == 422
        assert "YYYY-MM" in r.content.decode()

    def test_handlers_are_refused(self, month: dict[str, Any]) -> None:
        assert client_for(month["handler"]).get("/assessment/").status_code == 403
        assert client_for(month["handler"]).get("/assessment/export.csv").status_code == 403

    def test_anonymous_is_sent_to_sign_in(self, db: Any) -> None:
        assert Client().get("/assessment/").status_code == 302


@pytest.mark.django_db
class TestExports:
    def test_csv_parses_back(self, month: dict[str, Any]) -> None:
        refresh()
        with clock.frozen(LATER):
            r = client_for(month["dispatcher"]).get(f"/assessment/export.csv{QUERY}")
        assert r.status_code == 200
        assert "assessment-T-departments-2026-11.csv" in r["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["Rank", "Unit code", "Unit", "Dispatched"]
        first = dict(zip(rows[0], rows[1], strict=True))
        assert first["Unit code"] == "T-D1-HOUSING" and first["Rank"] == "1"
        assert float(first["Response rate"]) == 75.0
        assert float(first["Satisfaction rate"]) == 70.0
        assert float(first["Composite score"]) == 70.5
        assert rows[2][1] == "T-D2-HOUSING" and rows[2][0] == ""

    def test_xlsx_parses_back(self, month: dict[str, Any]) -> None:
        refresh()
        with clock.frozen(LATER):
            r = client_for(month["dispatcher"]).get(f"/assessment/export.xlsx{QUERY}")
        assert r.status_code == 200
        ws = load_workbook(io.BytesIO(r.content)).active
        assert ws is not None and ws.title == "2026-11"
        values = list(ws.iter_rows(values_only=True))
        first = dict(zip(values[0], values[1], strict=True))
        assert first["Unit code"] == "T-D1-HOUSING"
        assert first["Rank"] == 1 and first["Dispatched"] == 4
        assert first["Redo rate"] == 25.0 and first["On-time rate"] == 75.0
        assert first["Composite score"] == 70.5


@pytest.mark.django_db
class TestApi:
    def test_get_assessment(self, month: dict[str, Any]) -> None:
        refresh()
        with clock.frozen(LATER):
            r = client_for(month["d1_dispatcher"]).get(f"/api/assessment{QUERY}")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["period"] == "2026-11" and body["previous_period"] == "2026-10"
        assert [u["unit"] for u in body["units"]] == ["T-D1-HOUSING"]
        unit = body["units"][0]
        assert unit["rank"] == 1 and unit["score"] == 70.5
        assert unit["rates"]["redo"] == pytest.approx(1 / 4)
        assert unit["counts"]["dispatched"] == 4

    def test_refusals(self, month: dict[str, Any]) -> None:
        assert client_for(month["handler"]).get("/api/assessment").status_code == 403
        r = client_for(month["dispatcher"]).get("/api/assessment?group=parks")
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "group"
