"""The stability assessment pages through Django's test client, in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from civitas.kit import audit, clock
from civitas.risk import stability
from civitas.risk.models import Level, RiskItem, StabilityAssessment
from tests.risk.stability_fixtures import (  # noqa: F401
    FINDINGS,
    case_city,
    draft,
    item,
    ssa_city_fixture,
    submit,
)

pytestmark = pytest.mark.django_db


def client_for(user: Any, lang: str = "en") -> Client:
    c = Client()
    c.force_login(user)
    c.cookies["civitas_language"] = lang
    return c


def text(response: Any) -> str:
    return response.content.decode()


def form_data(c: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Bus depot on Elm 11 Street",
        "description": "A depot for 120 electric buses on the old market site.",
        "jurisdiction": c["T-D1-S1"].pk,
        "decision_unit": c["T-D1-housing"].pk,
        "set_level": "",
        "level_reason": "",
        "measures": "",
        "consultation_summary": "",
    }
    for d in stability.DIMENSIONS:
        data[d] = ""
        data[f"{d}_note"] = ""
    data.update(extra)
    return data


def fresh(a: StabilityAssessment) -> StabilityAssessment:
    return StabilityAssessment.objects.get(pk=a.pk)


class TestList:
    def test_filters_and_scope(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        low = draft(c, title="Library extension", **FINDINGS)
        high = draft(c, title="Incinerator", **{**FINDINGS, "legality": 2})
        other = draft(c, "d2_analyst", title="Market hall", jurisdiction=c["T-D2-S1"])
        web = client_for(c["analyst"])
        page = text(web.get("/risk/stability/"))
        assert low.code in page and high.code in page and other.code not in page
        assert 'href="/risk/stability/" aria-current="page"' in page  # in the navigation
        page = text(web.get("/risk/stability/", {"level": "high"}))
        assert high.code in page and low.code not in page
        assert "Do not proceed as planned" in page
        page = text(web.get("/risk/stability/", {"state": "final"}))
        assert "No assessment matches" in page
        # The city's auditor reads every district and filters by area.
        page = text(client_for(c["auditor"]).get("/risk/stability/", {"area": "T-D2"}))
        assert other.code in page and low.code not in page
        assert "New assessment" not in page  # auditors read only

    def test_who_may_open_the_pages(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        assert Client().get("/risk/stability/").status_code == 302  # to sign in
        assert client_for(c["resident"]).get("/risk/stability/").status_code == 403
        assert client_for(c["handler"]).get("/risk/stability/").status_code == 403
        assert client_for(c["auditor"]).get("/risk/stability/new/").status_code == 403
        a = draft(c)
        assert client_for(c["d2_analyst"]).get(f"/risk/stability/{a.code}/").status_code == 404
        reader = client_for(c["auditor"])
        assert reader.get(f"/risk/stability/{a.code}/").status_code == 200
        assert reader.get(f"/risk/stability/{a.code}/edit/").status_code == 403
        posted = reader.post(f"/risk/stability/{a.code}/consultation/", {"c-version": a.version})
        assert posted.status_code == 403
        assert fresh(a).consultation == []


class TestForm:
    def test_create_then_edit(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        web = client_for(c["analyst"])
        page = web.get("/risk/stability/new/")
        assert page.status_code == 200 and "Legality: findings" in text(page)
        bad = web.post("/risk/stability/new/", form_data(c, title=""))
        assert bad.status_code == 200 and "This field is required" in text(bad)
        assert not StabilityAssessment.objects.exists()
        no_reason = web.post("/risk/stability/new/", form_data(c, **FINDINGS, set_level="high"))
        assert no_reason.status_code == 200 and "Say why the level should be high" in text(
            no_reason
        )
        assert not StabilityAssessment.objects.exists()  # nothing half made
        made = web.post("/risk/stability/new/", form_data(c, legality="4"))
        a = StabilityAssessment.objects.get()
        assert made.status_code == 302 and made["Location"] == f"/risk/stability/{a.code}/"
        assert a.legality == 4 and a.created_by == audit.actor_label(c["analyst"])
        edit = web.get(f"/risk/stability/{a.code}/edit/")
        assert 'name="version" value="1"' in text(edit)
        saved = web.post(
            f"/risk/stability/{a.code}/edit/",
            form_data(c, version=1, **{k: str(v) for k, v in FINDINGS.items()}),
        )
        assert saved.status_code == 302
        assert fresh(a).level == "low" and fresh(a).version == 2

    def test_a_stale_form_and_a_level_without_reason_are_refused(
        self, ssa_city: dict[str, Any]
    ) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        web = client_for(c["analyst"])
        stale = web.post(
            f"/risk/stability/{a.code}/edit/",
            form_data(c, version=a.version - 1 if a.version > 1 else 99, title="Changed"),
        )
        assert stale.status_code == 200
        assert "changed by someone else" in text(stale)
        assert fresh(a).title != "Changed"
        values = {k: str(v) for k, v in FINDINGS.items()}
        no_reason = web.post(
            f"/risk/stability/{a.code}/edit/",
            form_data(c, version=a.version, set_level="high", **values),
        )
        assert no_reason.status_code == 200
        assert re.search(r'has-error">\s*<label for="id_level_reason"', text(no_reason))
        assert fresh(a).level == "low"
        ok = web.post(
            f"/risk/stability/{a.code}/edit/",
            form_data(
                c,
                version=a.version,
                set_level="high",
                level_reason="Similar depots met sustained protests in the city.",
                **values,
            ),
        )
        assert ok.status_code == 302
        page = text(web.get(f"/risk/stability/{a.code}/"))
        assert "Similar depots met sustained protests" in page
        assert "the assessor set this level instead" in page

    def test_the_deciding_units_leader_edits_the_draft(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c)  # in Elm 11 Street, decided by District 1's housing bureau
        web = client_for(c["leader"])
        form = text(web.get(f"/risk/stability/{a.code}/edit/"))
        assert f'<option value="{c["T-D1-S1"].pk}" selected>' in form
        saved = web.post(
            f"/risk/stability/{a.code}/edit/",
            form_data(c, version=a.version, legality="5", legality_note="Within its powers."),
        )
        assert saved.status_code == 302, text(saved)
        assert fresh(a).legality == 5


class TestTheRecord:
    def test_from_draft_to_record(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        appeal = submit(c, text="Noise from the depot at night; I am Li Lei").appeal
        a = draft(c, **FINDINGS, consultation_summary="A hearing and an online notice.")
        web = client_for(c["analyst"])
        url = f"/risk/stability/{a.code}/"
        added = web.post(
            url + "consultation/",
            {
                "c-version": a.version,
                "c-source": "hearing",
                "c-held_on": "2026-11-03",
                "c-participants": "40",
                "c-in_favour": "30",
                "c-against": "6",
                "c-neutral": "4",
                "c-concerns": "Night-time noise; traffic at the school gate",
            },
        )
        assert added.status_code == 302 and added["Location"] == url + "#consultation"
        a = fresh(a)
        assert a.level == "medium"  # 6 of 40 = 15 %
        page = text(web.get(url))
        assert "15.0% of the counted positions are against" in page
        assert "Proceed with the measures" in page
        assert "Night-time noise" in page
        # An appeal by its ticket: ticket and matter, nothing personal.
        attached = web.post(url + "appeals/", {"ap-version": a.version, "ap-ticket": appeal.ticket})
        assert attached.status_code == 302
        page = text(web.get(url))
        assert appeal.ticket in page and "1 appeal concerns the project." in page
        assert "Li Lei" not in page and "13800000000" not in page and "Noise from" not in page
        wrong = web.post(url + "appeals/", {"ap-version": fresh(a).version, "ap-ticket": "NOPE"})
        assert wrong.status_code == 200 and "No appeal NOPE" in text(wrong)
        # Medium without measures cannot go on record.
        a = fresh(a)
        refused = web.post(url + "record/", {"version": a.version}, follow=True)
        assert "needs measures" in text(refused)
        assert fresh(a).state == "draft"
        stability.update(
            c["analyst"], a, version=a.version, fields={"measures": "Quiet hours 22:00-6:00."}
        )
        a = fresh(a)
        done = web.post(url + "record/", {"version": a.version}, follow=True)
        page = text(done)
        assert fresh(a).state == "final"
        assert "is on record" in page and "It can no longer be changed." in page
        # People by their names, the history in words.
        assert f"Put on record by {c['analyst']} on" in page and "user:" not in page
        for step in ("Draft started", "Consultation input added", "Appeal attached"):
            assert step in page
        assert "Draft edited</strong> — measures" in page
        assert "Edit the draft" not in page and "Add consultation input" not in page
        assert "Start a new revision" in page
        # The form is closed, and a direct post is refused.
        assert web.get(url + "edit/").status_code == 302
        late = web.post(
            url + "consultation/",
            {"c-version": fresh(a).version, "c-source": "survey", "c-participants": "5"},
        )
        assert late.status_code == 200 and "can no longer be changed" in text(late)
        assert len(fresh(a).consultation) == 1
        revised = web.post(url + "revise/")
        assert revised["Location"] == f"/risk/stability/{a.code}-R2/"
        page = text(web.get(revised["Location"]))
        assert "revision 2" in page and "Edit the draft" in page

    def test_printable_record(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        page = text(client_for(c["auditor"]).get(f"/risk/stability/{a.code}/"))
        assert "/static/risk/stability.css" in page
        assert 'class="ssa-record"' in page
        for label in ("Legality", "Reasonableness", "Feasibility", "Controllability"):
            assert label in page
        assert "<style" not in page and "onclick" not in page  # the CSP allows neither

    def test_following_it_in_the_register(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **{**FINDINGS, "controllability": 2})
        web = client_for(c["analyst"])
        url = f"/risk/stability/{a.code}/"
        assert "Open a risk" in text(web.get(url))
        deadline = (clock.now() + timedelta(days=20)).date().isoformat()
        opened = web.post(
            url + "risk/open/",
            {
                "risk-version": a.version,
                "risk-level": Level.ORANGE,
                "risk-owner_unit": c["T-D1-housing"].pk,
                "risk-deadline": deadline,
            },
        )
        assert opened.status_code == 302, text(opened)
        risk = RiskItem.objects.get()
        assert fresh(a).risk_id == risk.pk
        assert risk.title == a.title and risk.level == Level.ORANGE
        assert a.code in risk.description
        page = text(web.get(url))
        assert risk.code in page and "Open a risk" not in page
        # Another assessment links the existing risk by its code.
        b = draft(c, **{**FINDINGS, "legality": 3})
        linked = web.post(
            f"/risk/stability/{b.code}/risk/link/",
            {"link-version": b.version, "link-risk": risk.code},
        )
        assert linked.status_code == 302
        assert fresh(b).risk_id == risk.pk
        missing = web.post(
            f"/risk/stability/{b.code}/risk/link/", {"link-version": 1, "link-risk": "T-R-0"}
        )
        assert missing.status_code == 200

    def test_a_low_assessment_offers_no_risk(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **FINDINGS)
        page = text(client_for(c["analyst"]).get(f"/risk/stability/{a.code}/"))
        assert "Open a risk" not in page and "Not followed in the risk register." in page
        with transaction.atomic():
            assert fresh(a).risk_id is None


class TestChinese:
    def test_the_pages_in_chinese(self, ssa_city: dict[str, Any]) -> None:
        c = ssa_city
        a = draft(c, **{**FINDINGS, "legality": 2}, consultation_summary="听证会一场。")
        stability.add_consultation(c["analyst"], a, version=a.version, item=item(5))
        web = client_for(c["analyst"], "zh-hans")
        listing = text(web.get("/risk/stability/"))
        assert 'lang="zh-hans"' in listing
        assert "社会稳定风险评估" in listing and "新建评估" in listing
        assert "高风险" in listing and "暂缓实施" in listing
        low = draft(c, **FINDINGS)
        stability.add_consultation(c["analyst"], low, version=low.version, item=item(0))
        assert text(web.get(f"/risk/stability/{low.code}/")).count("低风险") >= 1
        assert "较缓" not in text(web.get("/risk/stability/"))
        page = text(web.get(f"/risk/stability/{a.code}/"))
        for words in ("合法性", "合理性", "可行性", "可控性", "公众参与", "防范化解措施", "草稿"):
            assert words in page, words
        assert "听证会" in page  # the source of the item
        form = text(web.get(f"/risk/stability/{a.code}/edit/"))
        assert "合法性：评估意见" in form and "保存" in form
        refused = web.post(
            f"/risk/stability/{a.code}/record/", {"version": fresh(a).version}, follow=True
        )
        assert "尚不能备案" in text(refused)


def test_the_admin_shows_assessments_read_only(ssa_city: dict[str, Any]) -> None:
    from tests.factories import UserFactory

    c = ssa_city
    a = draft(c)
    boss = UserFactory(username="root", is_staff=True, is_superuser=True)
    web = client_for(boss)
    listing = web.get("/admin/risk/stabilityassessment/")
    assert listing.status_code == 200 and a.code in text(listing)
    assert web.get("/admin/risk/stabilityassessment/add/").status_code == 403
    shown = web.get(f"/admin/risk/stabilityassessment/{a.pk}/change/")
    assert shown.status_code == 200 and 'name="title"' not in text(shown)
