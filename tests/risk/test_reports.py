"""Judgment reports on the hand-built set of tests.risk.report_data (every figure known)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation
from pypdf import PdfReader

from civitas.assessment import selectors as assessment
from civitas.kit import clock
from civitas.kit.errors import InvalidInput, NotFound
from civitas.risk import report_pdf, reports
from tests.risk import report_data as data

NOW = data.local(data.monday(49))  # Monday 30 November 2026: week 47 is long complete
W47 = reports.parse("week", "2026-W47")


@pytest.fixture
def c(city: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cache.clear()  # reports of ended periods are cached: none from another test's database
    yield data.build(city)
    cache.clear()


def build(actor: Any, period: reports.ReportPeriod = W47, area: str | None = None) -> Any:
    with clock.frozen(NOW):
        return reports.build(actor, period, reports.area_for(actor, area))


def client_for(user: Any, lang: str = "en") -> Client:
    cl = Client(HTTP_ACCEPT_LANGUAGE=lang)
    cl.force_login(user)
    return cl


def get(cl: Client, url: str) -> Any:
    with clock.frozen(NOW):
        return cl.get(url)


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


class TestPeriods:
    def test_weeks_and_months(self) -> None:
        assert (W47.first, W47.last) == (date(2026, 11, 16), date(2026, 11, 22))
        assert W47.previous().label == "2026-W46"
        assert W47.year_ago() == reports.parse("week", "2025-W47")
        # 2026 has 53 ISO weeks, 2025 has 52: week 53 compares with week 52.
        assert reports.parse("week", "2026-W53").year_ago().label == "2025-W52"
        jan = reports.parse("month", "2026-01")
        assert jan.previous().label == "2025-12" and jan.year_ago().label == "2025-01"
        assert reports.parse("month", "2024-02").last == date(2024, 2, 29)
        assert reports.of("week", date(2026, 11, 22)) == W47
        assert [p.label for p in (W47.back(8), W47.back(0))] == ["2026-W39", "2026-W47"]

    @pytest.mark.parametrize(
        ("kind", "label"), [("week", "2026-W54"), ("week", "2026-11"), ("month", "2026-13")]
    )
    def test_bad_labels_are_explained(self, kind: str, label: str) -> None:
        with pytest.raises(InvalidInput, match="YYYY-Www"):
            reports.parse(kind, label)


@pytest.mark.django_db
class TestFigures:
    def test_volumes_and_trends(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert r.area.code == "T"
        assert (r.total, r.total_before, r.total_year_ago) == (11, 8, 5)
        assert (r.change_pct, r.year_pct) == (37.5, 120.0)
        assert [n for _d, n in r.by_day] == [2, 3, 1, 4, 1, 0, 0]
        assert r.by_day_before == [3, 1, 1, 2, 1, 0, 0]
        assert [(x.key, x.now, x.before) for x in r.channels] == [("hotline", 6, 2), ("web", 5, 6)]

    def test_top_matters_and_their_change(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert [(m.name.code, m.now, m.before, m.change) for m in r.matters] == [
            ("T-M1-1-1", 6, 2, 4),
            ("T-M1-1-2", 5, 6, -1),
        ]
        assert r.matters[0].change_pct == 200.0
        assert [m.name.code for m in r.matters_rising] == ["T-M1-1-1"]

    def test_hot_spots(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert [(p.name.code, p.now, p.before) for p in r.places] == [
            ("T-D1", 6, 2),
            ("T-D2", 5, 6),
        ]
        assert [(p.name.code, p.now, p.before) for p in r.spots] == [
            ("T-D1-S1", 6, 2),
            ("T-D2-S1", 4, 0),
            ("T-D2-S2", 1, 6),
        ]
        assert [(p.name.code, p.change) for p in r.spots_rising] == [
            ("T-D1-S1", 4),
            ("T-D2-S1", 4),
        ]
        assert [p.name.code for p in r.places_rising] == ["T-D1"]

    def test_alerts_and_clusters(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert {a.key: (a.now, a.before) for a in r.alerts} == {
            "cluster": (1, 0),
            "burst": (0, 1),
            "surge": (1, 0),
        }
        assert r.alerts_total == 2
        (cl,) = r.clusters
        assert (cl.name.code, cl.place.code, cl.observed, cl.p_value) == (
            "T-M1-1-1",
            "T-D1-S1",
            6,
            0.003,
        )

    def test_new_and_open_risks(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert r.new_risks == {"red": 1, "orange": 1}
        assert r.open_risks == {"red": 1, "orange": 1, "blue": 1}
        assert [(k.code, k.new, k.overdue, k.owner.code) for k in r.risks] == [
            ("R-1", True, True, "T-D1-HOUSING"),
            ("R-4", True, False, "T-D2-HOUSING"),
            ("R-2", False, False, "T-D1-S1-OFFICE"),
        ]
        assert r.risks_overdue == 1

    def test_units_use_the_assessment_score(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert [(u.name.code, u.score) for u in r.best] == [("T-D1-S1-OFFICE", 100.0)]
        assert [(u.name.code, u.score) for u in r.worst] == [("T-D2-S1-OFFICE", 50.0)]
        with clock.frozen(NOW):
            t = assessment.table(
                c["city_dispatcher"],
                group="streets",
                period=reports._assessment_period(W47),
                city="T",
            )
        scores = {ln.unit.code: ln.score for ln in t.lines if ln.score is not None}
        assert scores == {"T-D1-S1-OFFICE": 100.0, "T-D2-S1-OFFICE": 50.0}
        assert r.worst[0].three == [50.0, 50.0, 50.0]

    def test_recurring_problems_found_and_one_offs_not(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        assert len(r.recur_window) == 8 and r.recur_min == 3
        assert r.recurring_found == 2
        lift, water = r.recurring
        assert (lift.matter.code, lift.place.code, lift.cell) == ("T-M1-1-1", "T-D1-S1", (0.5, 0.5))
        assert lift.per_period == [0, 0, 0, 0, 1, 0, 2, 6]
        assert (lift.periods_seen, lift.total) == (3, 9)
        assert lift.listed_owner is not None and lift.listed_owner.code == "T-D1-S1-OFFICE"
        assert lift.lead_owner is not None and lift.lead_owner.code == "T-D1-HOUSING"
        assert lift.lead_share == (4, 6)  # of this week's cases
        assert lift.owner is lift.listed_owner
        # Located only to the street (no point): recurs by street.
        assert (water.matter.code, water.place.code, water.cell) == ("T-M1-1-2", "T-D2-S2", None)
        assert water.per_period == [0, 1, 0, 1, 0, 0, 0, 1]
        # Water at (2.5, 1.5) came only this week, water at (3.5, 0.5) not this week.
        assert not [p for p in r.recurring if p.cell in {(2.5, 1.5), (3.5, 0.5)}]

    def test_a_month(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"], reports.parse("month", "2026-11"))
        assert (r.total, r.total_before) == (20, 3)
        # The data start on 17 November 2025: November 2025 is not whole, so no comparison.
        assert r.total_year_ago is None and r.year_pct is None
        assert len(r.by_day) == 30 and sum(n for _d, n in r.by_day) == 20
        # October and November only: two months of six, not recurring.
        assert r.recurring == [] and r.recurring_found == 0


@pytest.mark.django_db
class TestWords:
    def test_english(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        with translation.override("en"):
            text = " ".join(reports.narrative(r))
        assert "Testville received 11 appeals in Week 47 of 2026" in text
        assert "up 37.5% on the previous week (8)" in text
        assert "up 120.0% on the same week a year ago (5)" in text
        assert "The most frequent matter was Lift out of service with 6" in text
        assert "Lift out of service at Elm 11 Street (3 weeks, 9 appeals)" in text

    def test_chinese(self, c: dict[str, Any]) -> None:
        r = build(c["city_dispatcher"])
        with translation.override("zh-hans"):
            text = "".join(reports.narrative(r))
        assert "测试市" in text and "2026年第47周" in text
        assert "环比上升37.5%" in text and "同比上升120.0%" in text
        assert "电梯故障" in text and "榆树11街道" in text
        assert "热线电话" in text  # the channel, in Chinese too
        assert "appeals" not in text and "Hotline" not in text


@pytest.mark.django_db
class TestScope:
    def test_a_district_user_sees_their_district(self, c: dict[str, Any]) -> None:
        actor = c["d1_dispatcher"]
        assert [a.code for a in reports.areas_for(actor)] == ["T-D1"]
        r = build(actor)
        assert r.area.code == "T-D1"
        assert (r.total, r.total_before) == (6, 2)
        assert [p.name.code for p in r.places] == ["T-D1-S1"]
        assert [k.code for k in r.risks] == ["R-1", "R-2"]
        assert [a.key for a in r.alerts] == ["cluster"]
        assert [u.name.code for u in r.best] == ["T-D1-S1-OFFICE"] and r.worst == []
        assert [p.matter.code for p in r.recurring] == ["T-M1-1-1"]
        with pytest.raises(NotFound):
            reports.area_for(actor, "T")

    def test_the_city_may_read_a_district(self, c: dict[str, Any]) -> None:
        actor = c["city_dispatcher"]
        assert [a.code for a in reports.areas_for(actor)] == ["T", "T-D1", "T-D2"]
        r = build(actor, area="T-D2")
        assert (r.total, r.total_before) == (5, 6)

    def test_pages_refuse_others(self, c: dict[str, Any]) -> None:
        url = "/risk/reports/week/2026-W47/"
        assert Client().get(url).status_code == 302
        assert get(client_for(c["handler"]), url).status_code == 403
        # A department's leader has no area: refused with the reason.
        r = get(client_for(c["leader"]), url)
        assert r.status_code == 403 and "cover an area" in r.content.decode()
        assert get(client_for(c["handler"]), url[:-1] + ".pdf").status_code == 403
        r = get(client_for(c["d1_dispatcher"]), url + "?area=T")
        assert r.status_code == 404
        assert get(client_for(c["d1_dispatcher"]), url[:-1] + ".pdf?area=T").status_code == 404

    def test_bad_period_is_explained(self, c: dict[str, Any]) -> None:
        r = get(client_for(c["city_dispatcher"]), "/risk/reports/week/2026-W60/")
        assert r.status_code == 422 and "YYYY-Www" in r.content.decode()


@pytest.mark.django_db
class TestPages:
    def test_default_is_the_latest_complete_period_with_data(self, c: dict[str, Any]) -> None:
        r = get(client_for(c["city_dispatcher"]), "/risk/reports/")
        assert r.status_code == 200
        html = r.content.decode()
        assert r.context["r"].period == W47  # week 48 is complete but has no data
        labels = [p.label for p, _url in r.context["periods"]["week"]]
        assert labels[0] == "2026-W47" and labels[-1] == "2026-W22" and len(labels) == 26
        assert [p.label for p, _u in r.context["periods"]["month"]][:2] == ["2026-10", "2026-09"]
        assert 'href="/risk/reports/week/2026-W46/?area=T"' in html
        assert 'href="/risk/reports/week/2026-W47.pdf?area=T"' in html
        m = get(client_for(c["city_dispatcher"]), "/risk/reports/?kind=month")
        assert m.context["r"].period.label == "2026-10"

    def test_the_page_in_english(self, c: dict[str, Any]) -> None:
        r = get(client_for(c["city_dispatcher"]), "/risk/reports/week/2026-W47/")
        assert r.status_code == 200
        html = r.content.decode()
        assert "Judgment report" in html and "Testville received 11 appeals" in html
        for chart in ("days", "channels", "matters", "places", "risks"):
            assert f'id="chart-{chart}"' in html
        assert "vendor/echarts.min.js" in html and "<script>" not in html and "style=" not in html
        assert "Lift out of service" in html and "Street 11 Office" in html

    def test_the_page_in_chinese(self, c: dict[str, Any]) -> None:
        r = get(client_for(c["city_dispatcher"], "zh-hans"), "/risk/reports/week/2026-W47/")
        html = r.content.decode()
        assert "研判报告：测试市，" in html and "电梯故障" in html and "环比上升37.5%" in html
        assert "未诉先办" in html

    def test_pdf_in_both_languages(self, c: dict[str, Any]) -> None:
        en = get(client_for(c["city_dispatcher"]), "/risk/reports/week/2026-W47.pdf")
        assert en.status_code == 200 and en["Content-Type"] == "application/pdf"
        assert 'filename="report-T-2026-W47-en.pdf"' in en["Content-Disposition"]
        text = pdf_text(en.content)
        assert "Judgment report" in text and "Testville" in text
        assert "up 37.5% on the previous week (8)" in text.replace("\n", " ")
        zh = get(client_for(c["city_dispatcher"], "zh-hans"), "/risk/reports/week/2026-W47.pdf")
        text = pdf_text(zh.content)
        assert "研判报告：测试市，" in text and "测试市" in text and "电梯故障" in text
        assert "37.5%" in text and "11" in text
        assert "report-T-2026-W47-zh.pdf" in zh["Content-Disposition"]
        # Asked for by name, whatever the page language.
        other = get(client_for(c["city_dispatcher"]), "/risk/reports/week/2026-W47.pdf?lang=zh")
        assert "研判报告" in pdf_text(other.content)

    def test_an_ended_period_is_cached_for_the_page_and_its_pdf(self, c: dict[str, Any]) -> None:
        cl = client_for(c["city_dispatcher"])
        assert get(cl, "/risk/reports/week/2026-W47/").context["r"].total == 11
        data.appeal(
            c, data.local(data.monday(47) + timedelta(days=6)), c["water"], street="T-D2-S1",
            lon=2.5, lat=1.5, channel="web",
        )  # fmt: skip
        assert get(cl, "/risk/reports/week/2026-W47/").context["r"].total == 11
        cache.clear()
        assert get(cl, "/risk/reports/week/2026-W47/").context["r"].total == 12

    def test_month_pdf_for_a_district(self, c: dict[str, Any]) -> None:
        r = get(client_for(c["d1_dispatcher"]), "/risk/reports/month/2026-11.pdf")
        assert r.status_code == 200
        text = pdf_text(r.content)
        assert "North 1 District" in text and "North 2 District" not in text

    def test_no_personal_data_anywhere(self, c: dict[str, Any]) -> None:
        cl = client_for(c["city_dispatcher"])
        bodies = [
            get(cl, "/risk/reports/week/2026-W47/").content.decode(),
            get(cl, "/risk/reports/month/2026-11/").content.decode(),
            pdf_text(get(cl, "/risk/reports/week/2026-W47.pdf").content),
            pdf_text(get(cl, "/risk/reports/week/2026-W47.pdf?lang=zh").content),
        ]
        for body in bodies:
            for secret in (data.SECRET_NAME, data.SECRET_PHONE, data.SECRET_ADDRESS, "Li Wei"):
                assert secret not in body
            assert "RPT0" not in body  # no ticket numbers either


@pytest.mark.django_db
class TestCommand:
    def test_writes_a_chinese_pdf(self, c: dict[str, Any], tmp_path: Any) -> None:
        out = tmp_path / "r.pdf"
        with clock.frozen(NOW):
            call_command(
                "riskreport", "--period", "week", "--date", "2026-11-18", "--lang", "zh",
                "--out", str(out), stdout=io.StringIO(),
            )  # fmt: skip
        text = pdf_text(out.read_bytes())
        assert "研判报告" in text and "2026年第47周" in text

    def test_as_a_person(self, c: dict[str, Any], tmp_path: Any) -> None:
        out = tmp_path / "r.pdf"
        with clock.frozen(NOW):
            call_command(
                "riskreport", "--period", "month", "--date", "2026-11-02", "--user",
                "d1-dispatcher", "--out", str(out), stdout=io.StringIO(),
            )  # fmt: skip
            assert "North 1 District" in pdf_text(out.read_bytes())
            with pytest.raises(CommandError, match="cover an area"):
                call_command("riskreport", "--user", "housing-leader", "--out", str(out))
            with pytest.raises(CommandError, match="may not risk read"):
                call_command("riskreport", "--user", "handler", "--out", str(out))

    def test_render_is_bytes(self, c: dict[str, Any]) -> None:
        assert report_pdf.render(build(c["city_dispatcher"]), "en")[:5] == b"%PDF-"
