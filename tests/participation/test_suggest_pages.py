"""The suggestion and moderation pages: what the public sees (pseudonyms, scrubbed text, the
moderator's reason instead of hidden text), proposing, supporting, answering, reporting and
moderating through the forms, and who may reach what."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from civitas.participation import moderation, public, suggestions
from civitas.participation.models import Report, Suggestion
from tests.participation.suggest_helpers import propose, residents

S = Suggestion.Status


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CIVITAS_SUGGESTION_THRESHOLD = 2


@pytest.fixture
def author(part: dict[str, Any]) -> Any:
    a = part["residents"][0]
    a.display_name = "Zhang Sanfeng"
    a.phone = "13911112222"
    a.email = "zsf@home.example"
    a.save()
    return a


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_public_pages_show_pseudonyms_and_scrubbed_text_only(
    part: dict[str, Any], author: Any
) -> None:
    s = propose(author, part["T-D1-S1-C1"], text="Ring me on 13911112222 or zsf@home.example")
    anon = Client()
    for url in (
        reverse("participation-suggestions"),
        reverse("participation-suggestion", args=[s.code]),
    ):
        html = anon.get(url).content.decode()
        assert public.pseudonym(author) in html
        for secret in ("Zhang Sanfeng", author.username, "13911112222", "zsf@home.example"):
            assert secret not in html
    html = anon.get(reverse("participation-suggestion", args=[s.code])).content.decode()
    assert "139****2222" in html and "z***@***" in html
    assert "Sign in to support it" in html and 'id="support-form"' not in html


def test_hidden_suggestion_shows_the_reason_not_the_text(part: dict[str, Any], author: Any) -> None:
    s = propose(author, part["T-D1-S1-C1"], title="Secret title", text="The secret text")
    moderation.hide(part["leader"], target="suggestion", target_id=s.pk, reason="insults")
    url = reverse("participation-suggestion", args=[s.code])
    for viewer in (Client(), client_for(part["residents"][1])):
        html = viewer.get(url).content.decode()
        assert "hidden by a moderator: insults" in html
        assert "The secret text" not in html and "Secret title" not in html
    listing = Client().get(reverse("participation-suggestions") + "?q=secret").content.decode()
    assert "Secret" not in listing
    own = client_for(author).get(url).content.decode()
    assert "The secret text" in own and "hidden by a moderator: insults" in own


def test_propose_through_the_form(part: dict[str, Any], author: Any) -> None:
    url = reverse("participation-suggestion-new")
    assert Client().get(url).status_code == 302  # to the sign-in page
    c = client_for(author)
    bad = c.post(url, {"title": "", "text": "x", "place": ""})
    assert bad.status_code == 200
    assert not Suggestion.objects.exists()
    errors = bad.context["form"].errors
    assert "title" in errors and "place" in errors
    ok = c.post(
        url, {"title": "Street lights", "text": "Too dark.", "place": part["T-D1-S1-C2"].pk}
    )
    s = Suggestion.objects.get()
    assert ok.status_code == 302 and ok["Location"].endswith(f"/suggestions/{s.code}/")
    assert s.unit == part["T-D1-S1-office"] and s.author == author
    by_point = c.post(
        url, {"title": "Trees", "text": "Plant.", "place": "", "lat": 0.5, "lon": 0.5}
    )
    assert by_point.status_code == 302
    assert Suggestion.objects.get(title="Trees").jurisdiction == part["T-D1-S1-C1"]
    outside = c.post(
        url, {"title": "Far", "text": "x", "place": part["T-D2"].pk, "lat": 0.5, "lon": 0.5}
    )
    assert outside.status_code == 200 and "lat" in outside.context["form"].errors


def test_support_answer_and_the_staff_list(part: dict[str, Any], author: Any) -> None:
    s = propose(author, part["T-D1-S1-C1"])
    support = reverse("participation-suggestion-support", args=[s.code])
    assert Client().post(support).status_code == 302
    own = client_for(author).post(support, follow=True)
    assert "ask your neighbours" in own.content.decode()
    for p in residents(2):
        client_for(p).post(support)
    s.refresh_from_db()
    assert s.support_count == 2 and s.status == S.DUE
    work = client_for(part["handler"]).get(reverse("participation-suggestions-work"))
    assert work.status_code == 200 and s.code in work.content.decode()
    assert (
        client_for(part["residents"][1]).get(reverse("participation-suggestions-work")).status_code
        == 403
    )
    answer = reverse("participation-suggestion-answer", args=[s.code])
    assert (
        client_for(part["other_street"])
        .post(answer, {"version": s.version, "answer": "no"})
        .status_code
        == 403
    )
    empty = client_for(part["handler"]).post(answer, {"version": s.version, "answer": ""})
    assert empty.status_code == 422 and "answer" in empty.context["answer_form"].errors
    stale = client_for(part["handler"]).post(answer, {"version": s.version - 1, "answer": "Yes"})
    assert stale.status_code == 422
    done = client_for(part["handler"]).post(
        answer, {"version": s.version, "answer": "Two new benches in May."}
    )
    assert done.status_code == 302
    html = Client().get(reverse("participation-suggestion", args=[s.code])).content.decode()
    assert "Two new benches in May." in html and "Answered" in html


def test_close_of_a_due_suggestion_is_refused_on_the_page(
    part: dict[str, Any], author: Any
) -> None:
    s = propose(author, part["T-D1-S1-C1"])
    for p in residents(2):
        s = suggestions.support(p, s)
    close = reverse("participation-suggestion-close", args=[s.code])
    refused = client_for(part["handler"]).post(close, {"version": s.version, "reason": "dup"})
    assert refused.status_code == 422
    s.refresh_from_db()
    assert s.status == S.DUE


def test_report_and_moderate_through_the_pages(part: dict[str, Any], author: Any) -> None:
    s = propose(author, part["T-D1-S1-C1"], text="Nasty words")
    page = reverse("participation-suggestion", args=[s.code])
    reporter = client_for(part["residents"][1])
    assert 'id="report-suggestion-' in reporter.get(page).content.decode()
    report = reverse("participation-report", args=["suggestion", s.pk])
    r = reporter.post(report, {"reason": "insults", "next": page})
    assert r.status_code == 302 and r["Location"] == page
    assert Report.objects.get().reason == "insults"
    assert (
        reporter.post(report, {"reason": "x", "next": "https://evil.example/"})["Location"] == page
    )
    assert Report.objects.count() == 1
    queue = reverse("participation-moderation")
    assert client_for(part["handler"]).get(queue).status_code == 403
    assert client_for(part["residents"][1]).get(queue).status_code == 403
    html = client_for(part["leader"]).get(queue).content.decode()
    assert "insults" in html and "Nasty words" in html
    assert author.username not in html and "Zhang Sanfeng" not in html
    hide = reverse("participation-moderation-decide", args=["suggestion", s.pk, "hide"])
    assert client_for(part["other_street"]).post(hide, {"reason": "x"}).status_code == 403
    client_for(part["leader"]).post(hide, {"reason": "insults to neighbours"})
    s.refresh_from_db()
    assert s.hidden_reason == "insults to neighbours"
    assert "hidden by a moderator: insults to neighbours" in Client().get(page).content.decode()
    unhide = reverse("participation-moderation-decide", args=["suggestion", s.pk, "unhide"])
    client_for(part["leader"]).post(unhide, {"reason": ""}, follow=True)
    s.refresh_from_db()
    assert s.hidden_at is not None  # no reason, no change
    client_for(part["leader"]).post(unhide, {"reason": "edited"})
    s.refresh_from_db()
    assert s.hidden_at is None


def test_list_filters_and_sorts(part: dict[str, Any], author: Any) -> None:
    a = propose(author, part["T-D1-S1-C1"], title="Benches")
    b = propose(author, part["T-D2-S1-C1"], title="Bus stop")
    suggestions.support(part["residents"][1], b)
    for p in residents(2):
        a = suggestions.support(p, a)
    url = reverse("participation-suggestions")

    def codes(query: str) -> list[str]:
        return [v.code for v in Client().get(url + query).context["rows"]]

    assert codes("") == [a.code, b.code]
    assert codes("?sort=newest") == [b.code, a.code]
    assert codes("?area=T-D1") == [a.code]
    assert codes("?q=bench") == [a.code]
    assert codes("?status=due") == [a.code]
    assert codes("?status=open") == [b.code]
    assert codes("?status=bogus&sort=bogus") == [a.code, b.code]


def test_a_comment_is_reported_and_hidden_through_the_pages(
    part: dict[str, Any], author: Any
) -> None:
    from tests.participation.suggest_helpers import comment, consultation

    cons = consultation(part)
    c = comment(cons, author, text="You are all liars")
    report = reverse("participation-report", args=["comment", c.pk])
    r = client_for(part["residents"][1]).post(report, {"reason": "insults"})
    assert r.status_code == 302 and cons.code in r["Location"]
    html = client_for(part["leader"]).get(reverse("participation-moderation")).content.decode()
    assert "You are all liars" in html and f"/consultations/{cons.code}/" in html
    hide = reverse("participation-moderation-decide", args=["comment", c.pk, "hide"])
    client_for(part["leader"]).post(hide, {"reason": "insults"})
    c.refresh_from_db()
    assert c.hidden_reason == "insults" and c.hidden_by
    assert Report.objects.get().state == Report.State.HIDDEN
    unknown = reverse("participation-moderation-decide", args=["comment", c.pk, "burn"])
    assert client_for(part["leader"]).post(unknown, {"reason": "x"}).status_code == 403
