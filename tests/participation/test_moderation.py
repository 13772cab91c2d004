"""Moderation: reporting once, the queue by area, hiding with a reason shown to the public,
dismissing, unhiding; every decision audited and the author told; comments included."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from civitas.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from civitas.kit.models import AuditEntry, OutboxMessage
from civitas.org.models import Role
from civitas.participation import moderation
from civitas.participation.models import Report
from tests.factories import member
from tests.participation.suggest_helpers import comment, consultation, propose

R = Report.State


@pytest.fixture
def items(part: dict[str, Any]) -> dict[str, Any]:
    author = part["residents"][0]
    author.email = "author@home.example"
    author.save(update_fields=["email"])
    made = dict(part)
    made["s1"] = propose(author, part["T-D1-S1-C1"], text="Call 13812345678, you idiots")
    made["s2"] = propose(author, part["T-D2-S1-C1"], title="Bus stop", text="Move it.")
    cons = consultation(part)
    made["c1"] = comment(cons, author, text="Rude words here")
    made["d2leader"] = member("d2-lead", Role.UNIT_LEADER, part["T-D2-S1-office"])
    return made


def test_report_once_per_person_with_a_reason(items: dict[str, Any]) -> None:
    r1, r2 = items["residents"][1], items["residents"][2]
    s = items["s1"]
    report = moderation.report(r1, target="suggestion", target_id=s.pk, reason="insults")
    assert report.state == R.OPEN and report.target_path == s.jurisdiction_path
    assert report.city == "T"
    with pytest.raises(Conflict) as err:
        moderation.report(r1, target="suggestion", target_id=s.pk, reason="again")
    assert err.value.code == "already_reported"
    moderation.report(r2, target="suggestion", target_id=s.pk, reason="phone number")
    assert Report.objects.filter(target="suggestion", target_id=s.pk).count() == 2
    assert AuditEntry.objects.filter(action="moderation.report").count() == 2


@pytest.mark.parametrize(
    ("target", "target_id", "reason", "error", "field"),
    [
        ("suggestion", "SELF", "", InvalidInput, "reason"),
        ("poem", "SELF", "bad", InvalidInput, "target"),
        ("suggestion", "x", "bad", InvalidInput, "target_id"),
        ("suggestion", 999999, "bad", NotFound, "target_id"),
        ("comment", 999999, "bad", NotFound, "target_id"),
    ],
)
def test_bad_reports_name_the_field(
    items: dict[str, Any], target: str, target_id: Any, reason: str, error: type, field: str
) -> None:
    tid = items["s1"].pk if target_id == "SELF" else target_id
    with pytest.raises(error) as err:
        moderation.report(items["residents"][1], target=target, target_id=tid, reason=reason)
    assert err.value.details["field"] == field
    assert not Report.objects.exists()


def test_no_report_of_ones_own_text_or_without_signing_in(items: dict[str, Any]) -> None:
    s = items["s1"]
    with pytest.raises(Forbidden):
        moderation.report(items["residents"][0], target="suggestion", target_id=s.pk, reason="x")
    with pytest.raises(Forbidden):
        moderation.report(AnonymousUser(), target="suggestion", target_id=s.pk, reason="x")


def test_queue_by_area_grouped_per_item(items: dict[str, Any]) -> None:
    r1, r2 = items["residents"][1], items["residents"][2]
    s1, s2, c1 = items["s1"], items["s2"], items["c1"]
    moderation.report(r1, target="suggestion", target_id=s1.pk, reason="insults")
    moderation.report(r2, target="suggestion", target_id=s1.pk, reason="phone")
    moderation.report(r1, target="suggestion", target_id=s2.pk, reason="spam")
    moderation.report(r1, target="comment", target_id=c1.pk, reason="rude")
    street = moderation.queue(items["leader"])
    assert [(g.target, g.target_id, g.count) for g in street] == [
        ("suggestion", s1.pk, 2),
        ("comment", c1.pk, 1),
    ]
    assert street[0].obj == s1
    assert [(g.target, g.target_id) for g in moderation.queue(items["d2leader"])] == [
        ("suggestion", s2.pk)
    ]
    assert len(moderation.queue(items["dispatcher"])) == 3  # the city centre: everything
    assert [g.target for g in moderation.queue(items["leader"], target="comment")] == ["comment"]
    # Handlers, residents and the public moderate nothing.
    for who in (items["handler"], items["community"], r1, AnonymousUser()):
        assert moderation.queue(who) == []


def test_hide_shows_the_reason_to_the_public_and_the_text_to_the_author(
    items: dict[str, Any],
) -> None:
    s = items["s1"]
    moderation.report(items["residents"][1], target="suggestion", target_id=s.pk, reason="x")
    with pytest.raises(Forbidden):  # another street's leader
        moderation.hide(items["d2leader"], target="suggestion", target_id=s.pk, reason="abuse")
    with pytest.raises(Forbidden):  # a handler of the unit: not a moderator
        moderation.hide(items["handler"], target="suggestion", target_id=s.pk, reason="abuse")
    with pytest.raises(InvalidInput) as err:
        moderation.hide(items["leader"], target="suggestion", target_id=s.pk, reason=" ")
    assert err.value.details["field"] == "reason"
    hidden = moderation.hide(items["leader"], target="suggestion", target_id=s.pk, reason="insults")
    assert hidden.hidden_at is not None and hidden.hidden_reason == "insults"
    assert hidden.hidden_by.startswith("user:")
    assert Report.objects.get().state == R.HIDDEN
    public_sees = moderation.shown(hidden, AnonymousUser(), hidden.text)
    assert public_sees == "hidden by a moderator: insults"
    assert moderation.shown(hidden, items["residents"][2], hidden.text) == public_sees
    mine = moderation.shown(hidden, items["residents"][0], hidden.text)
    assert mine == "Call 138****5678, you idiots"  # scrubbed even for the author
    entry = AuditEntry.objects.get(action="moderation.hide")
    assert entry.reason == "insults" and entry.object_type == "participation.suggestion"
    assert OutboxMessage.objects.filter(
        recipient="author@home.example", topic="participation.moderation"
    ).exists()
    with pytest.raises(Conflict):
        moderation.hide(items["leader"], target="suggestion", target_id=s.pk, reason="again")
    with pytest.raises(Conflict) as late:
        moderation.report(items["residents"][2], target="suggestion", target_id=s.pk, reason="y")
    assert late.value.code == "already_hidden"


def test_unhide_needs_a_reason_and_a_hidden_text(items: dict[str, Any]) -> None:
    s = items["s1"]
    with pytest.raises(Conflict):
        moderation.unhide(items["leader"], target="suggestion", target_id=s.pk, reason="ok")
    moderation.hide(items["leader"], target="suggestion", target_id=s.pk, reason="insults")
    with pytest.raises(InvalidInput):
        moderation.unhide(items["leader"], target="suggestion", target_id=s.pk, reason="")
    shown = moderation.unhide(
        items["leader"], target="suggestion", target_id=s.pk, reason="apologised and edited"
    )
    assert shown.hidden_at is None and shown.hidden_reason == ""
    assert moderation.shown(shown, AnonymousUser(), shown.text).startswith("Call 138****")
    assert AuditEntry.objects.filter(action="moderation.unhide").count() == 1
    assert OutboxMessage.objects.filter(topic="participation.moderation").count() == 2


def test_dismiss_leaves_the_text(items: dict[str, Any]) -> None:
    c = items["c1"]
    with pytest.raises(Conflict):
        moderation.dismiss(items["leader"], target="comment", target_id=c.pk)
    moderation.report(items["residents"][1], target="comment", target_id=c.pk, reason="rude")
    moderation.report(items["residents"][2], target="comment", target_id=c.pk, reason="rude")
    with pytest.raises(Forbidden):
        moderation.dismiss(items["d2leader"], target="comment", target_id=c.pk)
    assert moderation.dismiss(items["leader"], target="comment", target_id=c.pk) == 2
    assert set(Report.objects.values_list("state", flat=True)) == {R.DISMISSED}
    c.refresh_from_db()
    assert c.hidden_at is None
    assert moderation.queue(items["leader"]) == []
    assert AuditEntry.objects.filter(action="moderation.dismiss").count() == 1


def test_comments_are_hidden_through_moderation(items: dict[str, Any]) -> None:
    c = items["c1"]
    moderation.report(items["residents"][1], target="comment", target_id=c.pk, reason="rude")
    hidden = moderation.hide(items["leader"], target="comment", target_id=c.pk, reason="rude")
    c.refresh_from_db()
    assert c.hidden_at == hidden.hidden_at and c.hidden_reason == "rude"
    assert moderation.shown(c, AnonymousUser(), c.text) == "hidden by a moderator: rude"
    assert moderation.shown(c, items["leader"], c.text) == "Rude words here"
    assert [h.pk for h in moderation.hidden_items(items["leader"])] == [c.pk]
    assert moderation.hidden_items(items["d2leader"]) == []
