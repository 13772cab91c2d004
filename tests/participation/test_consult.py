"""Public consultations: the life of one, who may do what, comments, documents, the periodic
close and feeding the social stability risk assessment."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from civitas.kit import clock
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Role
from civitas.participation import consultations as svc
from civitas.participation.models import Comment, Consultation
from civitas.risk import stability
from civitas.risk.models import StabilityAssessment
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AREA = {
    "type": "Polygon",
    "coordinates": [[[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6], [0.2, 0.2]]],
}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with clock.frozen(NOW):
        yield


def draft(part: dict[str, Any], actor: str = "handler", **fields: Any) -> Consultation:
    values: dict[str, Any] = {
        "unit": part["T-D1-S1-office"],
        "jurisdiction": part["T-D1-S1-C1"],
        "title": "A car park and a small park on the old lot",
        "body": "The empty lot behind block 4 becomes 40 parking places and a pocket park.",
        "closes_at": NOW + timedelta(days=14),
        "area": AREA,
    }
    values.update(fields)
    return svc.create(part[actor], **values)


def opened(part: dict[str, Any], **fields: Any) -> Consultation:
    c = draft(part, **fields)
    return svc.open_(part["handler"], c, version=c.version)


def later(minutes: int) -> Any:
    return clock.frozen(NOW + timedelta(minutes=minutes))


def assessment(part: dict[str, Any], **scores: Any) -> StabilityAssessment:
    fields: dict[str, Any] = {
        "title": "Car park on the old lot",
        "description": "40 places and a pocket park.",
        "jurisdiction": part["T-D1-S1"],
        "decision_unit": part["T-D1-S1-office"],
        "legality": 5,
        "reasonableness": 5,
        "feasibility": 5,
        "controllability": 5,
    }
    fields.update(scores)
    return stability.create(part["leader"], **fields)


# -- creating and opening -------------------------------------------------------------------


def test_staff_create_a_draft_with_an_area_and_open_it(part: dict[str, Any]) -> None:
    c = draft(part)
    assert c.status == "draft" and c.code == "T-CON-2026-0001"
    assert c.city == "T" and c.jurisdiction_path == part["T-D1-S1-C1"].path
    assert c.area["type"] == "Polygon"
    c = svc.open_(part["handler"], c, version=c.version)
    assert c.status == "open" and c.opens_at == NOW
    actions = list(AuditEntry.objects.filter(object_id=c.code).values_list("action", flat=True))
    assert actions == ["consultation.create", "consultation.open"]
    assert draft(part).code == "T-CON-2026-0002"


def test_opening_twice_is_refused(part: dict[str, Any]) -> None:
    c = opened(part)
    with pytest.raises(Conflict) as exc:
        svc.open_(part["handler"], c, version=c.version)
    assert exc.value.code == "wrong_status"


def test_a_stale_version_is_refused(part: dict[str, Any]) -> None:
    c = draft(part)
    with pytest.raises(Conflict) as exc:
        svc.open_(part["handler"], c, version=c.version + 5)
    assert exc.value.code == "stale_consultation"


def test_a_draft_whose_date_passed_cannot_open(part: dict[str, Any]) -> None:
    c = draft(part, closes_at=NOW + timedelta(hours=1))
    with later(120), pytest.raises(InvalidInput) as exc:
        svc.open_(part["handler"], c, version=c.version)
    assert exc.value.details["field"] == "closes_at"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"body": ""}, "body"),
        ({"closes_at": NOW - timedelta(minutes=1)}, "closes_at"),
        ({"closes_at": "tomorrow"}, "closes_at"),
        ({"jurisdiction": None}, "jurisdiction"),
        ({"area": "{not json"}, "area"),
        ({"area": {"type": "Point", "coordinates": [0.5, 0.5]}}, "area"),
        # Partly in the neighbouring community C2 (lat 1..2).
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0.2, 0.5], [0.6, 0.5], [0.6, 1.5], [0.2, 0.5]]],
                }
            },
            "area",
        ),
        # A bow tie: not a valid polygon.
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5], [0.1, 0.1]]],
                }
            },
            "area",
        ),
        # Outside the consulting unit's street.
        ({"jurisdiction": "T-D1-S2-C1", "area": None}, "jurisdiction"),
    ],
)
def test_bad_input_names_the_field(
    part: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    if isinstance(fields.get("jurisdiction"), str):
        fields["jurisdiction"] = part[fields["jurisdiction"]]
    with pytest.raises(InvalidInput) as exc:
        draft(part, **fields)
    assert exc.value.details["field"] == field
    assert not Consultation.objects.exists()


def test_an_area_outside_names_the_place(part: dict[str, Any]) -> None:
    far = {"type": "Polygon", "coordinates": [[[3, 0], [3.5, 0], [3.5, 0.5], [3, 0]]]}
    with pytest.raises(InvalidInput, match="must lie within Oak 111 Community"):
        draft(part, area=far)


def test_a_feature_wrapping_the_polygon_is_accepted(part: dict[str, Any]) -> None:
    c = draft(part, area={"type": "Feature", "properties": {}, "geometry": AREA})
    assert c.area == AREA


def test_residents_cannot_create(part: dict[str, Any]) -> None:
    resident = part["residents"][0]
    with pytest.raises(Forbidden):
        svc.create(
            resident,
            unit=part["T-D1-S1-office"],
            jurisdiction=part["T-D1-S1-C1"],
            title="x",
            body="y",
            closes_at=NOW + timedelta(days=3),
        )


def test_other_streets_staff_cannot_consult_for_this_street(part: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        draft(part, actor="other_street")
    c = draft(part)
    with pytest.raises(Forbidden):
        svc.open_(part["other_street"], c, version=c.version)
    assert Consultation.objects.get().status == "draft"


def test_a_community_handler_consults_for_their_community_only(part: dict[str, Any]) -> None:
    c = draft(part, actor="community", unit=part["T-D1-S1-C1-cc"])
    assert c.unit == part["T-D1-S1-C1-cc"]
    with pytest.raises(InvalidInput) as exc:
        draft(
            part,
            actor="community",
            unit=part["T-D1-S1-C1-cc"],
            jurisdiction=part["T-D1-S1-C2"],
            area=None,
        )
    assert exc.value.details["field"] == "jurisdiction"


def test_a_district_dispatcher_may_consult_for_a_department_in_the_district(
    part: dict[str, Any],
) -> None:
    disp = member("d1-disp", Role.DISPATCHER, part["T-D1-centre"])
    c = svc.create(
        disp,
        unit=part["T-D1-housing"],
        jurisdiction=part["T-D1-S1-C1"],
        title="Lift retrofit plan",
        body="Lifts in six walk-up blocks.",
        closes_at=NOW + timedelta(days=10),
    )
    assert c.unit == part["T-D1-housing"]
    # But not for the other district's department.
    with pytest.raises((Forbidden, InvalidInput)):
        svc.create(
            disp,
            unit=part["T-D2-housing"],
            jurisdiction=part["T-D2-S1-C1"],
            title="x",
            body="y",
            closes_at=NOW + timedelta(days=10),
        )


# -- extend, close, the periodic job, answer ------------------------------------------------


def test_extend_needs_a_later_date_and_a_reason(part: dict[str, Any]) -> None:
    c = opened(part)
    with pytest.raises(InvalidInput) as exc:
        svc.extend(
            part["handler"],
            c,
            version=c.version,
            closes_at=c.closes_at + timedelta(days=3),
            reason="",
        )
    assert exc.value.details["field"] == "reason"
    with pytest.raises(InvalidInput) as exc:
        svc.extend(
            part["handler"],
            c,
            version=c.version,
            closes_at=c.closes_at - timedelta(days=1),
            reason="More time",
        )
    assert exc.value.details["field"] == "closes_at"
    new = c.closes_at + timedelta(days=7)
    c = svc.extend(
        part["handler"], c, version=c.version, closes_at=new, reason="Residents asked for a meeting"
    )
    assert c.closes_at == new
    assert (
        AuditEntry.objects.get(action="consultation.extend").reason
        == "Residents asked for a meeting"
    )


def test_a_draft_cannot_be_extended_or_closed(part: dict[str, Any]) -> None:
    c = draft(part)
    with pytest.raises(Conflict):
        svc.extend(
            part["handler"],
            c,
            version=c.version,
            closes_at=c.closes_at + timedelta(days=1),
            reason="r",
        )
    with pytest.raises(Conflict):
        svc.close(part["handler"], c, version=c.version)


def test_close_early_tells_the_office(part: dict[str, Any]) -> None:
    part["handler"].email = "handler@example.org"
    part["handler"].save()
    c = opened(part)
    with later(30):
        c = svc.close(part["handler"], c, version=c.version, reason="Plan withdrawn for review")
        assert c.status == "closed" and c.closes_at == NOW + timedelta(minutes=30)
    msg = OutboxMessage.objects.get()
    assert msg.recipient == "handler@example.org" and c.code in msg.subject
    with pytest.raises(Conflict):
        svc.close(part["handler"], c, version=c.version)


def test_the_periodic_close_is_idempotent(part: dict[str, Any]) -> None:
    due = opened(part, closes_at=NOW + timedelta(hours=1))
    not_yet = opened(part, closes_at=NOW + timedelta(days=3))
    still_draft = draft(part, closes_at=NOW + timedelta(hours=1))
    assert svc.close_due() == {"closed": 0}
    with later(61):
        assert svc.close_due() == {"closed": 1}
        assert svc.close_due() == {"closed": 0}
    due.refresh_from_db()
    not_yet.refresh_from_db()
    still_draft.refresh_from_db()
    assert (due.status, not_yet.status, still_draft.status) == ("closed", "open", "draft")
    assert AuditEntry.objects.filter(action="consultation.close", object_id=due.code).count() == 1


def test_the_job_is_registered() -> None:
    from civitas.kit import scheduler

    job = scheduler.job("participation.close_consultations")
    assert job is not None and job.target == "civitas.participation.consultations.close_due"


def test_answer_only_after_closing(part: dict[str, Any]) -> None:
    c = opened(part)
    with pytest.raises(Conflict):
        svc.answer(part["handler"], c, version=c.version, answer="Thanks", changes="None")
    c = svc.close(part["handler"], c, version=c.version)
    with pytest.raises(InvalidInput) as exc:
        svc.answer(part["handler"], c, version=c.version, answer="Thanks", changes=" ")
    assert exc.value.details["field"] == "changes"
    with pytest.raises(Forbidden):
        svc.answer(part["other_street"], c, version=c.version, answer="Thanks", changes="None")
    c = svc.answer(
        part["handler"], c, version=c.version, answer="We keep the park.", changes="Fewer places."
    )
    assert (c.status, c.answer, c.changes, c.answered_at) == (
        "answered",
        "We keep the park.",
        "Fewer places.",
        NOW,
    )
    with pytest.raises(Conflict):
        svc.answer(part["handler"], c, version=c.version, answer="Again", changes="x")


# -- comments and support -------------------------------------------------------------------


def test_residents_comment_and_support(part: dict[str, Any]) -> None:
    c = opened(part)
    r1, r2, r3 = part["residents"]
    k1 = svc.comment(r1, c, position="oppose", text="Too many cars by the school.")
    k2 = svc.comment(r2, c, position="support", text="We need the park.")
    svc.support(r2, k1)
    svc.support(r3, k1)
    assert k1.supporters.count() == 2
    with pytest.raises(Conflict) as exc:
        svc.support(r2, k1)
    assert exc.value.code == "already_supported"
    with pytest.raises(Conflict) as exc:
        svc.support(r2, k2)
    assert exc.value.code == "own_comment"


def test_comments_need_a_person_a_position_and_text(part: dict[str, Any]) -> None:
    from django.contrib.auth.models import AnonymousUser

    c = opened(part)
    with pytest.raises(Forbidden):
        svc.comment(AnonymousUser(), c, position="support", text="x")
    with pytest.raises(InvalidInput) as exc:
        svc.comment(part["residents"][0], c, position="maybe", text="x")
    assert exc.value.details["field"] == "position"
    with pytest.raises(InvalidInput) as exc:
        svc.comment(part["residents"][0], c, position="support", text="   ")
    assert exc.value.details["field"] == "text"
    with pytest.raises(InvalidInput) as exc:
        svc.comment(part["residents"][0], c, position="support", text="x" * 2001)
    assert exc.value.details["field"] == "text"


def test_no_comment_on_a_draft_or_once_closed(part: dict[str, Any]) -> None:
    r = part["residents"][0]
    c = draft(part, closes_at=NOW + timedelta(hours=2))
    with pytest.raises(Conflict):
        svc.comment(r, c, position="support", text="early")
    c = svc.open_(part["handler"], c, version=c.version)
    k = svc.comment(r, c, position="support", text="fine")
    # Past the deadline but before the job ran: refused all the same.
    with later(180):
        with pytest.raises(Conflict):
            svc.comment(part["residents"][1], c, position="oppose", text="late")
        with pytest.raises(Conflict):
            svc.support(part["residents"][1], k)
    c = svc.close(part["handler"], c, version=c.version)
    with later(240), pytest.raises(Conflict) as exc:
        svc.comment(part["residents"][1], c, position="oppose", text="late")
    assert exc.value.code == "not_open"


def test_comments_are_rate_limited(part: dict[str, Any]) -> None:
    c = opened(part)
    r = part["residents"][0]
    svc.comment(r, c, position="support", text="first")
    with pytest.raises(Conflict) as exc:
        svc.comment(r, c, position="support", text="second, too soon")
    assert exc.value.code == "too_soon"
    for i in range(1, svc.MAX_COMMENTS_PER_PERSON):
        with later(2 * i):
            svc.comment(r, c, position="neutral", text=f"thought {i}")
    with later(60), pytest.raises(Conflict) as exc:
        svc.comment(r, c, position="oppose", text="one too many")
    assert exc.value.code == "too_many_comments"
    assert Comment.objects.filter(author=r).count() == svc.MAX_COMMENTS_PER_PERSON


def test_a_hidden_comment_cannot_be_supported(part: dict[str, Any]) -> None:
    c = opened(part)
    k = svc.comment(part["residents"][0], c, position="oppose", text="rude words")
    Comment.objects.filter(pk=k.pk).update(hidden_at=NOW, hidden_by="mod", hidden_reason="Insults")
    k.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        svc.support(part["residents"][1], k)
    assert exc.value.code == "hidden"


def test_result_counts_each_person_once_by_their_latest_comment(part: dict[str, Any]) -> None:
    c = opened(part)
    r1, r2, r3 = part["residents"]
    svc.comment(r1, c, position="oppose", text="no")
    svc.comment(r2, c, position="support", text="yes")
    with later(5):
        svc.comment(r1, c, position="support", text="convinced after the meeting")
        svc.comment(r3, c, position="neutral", text="hm")
    r = svc.result(c)
    assert (r.participants, r.in_favour, r.against, r.neutral, r.comments) == (3, 2, 0, 1, 4)


# -- documents ------------------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type", "ext"),
    [
        (PDF, "application/pdf", "pdf"),
        (_png(), "image/png", "png"),
        (
            _docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
    ],
)
def test_documents_are_typed_by_content(
    part: dict[str, Any], data: bytes, content_type: str, ext: str
) -> None:
    c = draft(part)
    d = svc.add_document(part["handler"], c, SimpleUploadedFile("Plan v2.bin", data, "text/html"))
    assert d.content_type == content_type
    assert d.file.name.endswith(f".{ext}") and len(d.sha256) == 64
    assert svc.filename(d) == f"Plan_v2.{ext}"


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b"MZ\x90\x00 an executable",
        b"PK\x03\x04 not really a zip",
        b"",
    ],
)
def test_other_files_are_refused(part: dict[str, Any], data: bytes) -> None:
    c = draft(part)
    with pytest.raises(InvalidInput) as exc:
        svc.add_document(
            part["handler"], c, SimpleUploadedFile("plan.pdf", data, "application/pdf")
        )
    assert exc.value.details["field"] == "document"
    assert not c.documents.exists()


def test_too_large_documents_are_refused(part: dict[str, Any], settings: Any) -> None:
    settings.CIVITAS_CONSULTATION_DOCUMENT_MB = 1
    c = draft(part)
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(InvalidInput, match="larger than 1 MB"):
        svc.add_document(part["handler"], c, SimpleUploadedFile("big.pdf", big))


def test_documents_only_by_the_office_and_not_once_closed(part: dict[str, Any]) -> None:
    c = opened(part)
    with pytest.raises(Forbidden):
        svc.add_document(part["residents"][0], c, SimpleUploadedFile("p.pdf", PDF))
    with pytest.raises(Forbidden):
        svc.add_document(part["other_street"], c, SimpleUploadedFile("p.pdf", PDF))
    c = svc.close(part["handler"], c, version=c.version)
    with pytest.raises(Conflict):
        svc.add_document(part["handler"], c, SimpleUploadedFile("p.pdf", PDF))


# -- feeding the stability assessment -------------------------------------------------------


def _with_opinions(
    part: dict[str, Any], against: int, in_favour: int, **fields: Any
) -> Consultation:
    if fields.get("assessment"):
        fields["actor"] = "leader"  # the street handler may not read assessments
    c = opened(part, **fields)
    for i in range(against):
        svc.comment(
            UserFactory(username=f"no{i}"),
            c,
            position="oppose",
            text=f"Traffic by the school, point {i}",
        )
    for i in range(in_favour):
        svc.comment(UserFactory(username=f"yes{i}"), c, position="support", text="Good plan")
    return svc.close(part["handler"], c, version=c.version)


def test_answering_feeds_the_assessment_once_and_raises_its_level(part: dict[str, Any]) -> None:
    a = assessment(part)
    assert a.computed_level == "low"
    c = _with_opinions(part, against=4, in_favour=6, assessment=a)
    k = Comment.objects.filter(position="oppose").first()
    assert k is not None
    k.supporters.add(part["residents"][0], part["residents"][1])
    done = svc.answer_and_feed(
        part["leader"],
        c,
        version=c.version,
        answer_text="We move the entrance.",
        changes="Entrance on Elm Road.",
    )
    assert done.fed and done.note == ""
    assert done.consultation.fed_at == NOW
    a.refresh_from_db()
    assert a.computed_level == "high" and a.level == "high"  # 40 % against
    [item] = a.consultation
    assert (
        item["source"],
        item["participants"],
        item["for"],
        item["against"],
        item["neutral"],
    ) == ("online", 10, 6, 4, 0)
    assert "Traffic by the school" in item["concerns"] and "(2 supporters)" in item["concerns"]
    assert "We move the entrance." in item["concerns"]
    with pytest.raises(Conflict) as exc:
        svc.feed(part["leader"], done.consultation)
    assert exc.value.code == "already_fed"
    a.refresh_from_db()
    assert len(a.consultation) == 1


def test_a_small_opposition_gives_medium(part: dict[str, Any]) -> None:
    a = assessment(part)
    c = _with_opinions(part, against=1, in_favour=8, assessment=a)
    svc.feed(part["leader"], c)
    a.refresh_from_db()
    assert a.computed_level == "medium"  # 1 of 9, 11 %


def test_feeding_a_record_on_file_is_refused(part: dict[str, Any]) -> None:
    notes = {f"{d}_note": "Checked." for d in stability.DIMENSIONS}
    a = assessment(part, measures="Liaison office.", consultation_summary="A hearing.", **notes)
    c = _with_opinions(part, against=0, in_favour=2, assessment=a)
    stability.add_consultation(
        part["leader"], a, version=None, item={"source": "hearing", "participants": 5, "for": 5}
    )
    a.refresh_from_db()
    stability.put_on_record(part["leader"], a, version=a.version)
    with pytest.raises(Conflict, match="is on record") as exc:
        svc.feed(part["leader"], c)
    assert exc.value.code == "assessment_on_record"
    # Answering still works and says why nothing was fed.
    done = svc.answer_and_feed(
        part["leader"], c, version=c.version, answer_text="Go ahead.", changes="Nothing."
    )
    assert done.consultation.status == "answered" and not done.fed and "on record" in done.note
    assert done.consultation.fed_at is None


def test_feeding_needs_a_closed_consultation_a_link_and_the_right_to_write_it(
    part: dict[str, Any],
) -> None:
    a = assessment(part)
    with pytest.raises(InvalidInput):
        opened(part, assessment=a)  # the handler may not read it
    c = opened(part, actor="leader", assessment=a)
    svc.comment(part["residents"][0], c, position="oppose", text="No")
    with pytest.raises(Conflict):
        svc.feed(part["leader"], c)
    c = svc.close(part["handler"], c, version=c.version)
    # The street handler manages the consultation but may not write assessments.
    with pytest.raises(Forbidden):
        svc.feed(part["handler"], c)
    c.refresh_from_db()
    assert c.fed_at is None
    bare = _with_opinions(part, against=1, in_favour=0)
    with pytest.raises(InvalidInput) as exc:
        svc.feed(part["leader"], bare)
    assert exc.value.details["field"] == "assessment"


def test_an_assessment_of_another_city_or_unreadable_cannot_be_linked(part: dict[str, Any]) -> None:
    a = assessment(part)
    d2 = member("d2-analyst", Role.ANALYST, part["T-D2-centre"])
    other = stability.create(
        d2,
        title="Elsewhere",
        description="d",
        jurisdiction=part["T-D2-S1"],
        decision_unit=part["T-D2-S1-office"],
    )
    with pytest.raises(InvalidInput) as exc:
        draft(part, actor="leader", assessment=other)
    assert exc.value.details["field"] == "assessment"
    c = draft(part, actor="leader", assessment=a)
    assert c.assessment == a
