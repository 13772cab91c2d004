"""Consultation pages and API: what the public sees and does not see, comments and support
through the pages, staff actions, documents served back, API auth and bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from civitas.kit import clock
from civitas.org import services as org_services
from civitas.participation import consultations as svc
from civitas.participation.models import Comment, Consultation
from civitas.participation.public import pseudonym
from tests.participation.test_consult import AREA, NOW, PDF, draft, later, opened

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with clock.frozen(NOW):
        yield


def client_for(user: Any = None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


@pytest.fixture
def busy(part: dict[str, Any]) -> dict[str, Any]:
    """An open consultation with a document and comments, one of them hidden, and a draft."""
    c = opened(part)
    svc.add_document(part["handler"], c, SimpleUploadedFile("plan.pdf", PDF))
    r1, r2, r3 = part["residents"]
    r1.display_name, r1.phone = "Zhang Wei", "13900001111"
    r1.save()
    k1 = svc.comment(r1, c, position="oppose", text="Cars by the school! Call me: 13812345678")
    k2 = svc.comment(r2, c, position="support", text="A park, finally.")
    k3 = svc.comment(r3, c, position="oppose", text="Offensive rant about the director")
    Comment.objects.filter(pk=k3.pk).update(
        hidden_at=NOW, hidden_by="mod", hidden_reason="Insults a named person"
    )
    svc.support(r2, k1)
    d = draft(part, title="Secret draft about the market")
    svc.add_document(part["handler"], d, SimpleUploadedFile("draft.pdf", PDF))
    return {"c": c, "draft": d, "k1": k1, "k2": k2, "k3": k3}


# -- the public pages -----------------------------------------------------------------------


def test_the_public_list_shows_opened_consultations_not_drafts(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    page = client_for().get(url("participation-consultations")).content.decode()
    assert busy["c"].title in page
    assert "Secret draft" not in page
    staff_page = (
        client_for(part["handler"]).get(url("participation-consultations")).content.decode()
    )
    assert "Secret draft" in staff_page  # the office sees its drafts


def test_a_draft_is_invisible_to_the_public_and_other_offices(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    d = busy["draft"]
    assert client_for().get(url("participation-consultation", d.code)).status_code == 404
    other = client_for(part["other_street"])
    assert other.get(url("participation-consultation", d.code)).status_code == 404
    assert (
        client_for(part["residents"][0]).get(url("participation-consultation", d.code)).status_code
        == 404
    )
    assert (
        client_for(part["handler"]).get(url("participation-consultation", d.code)).status_code
        == 200
    )
    doc = d.documents.get()
    assert (
        client_for().get(url("participation-consultation-document", d.code, doc.pk)).status_code
        == 404
    )
    assert client_for().get(url("participation-consultation-map", d.code)).status_code == 404
    r = client_for(part["handler"]).get(url("participation-consultation-document", d.code, doc.pk))
    assert r.status_code == 200 and r["Cache-Control"] == "private, no-store"


def test_the_public_page_shows_pseudonyms_never_names_or_phones(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    c = busy["c"]
    r = client_for().get(url("participation-consultation", c.code))
    html = r.content.decode()
    r1 = part["residents"][0]
    assert pseudonym(r1) in html
    for secret in (r1.username, "Zhang Wei", "13900001111", "13812345678"):
        assert secret not in html
    assert "138****5678" in html
    assert "Offensive rant" not in html
    assert "Hidden by a moderator: Insults a named person" in html
    assert 'id="count-oppose">2<' in html and 'id="count-support">1<' in html
    assert "plan.pdf" in html
    # No comment form for the public, a sign-in link instead; no staff section.
    assert "Sign in to comment" in html and "For the office" not in html


def test_the_map_has_the_place_and_the_area(busy: dict[str, Any]) -> None:
    c = busy["c"]
    data = json.loads(client_for().get(url("participation-consultation-map", c.code)).content)
    roles = [f["properties"]["role"] for f in data["features"]]
    assert roles == ["self", "child"]
    assert data["features"][1]["geometry"]["coordinates"] == AREA["coordinates"]


def test_documents_are_served_as_downloads_with_safe_headers(busy: dict[str, Any]) -> None:
    c = busy["c"]
    doc = c.documents.get()
    r = client_for().get(url("participation-consultation-document", c.code, doc.pk))
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == PDF
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"].startswith('attachment; filename="plan.pdf"')
    assert r["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r["Content-Security-Policy"]
    other = busy["draft"].documents.get()
    # A draft's document is not reachable through an opened consultation either.
    assert (
        client_for().get(url("participation-consultation-document", c.code, other.pk)).status_code
        == 404
    )


# -- residents through the pages ------------------------------------------------------------


def test_a_resident_comments_and_supports_through_the_page(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    c = busy["c"]
    resident = part["residents"][2]
    web = client_for(resident)
    html = web.get(url("participation-consultation", c.code)).content.decode()
    assert "Publish my comment" in html
    with later(2):  # they commented a moment ago in the fixture
        r = web.post(
            url("participation-consultation-comment", c.code),
            {"position": "neutral", "text": "Keep the old trees."},
            follow=True,
        )
    assert "your comment is published" in r.content.decode()
    assert Comment.objects.filter(author=resident, position="neutral").exists()
    r = web.post(url("participation-consultation-support", c.code, busy["k2"].pk), follow=True)
    assert resident in busy["k2"].supporters.all()
    r = web.post(url("participation-consultation-support", c.code, busy["k2"].pk), follow=True)
    assert "You already support this comment." in r.content.decode()
    # A bad position is reported, naming the field.
    with later(10):
        r = web.post(
            url("participation-consultation-comment", c.code),
            {"position": "x", "text": "y"},
            follow=True,
        )
    assert "Your position" in r.content.decode()


def test_the_public_cannot_comment_or_support(busy: dict[str, Any]) -> None:
    c = busy["c"]
    r = client_for().post(
        url("participation-consultation-comment", c.code), {"position": "support", "text": "hi"}
    )
    assert r.status_code == 302 and "/login/" in r["Location"]
    r = client_for().post(url("participation-consultation-support", c.code, busy["k1"].pk))
    assert r.status_code == 302 and "/login/" in r["Location"]
    assert Comment.objects.count() == 3


# -- staff through the pages ----------------------------------------------------------------


def test_staff_create_open_close_and_answer_through_the_pages(part: dict[str, Any]) -> None:
    web = client_for(part["handler"])
    form = web.get(url("participation-consultation-new")).content.decode()
    assert part["T-D1-S1-office"].name in form
    data = {
        "title": "Night market on Elm Road",
        "body": "Stalls from 18:00 to 23:00 on Fridays.",
        "unit": part["T-D1-S1-office"].pk,
        "jurisdiction": part["T-D1-S1-C1"].pk,
        "area": json.dumps(
            {"type": "Polygon", "coordinates": [[[3, 0], [3.5, 0], [3.5, 0.5], [3, 0]]]}
        ),
        "closes_at": (NOW + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
    }
    r = web.post(url("participation-consultation-new"), data)
    assert r.status_code == 200 and "must lie within" in r.content.decode()
    data["area"] = json.dumps(AREA)
    data["document"] = SimpleUploadedFile("night.pdf", PDF)
    r = web.post(url("participation-consultation-new"), data)
    c = Consultation.objects.get()
    assert r.status_code == 302 and r["Location"] == url("participation-consultation", c.code)
    assert c.documents.count() == 1
    r = web.post(url("participation-consultation-act", c.code, "open"), {"version": c.version})
    c.refresh_from_db()
    assert c.status == "open"
    # Opening again is refused with a message, not an error page.
    r = web.post(
        url("participation-consultation-act", c.code, "open"), {"version": c.version}, follow=True
    )
    assert "cannot be opened now" in r.content.decode()
    r = web.post(
        url("participation-consultation-act", c.code, "close"),
        {"version": c.version, "reason": "Enough"},
    )
    c.refresh_from_db()
    assert c.status == "closed"
    r = web.post(
        url("participation-consultation-act", c.code, "answer"),
        {"version": c.version, "answer": "The market goes ahead.", "changes": "It ends at 22:00."},
        follow=True,
    )
    c.refresh_from_db()
    assert c.status == "answered"
    public = client_for().get(url("participation-consultation", c.code)).content.decode()
    assert "The market goes ahead." in public and "It ends at 22:00." in public


def test_residents_and_other_offices_cannot_act(part: dict[str, Any]) -> None:
    c = draft(part)
    for who in (part["residents"][0], part["other_street"]):
        r = client_for(who).post(
            url("participation-consultation-act", c.code, "open"), {"version": c.version}
        )
        assert r.status_code in (403, 404)
    assert (
        client_for(part["residents"][0]).get(url("participation-consultation-new")).status_code
        == 403
    )
    c.refresh_from_db()
    assert c.status == "draft"


def test_a_bad_document_is_refused_with_a_message(part: dict[str, Any]) -> None:
    c = opened(part)
    web = client_for(part["handler"])
    r = web.post(
        url("participation-consultation-act", c.code, "document"),
        {"document": SimpleUploadedFile("evil.pdf", b"<script>alert(1)</script>")},
        follow=True,
    )
    assert "this kind of file is not accepted" in r.content.decode()
    assert not c.documents.exists()


# -- the API --------------------------------------------------------------------------------

API = "/api/participation/consultations"


def test_api_public_reads(part: dict[str, Any], busy: dict[str, Any]) -> None:
    anon = client_for()
    listed = anon.get(API).json()
    assert [x["code"] for x in listed] == [busy["c"].code]
    assert anon.get(f"{API}/{busy['draft'].code}").status_code == 404
    detail = anon.get(f"{API}/{busy['c'].code}").json()
    assert detail["counts"] == {
        "participants": 3,
        "in_favour": 1,
        "against": 2,
        "neutral": 0,
        "comments": 3,
    }
    assert detail["documents"][0]["content_type"] == "application/pdf"
    assert detail["assessment"] is None
    comments = anon.get(f"{API}/{busy['c'].code}/comments").json()
    text = json.dumps(comments)
    assert part["residents"][0].username not in text and "13812345678" not in text
    assert "Offensive rant" not in text
    assert comments[2]["hidden"] is True and comments[2]["text"] == ""
    assert anon.get(f"{API}?status=draft").status_code == 422


def test_api_comment_and_support_need_a_signed_in_person(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    c = busy["c"]
    anon = client_for()
    assert (
        anon.post(
            f"{API}/{c.code}/comments",
            {"position": "support", "text": "x"},
            content_type="application/json",
        ).status_code
        == 401
    )
    with transaction.atomic():
        _key, clear = org_services.create_api_key(
            actor="test", name="app", scopes=["participation:read"], unit=part["T-D1-S1-office"]
        )
    keyed = Client(headers={"X-Api-Key": clear})
    r = keyed.post(
        f"{API}/{c.code}/comments",
        {"position": "support", "text": "x"},
        content_type="application/json",
    )
    assert r.status_code == 403 and "API key" in r.json()["error"]["message"]
    web = client_for(part["residents"][2])
    r = web.post(
        f"{API}/{c.code}/comments",
        {"position": "maybe", "text": "x"},
        content_type="application/json",
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "position"
    r = web.post(
        f"{API}/{c.code}/comments", {"position": "oppose"}, content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "text"
    r = web.post(
        f"{API}/{c.code}/comments",
        {"position": "oppose", "text": "Call 13812345678"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_soon"
    with later(2):
        r = web.post(
            f"{API}/{c.code}/comments",
            {"position": "oppose", "text": "Call 13812345678"},
            content_type="application/json",
        )
    assert r.status_code == 201
    body = r.json()
    assert body["author"] == pseudonym(part["residents"][2]) and body["text"] == "Call 138****5678"
    r = web.post(f"{API}/{c.code}/comments/{busy['k1'].pk}/support")
    assert r.status_code == 200 and r.json()["supporters"] == 2
    r = web.post(f"{API}/{c.code}/comments/{busy['k1'].pk}/support")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_supported"


def test_api_staff_create_open_close_answer(part: dict[str, Any]) -> None:
    web = client_for(part["handler"])
    payload = {
        "title": "Bike lanes on Oak Road",
        "body": "Two lanes, parking moved to the side street.",
        "unit": part["T-D1-S1-office"].code,
        "area": part["T-D1-S1-C1"].code,
        "closes_at": (NOW + timedelta(days=5)).isoformat(),
        "geometry": {"type": "Polygon", "coordinates": [[[9, 9], [9.5, 9], [9.5, 9.5], [9, 9]]]},
    }
    r = web.post(API, payload, content_type="application/json")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "area"
    r = client_for(part["residents"][0]).post(
        API, {**payload, "geometry": AREA}, content_type="application/json"
    )
    assert r.status_code == 403
    r = web.post(
        API, {**payload, "unit": "NOPE", "geometry": AREA}, content_type="application/json"
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "unit"
    r = web.post(API, {**payload, "geometry": AREA}, content_type="application/json")
    assert r.status_code == 201
    code = r.json()["code"]
    v = r.json()["version"]
    r = web.post(f"{API}/{code}/open", {"version": v}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "open"
    r = web.post(
        f"{API}/{code}/answer", {"answer": "a", "changes": "b"}, content_type="application/json"
    )
    assert r.status_code == 409
    r = web.post(f"{API}/{code}/extend", {"reason": "more"}, content_type="application/json")
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "closes_at"
    r = web.post(f"{API}/{code}/close", {}, content_type="application/json")
    assert r.json()["status"] == "closed"
    r = web.post(
        f"{API}/{code}/answer",
        {"answer": "Lanes go ahead.", "changes": "Narrower."},
        content_type="application/json",
    )
    assert (
        r.status_code == 200
        and r.json()["status"] == "answered"
        and r.json()["answer"] == "Lanes go ahead."
    )
    assert web.post(f"{API}/{code}/explode", {}, content_type="application/json").status_code == 404


def test_staff_link_an_assessment_and_send_the_result_through_the_page(
    part: dict[str, Any],
) -> None:
    from tests.participation.test_consult import assessment

    a = assessment(part)
    c = opened(part, actor="leader")
    svc.comment(part["residents"][0], c, position="oppose", text="No cars here.")
    svc.comment(part["residents"][1], c, position="support", text="Yes.")
    c = svc.close(part["leader"], c, version=c.version)
    web = client_for(part["leader"])
    html = web.get(url("participation-consultation", c.code)).content.decode()
    assert a.code in html and "Send the result to the assessment" not in html
    r = web.post(
        url("participation-consultation-act", c.code, "link"),
        {"version": c.version, "assessment": a.pk},
        follow=True,
    )
    assert "The assessment link is saved." in r.content.decode()
    assert "Send the result to the assessment" in r.content.decode()
    r = web.post(url("participation-consultation-act", c.code, "feed"), follow=True)
    assert f"The result is added to stability assessment {a.code}." in r.content.decode()
    a.refresh_from_db()
    assert a.computed_level == "high"  # 1 of 2 against
    r = web.post(url("participation-consultation-act", c.code, "feed"), follow=True)
    assert "was already added" in r.content.decode()
    # The street handler may see the page but the public never sees the assessment's code.
    assert (
        a.code not in client_for().get(url("participation-consultation", c.code)).content.decode()
    )


def test_a_signed_in_reader_reports_a_comment_from_the_consultation_page(
    part: dict[str, Any], busy: dict[str, Any]
) -> None:
    from civitas.participation.models import Report

    _r1, r2, _r3 = part["residents"]
    page_url = url("participation-consultation", busy["c"].code)
    page = client_for(r2).get(page_url).content.decode()
    report_url = url("participation-report", "comment", busy["k1"].pk)
    assert report_url in page
    # Not on one's own comment, not on a hidden one, and not for the signed-out public.
    assert url("participation-report", "comment", busy["k2"].pk) not in page
    assert url("participation-report", "comment", busy["k3"].pk) not in page
    assert report_url not in client_for().get(page_url).content.decode()
    answer = client_for(r2).post(report_url, {"reason": "Personal data", "next": page_url})
    assert answer.status_code == 302
    report = Report.objects.get(target="comment", target_id=busy["k1"].pk)
    assert (report.reporter_id, report.reason, report.state) == (r2.pk, "Personal data", "open")
