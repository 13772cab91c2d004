"""/api/participation/suggestions and /api/participation/moderation: public reads without
personal data, proposing/supporting/reporting by signed-in people (CSRF-checked sessions),
staff moves, moderation by area, and bad input naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civitas.org import services as org_services
from civitas.participation import moderation, public
from civitas.participation.models import Report, Suggestion
from tests.participation.suggest_helpers import comment, consultation, propose

BASE = "/api/participation"


@pytest.fixture(autouse=True)
def _small(settings: Any) -> None:
    settings.CIVITAS_SUGGESTION_THRESHOLD = 2


def person(user: Any) -> tuple[Client, dict[str, str]]:
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    c = Client(enforce_csrf_checks=True)
    c.force_login(user)
    secret = _get_new_csrf_string()
    c.cookies["csrftoken"] = secret
    return c, {"X-CSRFToken": str(_mask_cipher_secret(secret))}


def post(user: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    c, headers = person(user)
    return c.post(BASE + url, body or {}, content_type="application/json", headers=headers)


def test_public_list_and_detail_without_personal_data(part: dict[str, Any]) -> None:
    author = part["residents"][0]
    author.display_name, author.phone = "Li Si", "13700001111"
    author.save()
    s = propose(author, part["T-D1-S1-C1"], text="Phone 13700001111 for details")
    hidden = propose(author, part["T-D1-S1-C1"], title="Rude", text="Rude text")
    moderation.hide(part["leader"], target="suggestion", target_id=hidden.pk, reason="abuse")
    listing = Client().get(f"{BASE}/suggestions")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 1 and body["items"][0]["code"] == s.code
    raw = listing.content.decode()
    for secret in ("Li Si", author.username, "13700001111"):
        assert secret not in raw
    assert body["items"][0]["author"] == public.pseudonym(author)
    assert body["items"][0]["text"] == "Phone 137****1111 for details"
    one = Client().get(f"{BASE}/suggestions/{hidden.code}").json()
    assert one["hidden"] and one["text"] == "" and one["title"] == "hidden by a moderator: abuse"
    assert Client().get(f"{BASE}/suggestions/SG-999999").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=maybe", "status"),
        ("sort=random", "sort"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
    ],
)
def test_list_refuses_bad_parameters(part: dict[str, Any], query: str, field: str) -> None:
    r = Client().get(f"{BASE}/suggestions?{query}")
    assert r.status_code == 422
    assert field in r.content.decode()


def test_propose_support_answer_close(part: dict[str, Any]) -> None:
    author, a, b = part["residents"]
    anon = Client().post(
        f"{BASE}/suggestions",
        {"title": "x", "text": "y", "place": "T-D1-S1-C1"},
        content_type="application/json",
    )
    assert anon.status_code in (401, 403)
    c, _ = person(author)
    no_csrf = c.post(
        f"{BASE}/suggestions",
        {"title": "x", "text": "y", "place": "T-D1-S1-C1"},
        content_type="application/json",
    )
    assert no_csrf.status_code in (401, 403)
    bad = post(author, "/suggestions", {"title": "x", "text": "y", "place": "NOWHERE"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "place"
    missing = post(author, "/suggestions", {"text": "y"})
    assert missing.status_code == 422 and "title" in missing.json()["error"]["message"]
    made = post(
        author, "/suggestions", {"title": "Benches", "text": "Please", "place": "T-D1-S1-C1"}
    )
    assert made.status_code == 201
    code = made.json()["code"]
    assert made.json()["unit"] == "T-D1-S1-OFFICE"
    assert post(author, f"/suggestions/{code}/support").status_code == 403
    assert post(a, f"/suggestions/{code}/support").json()["support_count"] == 1
    assert post(a, f"/suggestions/{code}/support").status_code == 409
    due = post(b, f"/suggestions/{code}/support").json()
    assert due["status"] == "due" and due["answer_due"]
    version = due["version"]
    assert (
        post(
            part["other_street"],
            f"/suggestions/{code}/answer",
            {"version": version, "answer": "no"},
        ).status_code
        == 403
    )
    closing = post(
        part["handler"], f"/suggestions/{code}/close", {"version": version, "reason": "dup"}
    )
    assert closing.status_code == 409 and closing.json()["error"]["code"] == "answer_owed"
    empty = post(part["handler"], f"/suggestions/{code}/answer", {"version": version, "answer": ""})
    assert empty.status_code == 422 and empty.json()["error"]["details"]["field"] == "answer"
    stale = post(part["handler"], f"/suggestions/{code}/answer", {"version": 1, "answer": "x"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale"
    done = post(
        part["handler"],
        f"/suggestions/{code}/answer",
        {"version": version, "answer": "Done by May."},
    )
    assert done.status_code == 200 and done.json()["status"] == "answered"
    closed = post(
        part["handler"],
        f"/suggestions/{code}/close",
        {"version": done.json()["version"], "reason": "finished"},
    )
    assert closed.json()["status"] == "closed"


def test_reassign_names_an_unknown_unit(part: dict[str, Any]) -> None:
    s = propose(part["residents"][0], part["T-D1-S1-C1"])
    r = post(
        part["leader"],
        f"/suggestions/{s.code}/reassign",
        {"version": s.version, "unit": "NOPE", "reason": "x"},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "unit"
    ok = post(
        part["leader"],
        f"/suggestions/{s.code}/reassign",
        {"version": s.version, "unit": "T-D1-S2-OFFICE", "reason": "their square"},
    )
    assert ok.status_code == 200 and ok.json()["unit"] == "T-D1-S2-OFFICE"


def test_api_keys_do_not_act_as_residents(part: dict[str, Any]) -> None:
    from django.db import transaction

    with transaction.atomic():
        _key, clear = org_services.create_api_key(
            actor="test", name="app", unit=part["T-D1-S1-office"], scopes=["participation:read"]
        )
    r = Client().post(
        f"{BASE}/suggestions",
        {"title": "x", "text": "y", "place": "T-D1-S1-C1"},
        content_type="application/json",
        headers={"X-Api-Key": clear},
    )
    assert r.status_code == 403 and not Suggestion.objects.exists()


def test_report_and_moderate_over_the_api(part: dict[str, Any]) -> None:
    author, reporter, _ = part["residents"]
    cons = consultation(part)
    c = comment(cons, author, text="Shouting")
    bad = post(reporter, "/reports", {"target": "tweet", "target_id": c.pk, "reason": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "target"
    no_reason = post(reporter, "/reports", {"target": "comment", "target_id": c.pk, "reason": ""})
    assert no_reason.status_code == 422
    made = post(reporter, "/reports", {"target": "comment", "target_id": c.pk, "reason": "loud"})
    assert made.status_code == 201 and made.json()["state"] == "open"
    again = post(reporter, "/reports", {"target": "comment", "target_id": c.pk, "reason": "x"})
    assert again.status_code == 409
    # The queue: moderators of the area only.
    for who, status in ((reporter, 403), (part["handler"], 403)):
        cl, _ = person(who)
        assert cl.get(f"{BASE}/moderation").status_code == status
    cl, _ = person(part["leader"])
    q = cl.get(f"{BASE}/moderation").json()
    assert [(i["target"], i["target_id"]) for i in q] == [("comment", c.pk)]
    assert q[0]["author"] == public.pseudonym(author) and author.username not in str(q)
    assert (
        post(part["leader"], f"/moderation/comment/{c.pk}/shred", {"reason": "x"}).status_code
        == 422
    )
    assert (
        post(part["leader"], f"/moderation/comment/{c.pk}/hide", {"reason": ""}).status_code == 422
    )
    hid = post(part["leader"], f"/moderation/comment/{c.pk}/hide", {"reason": "shouting"})
    assert (
        hid.status_code == 200
        and hid.json()["hidden"]
        and hid.json()["hidden_reason"] == "shouting"
    )
    assert Report.objects.get().state == "hidden"
    back = post(part["leader"], f"/moderation/comment/{c.pk}/unhide", {"reason": "calm now"})
    assert back.json()["hidden"] is False
    assert post(part["leader"], f"/moderation/comment/{c.pk}/dismiss").status_code == 409
