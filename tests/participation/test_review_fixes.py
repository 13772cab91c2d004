"""After the review (issue 8): the same classes of defect, looked for across participation.

Resident's (and staff's) free text is masked in every public output and every outbox notice;
public search matches only what the public sees; API times carry a zone; texts are bounded
with an error naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civitas.kit import clock
from civitas.kit.errors import InvalidInput
from civitas.kit.models import OutboxMessage
from civitas.participation import (
    consultations,
    moderation,
    orgs,
    selectors_suggest,
    suggestions,
    volunteering,
)
from civitas.participation.models import Consultation, Organisation, OrgKind, Task
from tests.participation.suggest_helpers import comment, consultation, propose, residents
from tests.participation.tasks_helpers import confirmed, task

pytestmark = pytest.mark.django_db

PHONE = "13712345678"
MASKED = "137****5678"
MAIL = "zhang.san@example.com"


def _mail(*people: Any) -> None:
    for i, p in enumerate(people):
        p.email = f"person{i}-{p.pk}@office.example"
        p.save(update_fields=["email"])


def _outbox(topic_prefix: str = "participation") -> str:
    return "\n".join(
        m.subject + "\n" + m.body
        for m in OutboxMessage.objects.filter(topic__startswith=topic_prefix)
    )


def _as(user: Any) -> Client:
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


# -- search ---------------------------------------------------------------------------------


def _codes(search: str) -> set[str]:
    return set(selectors_suggest.public_suggestions(search=search).values_list("code", flat=True))


def test_search_matches_only_the_public_text(part: dict[str, Any]) -> None:
    author = part["residents"][0]
    phone = propose(author, part["T-D1-S1-C1"], text=f"Ring me on {PHONE} about the lamps.")
    mail = propose(author, part["T-D1-S1-C1"], title="Bins", text=f"Write to {MAIL} please.")
    plain = propose(author, part["T-D1-S1-C1"], title="Trees", text="Plant 3 plane trees.")
    # what the public sees is found, case aside
    assert _codes("5678") == {phone.code}  # the last four digits are shown
    assert _codes(MASKED) == set()  # the mask itself is not text anyone typed: no match, no harm
    assert _codes("ring ME") == {phone.code}
    assert _codes("plane") == {plain.code}
    assert _codes("3 plane") == {plain.code}  # digits that nothing masks are found
    assert _codes(phone.code.lower()) == {phone.code}
    # what it masks is not
    for hidden in ("1234", "81234567", PHONE, "zhang", "example.com", "san@"):
        assert mail.code not in _codes(hidden) and phone.code not in _codes(hidden), hidden
    # staff search the same way (no page shows them the raw digits either)
    staff = selectors_suggest.staff_suggestions(part["leader"], search="81234567")
    assert not staff.exists()
    assert selectors_suggest.staff_suggestions(part["leader"], search="5678").count() == 1


def test_search_through_the_api_and_page(part: dict[str, Any]) -> None:
    propose(part["residents"][0], part["T-D1-S1-C1"], text=f"Mail {MAIL} or call {PHONE}.")
    client = Client()
    assert client.get("/api/participation/suggestions", {"q": "5678"}).json()["count"] == 1
    assert client.get("/api/participation/suggestions", {"q": "zhang.san"}).json()["count"] == 0
    page = client.get(reverse("participation-suggestions"), {"q": "example.com"})
    assert page.status_code == 200 and "Mail" not in page.content.decode()


# -- notices --------------------------------------------------------------------------------


@pytest.fixture
def _small_threshold(settings: Any) -> None:
    settings.CIVITAS_SUGGESTION_THRESHOLD = 2


@pytest.mark.usefixtures("_small_threshold")
def test_suggestion_notices_mask_titles_and_reasons(part: dict[str, Any]) -> None:
    author = part["residents"][0]
    _mail(author, part["leader"], part["handler"], part["other_street"])
    s = propose(author, part["T-D1-S1-C1"], title=f"Benches, call {PHONE}")
    for p in residents(2, prefix="backer"):
        s = suggestions.support(p, s)
    assert s.status == "due"
    suggestions.flag_overdue(clock.now() + timedelta(days=60))  # the street's leader is told
    s = suggestions.reassign(
        part["leader"],
        s,
        version=s.version,
        unit=part["T-D2-S1-office"],
        reason=f"their square; ask {PHONE}",
    )
    s = suggestions.answer(part["other_street"], s, version=s.version, text="Done.")
    suggestions.close(part["other_street"], s, version=s.version, reason=f"Built; {MAIL}")
    sent = _outbox()
    for topic in ("due", "overdue", "answered", "closed"):
        assert OutboxMessage.objects.filter(topic=f"participation.suggestion_{topic}").exists()
    assert PHONE not in sent and MAIL not in sent
    assert MASKED in sent  # masked, not dropped


def test_moderation_notice_and_queue_mask_reasons(part: dict[str, Any]) -> None:
    author, reporter = part["residents"][0], part["residents"][1]
    _mail(author)
    s = propose(author, part["T-D1-S1-C1"], text=f"Neighbour's phone {PHONE}")
    moderation.report(reporter, target="suggestion", target_id=s.pk, reason=f"shows {PHONE}")
    queue = _as(part["leader"]).get("/api/participation/moderation")
    assert queue.status_code == 200 and queue.json()[0]["reports"]
    assert PHONE not in queue.content.decode()
    page = _as(part["leader"]).get(reverse("participation-moderation"))
    assert page.status_code == 200 and PHONE not in page.content.decode()
    assert MASKED in page.content.decode()
    moderation.hide(part["leader"], target="suggestion", target_id=s.pk, reason=f"has {PHONE}")
    hidden = _as(part["leader"]).get(reverse("participation-moderation"))
    assert "has 137****5678" in hidden.content.decode() and PHONE not in hidden.content.decode()
    moderation.unhide(part["leader"], target="suggestion", target_id=s.pk, reason=f"ok {PHONE}")
    sent = _outbox("participation.moderation")
    assert "has 137****5678" in sent and PHONE not in sent


def test_task_notices_mask_title_and_reason(part: dict[str, Any]) -> None:
    _mail(part["handler"], part["leader"])
    t = task(part, title=f"Help Mrs Zhang ({PHONE})", slots=2)
    v = confirmed(part, "vol-notice")
    _mail(v)
    volunteering.take(actor=v, task=t.code)
    volunteering.cancel(actor=part["handler"], task=t.code, reason=f"she moved; {PHONE}")
    sent = _outbox("")
    assert "Help Mrs Zhang" in sent and PHONE not in sent


def test_org_and_participant_notices_mask_reasons(part: dict[str, Any]) -> None:
    r = part["residents"][0]
    _mail(r, part["community"])
    o = orgs.register_organisation(
        actor=r,
        data=orgs.OrgIn(
            kind=OrgKind.SOCIAL_ORG,
            name_en=f"Tenants {PHONE}",
            name_zh="租户会",
            jurisdiction=part["T-D1-S1-C1"],
        ),
    )
    orgs.move_organisation(actor=part["community"], org=o.code, move="suspend", reason=PHONE)
    detail = _as(part["community"]).get(f"/api/participation/organisations/{o.code}")
    assert detail.status_code == 200 and detail.json()["state_reason"] == MASKED
    p = orgs.report(actor=r, home=part["T-D1-S1-C1"], is_volunteer=True, is_party_member=False)
    orgs.decide_participant(
        actor=part["community"], participant=p.pk, confirm=False, reason=f"call {PHONE}"
    )
    sent = _outbox("")
    assert "Tenants" in sent and "call 137****5678" in sent and PHONE not in sent


def test_consultation_closed_notice_masks_title(part: dict[str, Any]) -> None:
    _mail(part["leader"], part["handler"])
    c = consultation(part)
    Consultation.objects.filter(pk=c.pk).update(title=f"Market street (ask {PHONE})")
    consultations.close(part["leader"], Consultation.objects.get(pk=c.pk), version=None)
    sent = _outbox("participation.consultation")
    assert "Market street" in sent and PHONE not in sent


# -- public texts of staff ------------------------------------------------------------------


def test_public_task_texts_are_masked_everywhere(part: dict[str, Any]) -> None:
    t = task(part, title=f"Coal for {PHONE}", where=f"Gate, ask {PHONE}", started=False)
    anonymous = Client()
    for url in (
        "/api/participation/tasks",
        f"/api/participation/tasks/{t.code}",
        reverse("participation-task", args=[t.code]),
        reverse("participation-tasks"),
        reverse("participation-home"),
    ):
        body = anonymous.get(url).content.decode()
        assert "Coal for" in body and MASKED in body and PHONE not in body, url
    staff = _as(part["handler"]).get(f"/api/participation/tasks/{t.code}")
    assert (
        staff.status_code == 200 and "takes" in staff.json() and PHONE not in staff.content.decode()
    )


def test_public_consultation_texts_are_masked(part: dict[str, Any]) -> None:
    c = consultation(part)
    Consultation.objects.filter(pk=c.pk).update(
        title=f"Market {PHONE}",
        body=f"Plan; the engineer is on {PHONE}.",
        status=Consultation.Status.ANSWERED,
        answer=f"Answer: {MAIL}",
        changes=f"Changes: {PHONE}",
        answered_at=clock.now(),
    )
    anonymous = Client()
    for url in (
        f"/api/participation/consultations/{c.code}",
        "/api/participation/consultations",
        reverse("participation-consultation", args=[c.code]),
        reverse("participation-consultations"),
    ):
        body = anonymous.get(url).content.decode()
        assert "Market" in body and PHONE not in body and MAIL not in body, url


def test_concerns_fed_to_the_assessment_mask_the_answer(part: dict[str, Any]) -> None:
    c = consultation(part)
    comment(c, part["residents"][0])
    c.answer, c.changes = f"Call {PHONE}", f"Wrote to {MAIL}"
    text = consultations.concerns(c)
    assert MASKED in text and PHONE not in text and MAIL not in text


def test_org_page_masks_its_description(part: dict[str, Any]) -> None:
    o = orgs.register_organisation(
        actor=part["handler"],
        data=orgs.OrgIn(
            kind=OrgKind.SOCIAL_ORG,
            name_en="Elder Care",
            name_zh="敬老",
            jurisdiction=part["T-D1-S1-C1"],
            description=f"Call our volunteer on {PHONE}.",
        ),
    )
    page = Client().get(reverse("participation-org", args=[o.code]))
    assert page.status_code == 200
    assert MASKED in page.content.decode() and PHONE not in page.content.decode()


# -- times and lengths ----------------------------------------------------------------------

BASE = {
    "kind": "clean_up",
    "title": "Clean the riverside",
    "description": "Bring gloves.",
    "publisher": "T-D1-S1-OFFICE",
    "area": "T-D1-S1-C1",
    "starts_at": "2030-01-01T10:00:00+08:00",
    "ends_at": "2030-01-01T12:00:00+08:00",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": "2030-01-01T12:00:00"}, "ends_at"),  # one of the two without a zone
        ({"starts_at": "2030-01-01T10:00:00"}, "starts_at"),
        ({"description": "d" * (volunteering.DESCRIPTION_MAX + 1)}, "description"),
        ({"description": "   "}, "description"),
        ({"title": "t" * 201}, "title"),
        ({"place": "p" * 201}, "place"),
    ],
)
def test_task_api_refuses_naming_the_field(
    part: dict[str, Any], change: dict[str, str], field: str
) -> None:
    r = _as(part["handler"]).post(
        "/api/participation/tasks", {**BASE, **change}, content_type="application/json"
    )
    assert r.status_code == 422, r.content
    assert r.json()["error"]["details"]["field"] == field
    assert not Task.objects.exists()


def test_task_api_takes_times_with_a_zone_and_the_longest_description(
    part: dict[str, Any],
) -> None:
    r = _as(part["handler"]).post(
        "/api/participation/tasks",
        {**BASE, "description": "d" * volunteering.DESCRIPTION_MAX},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    t = Task.objects.get()
    assert t.starts_at == datetime(2030, 1, 1, 2, 0, tzinfo=UTC)


def test_task_page_form_bounds_the_description(part: dict[str, Any]) -> None:
    now = timezone.localtime(clock.now())
    form = {
        "publisher": str(part["T-D1-S1-office"].pk),
        "jurisdiction": "T-D1-S1-C1",
        "kind": "elder_help",
        "title": "Shopping",
        "description": "x" * (volunteering.DESCRIPTION_MAX + 1),
        "starts_at": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "slots": "1",
    }
    h = _as(part["handler"])
    bad = h.post(reverse("participation-task-new"), form)
    assert bad.status_code == 200 and not Task.objects.exists()
    assert "5000" in bad.content.decode() or "5,000" in bad.content.decode()
    ok = h.post(reverse("participation-task-new"), {**form, "description": "Twice a week."})
    assert ok.status_code == 302 and Task.objects.count() == 1  # local times still work


def test_task_reasons_and_notes_are_bounded(part: dict[str, Any]) -> None:
    t = task(part, slots=1)
    v = confirmed(part, "vol-bounded")
    k = volunteering.take(actor=v, task=t.code)
    with pytest.raises(InvalidInput) as e:
        volunteering.complete(
            actor=part["handler"], task=t.code, take_id=k.pk, hours="1", note="n" * 1001
        )
    assert e.value.details == {"field": "note"}
    with pytest.raises(InvalidInput) as e:
        volunteering.cancel(actor=part["handler"], task=t.code, reason="r" * 301)
    assert e.value.details == {"field": "reason"}
    assert Task.objects.get(pk=t.pk).status == "full"  # nothing changed
    done = volunteering.complete(
        actor=part["handler"], task=t.code, take_id=k.pk, hours="1", note="n" * 1000
    )
    assert done.state == "done" and len(done.note) == 1000


def test_organisation_texts_are_bounded(part: dict[str, Any]) -> None:
    def org(**kw: Any) -> orgs.OrgIn:
        base: dict[str, Any] = {
            "kind": OrgKind.SOCIAL_ORG,
            "name_en": "Elder Care",
            "name_zh": "敬老",
            "jurisdiction": part["T-D1-S1-C1"],
        }
        return orgs.OrgIn(**(base | kw))

    for kw, field in [
        ({"description": "d" * (orgs.DESCRIPTION_MAX + 1)}, "description"),
        ({"name_en": "n" * 201}, "name_en"),
        ({"name_zh": "名" * 201}, "name_zh"),
        ({"contact_name": "c" * 121}, "contact_name"),
    ]:
        with pytest.raises(InvalidInput) as e:
            orgs.register_organisation(actor=part["handler"], data=org(**kw))
        assert e.value.details == {"field": field}, kw
    assert not Organisation.objects.exists()
    o = orgs.register_organisation(
        actor=part["handler"], data=org(description="d" * orgs.DESCRIPTION_MAX)
    )
    with pytest.raises(InvalidInput) as e:
        orgs.move_organisation(actor=part["handler"], org=o.code, move="suspend", reason="r" * 301)
    assert e.value.details == {"field": "reason"}
    assert Organisation.objects.get(pk=o.pk).state == "active"
    p = orgs.report(
        actor=part["residents"][0],
        home=part["T-D1-S1-C1"],
        is_volunteer=True,
        is_party_member=False,
    )
    with pytest.raises(InvalidInput) as e:
        orgs.decide_participant(
            actor=part["community"], participant=p.pk, confirm=False, reason="r" * 301
        )
    assert e.value.details == {"field": "reason"}
