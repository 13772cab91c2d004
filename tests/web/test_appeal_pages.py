"""The appeal pages: the resident's submit/track/rate, staff entry, the workbench, the case
page with its actions, the dispatch desk — and who may see what."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from PIL import Image

from civitas.appeals import services
from civitas.appeals.models import Appeal, Channel, Status
from tests.appeals.conftest import case_city, fresh, submit  # noqa: F401
from tests.web.conftest import client_for
from tests.web.test_pages import parse
from tests.web.test_translation import compiled_messages  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def c(_fast_passwords: None, case_city: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    return case_city


def png(name: str = "lift.png", colour: str = "red") -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    buf.seek(0)
    buf.name = name
    return buf


FORM = {
    "city": "T",
    "kind": "complaint",
    "text": "The lift in building 3 is broken again",
    "matter": "",
    "address": "Building 3",
    "lat": "0.5",
    "lon": "0.5",
    "name": "Li Lei",
    "phone": "13800000000",
    "email": "",
    "notify": "on",
    "nonce": "n-1",
}


def post_appeal(client: Client, **extra: Any) -> Any:
    return client.post(reverse("appeal-new"), {**FORM, **extra})


def tracking_link(client: Client, response: Any) -> str:
    page = client.get(response["Location"]).content.decode()
    m = re.search(r'id="track-link" href="https?://[^/]+(/track/[^/"]+/)"', page)
    assert m, page
    return m.group(1)


class TestResidentSubmits:
    def test_the_form_renders_for_anyone(self, c: dict[str, Any]) -> None:
        r = Client().get(reverse("appeal-new"))
        assert r.status_code == 200
        page = r.content.decode()
        assert 'data-src="/appeal/map/T.json"' in page
        assert 'accept="image/*"' in page and "multiple" in page
        assert "Lift out of service" in page  # the searchable list of leaf matters
        p = parse(r.content)
        assert p.inline_bodies == [] and p.style_attrs == [] and p.style_tags == 0

    def test_submit_with_a_photo_then_track_by_the_private_link(self, c: dict[str, Any]) -> None:
        client = Client()
        r = post_appeal(client, photos=[png()])
        assert r.status_code == 302, r.content.decode()[:2000]
        appeal = Appeal.objects.get()
        assert r["Location"] == reverse("appeal-submitted", args=[appeal.ticket])
        assert appeal.channel == Channel.WEB and appeal.resident is None
        assert appeal.status == Status.DISPATCHED
        assert appeal.jurisdiction.code == "T-D1-S1-C1"
        assert appeal.attachments.count() == 1
        link = tracking_link(client, r)
        # Anyone with the link, in another browser, can follow it.
        page = Client().get(link).content.decode()
        assert appeal.ticket in page and "Dispatched" in page
        assert "District 1 Housing Bureau" in page
        # The photo is served through the link, never from a public media URL.
        photo = appeal.attachments.get()
        r = Client().get(f"{link}file/{photo.pk}/")
        assert r.status_code == 200 and r["Content-Type"] == "image/png"
        assert Client().get("/media/" + photo.file.name).status_code == 404

    def test_the_same_form_posted_twice_makes_one_appeal(self, c: dict[str, Any]) -> None:
        client = Client()
        first = post_appeal(client)
        second = post_appeal(client)
        assert first["Location"] == second["Location"]
        assert Appeal.objects.count() == 1

    def test_a_signed_in_resident_finds_it_under_my_appeals(self, c: dict[str, Any]) -> None:
        client = client_for(c["resident"])
        post_appeal(client)
        appeal = Appeal.objects.get()
        assert appeal.resident == c["resident"]
        page = client.get(reverse("my-appeals")).content.decode()
        assert appeal.ticket in page
        r = client.get(reverse("my-appeal", args=[appeal.ticket]))
        assert r.status_code == 200
        # Someone else's appeal is not theirs to open.
        other = submit(c).appeal
        Appeal.objects.filter(pk=other.pk).update(resident=None)
        assert client.get(reverse("my-appeal", args=[other.ticket])).status_code == 404

    def test_problems_are_shown_on_their_fields(self, c: dict[str, Any]) -> None:
        def bad() -> io.BytesIO:
            f = io.BytesIO(b"this is not a picture at all")
            f.name = "fake.png"
            return f

        r = post_appeal(Client(), text="no", photos=[bad()])
        assert r.status_code == 200
        page = r.content.decode()
        assert "has-error" in page
        assert Appeal.objects.count() == 0
        r = post_appeal(Client(), photos=[bad()])
        assert r.status_code == 200
        assert "fake.png: not a readable image" in r.content.decode()
        assert Appeal.objects.count() == 0

    def test_map_and_place_lookups_are_public(self, c: dict[str, Any]) -> None:
        data = Client().get(reverse("appeal-map", args=["T"])).json()
        names = {f["properties"]["name"] for f in data["features"]}
        assert names == {"T", "T-D1", "T-D2"}
        found = Client().get(reverse("appeal-place"), {"lat": 0.5, "lon": 0.5}).json()
        assert found["found"] and found["code"] == "T-D1-S1-C1"
        assert found["chain"][:2] == ["Testville", "North 1 District"]
        assert not Client().get(reverse("appeal-place"), {"lat": 9, "lon": 9}).json()["found"]
        assert Client().get(reverse("appeal-map", args=["NOPE"])).status_code == 404


class TestTrackingPage:
    def test_no_internal_notes_and_an_unknown_token_is_404(self, c: dict[str, Any]) -> None:
        done = submit(c)
        with transaction.atomic():
            services.internal_note(actor=c["handler"], appeal=done.appeal, note="SECRET-NOTE")
        page = Client().get(reverse("track", args=[done.token])).content.decode()
        assert done.appeal.ticket in page
        assert "SECRET-NOTE" not in page
        assert Client().get(reverse("track", args=["x" * 32])).status_code == 404

    def test_the_resident_answers_and_rates(self, c: dict[str, Any]) -> None:
        done = submit(c)
        a = done.appeal
        url = reverse("track", args=[done.token])
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        with transaction.atomic():
            services.request_info(actor=c["handler"], appeal=a, question="Which floor?")
        page = Client().get(url).content.decode()
        assert "Which floor?" in page
        r = Client().post(url, {"do": "answer", "answer": "The 5th floor"})
        assert r.status_code == 302
        assert fresh(a).status == Status.ACCEPTED
        with transaction.atomic():
            services.resolve(actor=c["handler"], appeal=a, result="Repaired")
        # An incomplete rating is refused on the form.
        r = Client().post(url, {"do": "rate", "responded": "yes"})
        assert r.status_code == 200 and "has-error" in r.content.decode()
        r = Client().post(
            url,
            {"do": "rate", "responded": "yes", "solved": "no", "satisfaction": "dissatisfied"},
        )
        assert r.status_code == 302
        a = fresh(a)
        assert a.status == Status.DISPATCHED and a.reopen_count == 1
        assert a.ratings.get().satisfaction == "dissatisfied"


class TestWorkbench:
    def test_queue_shows_deadline_light_with_words(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        page = client_for(c["handler"]).get(reverse("work")).content.decode()
        assert a.ticket in page
        assert "light-green" in page and "On time" in page

    def test_another_districts_handler_cannot_open_the_case(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        assert client_for(c["handler"]).get(reverse("case", args=[a.ticket])).status_code == 200
        other = client_for(c["other_handler"])
        assert other.get(reverse("case", args=[a.ticket])).status_code == 404
        r = other.post(reverse("case-act", args=[a.ticket, "accept"]), {"version": a.version})
        assert r.status_code == 404
        assert fresh(a).status == Status.DISPATCHED
        assert a.ticket not in other.get(reverse("work") + "?tab=area").content.decode()

    def test_contact_is_shown_to_the_lead_and_hidden_from_co_handlers(
        self, c: dict[str, Any]
    ) -> None:
        a = submit(c).appeal
        with transaction.atomic():
            services.add_co_handler(
                actor=c["dispatcher"], appeal=a, unit=c["T-D1-S1-office"], part="Check the site"
            )
        lead = client_for(c["handler"]).get(reverse("case", args=[a.ticket])).content.decode()
        assert "13800000000" in lead and 'id="contact"' in lead
        co = client_for(c["street_handler"]).get(reverse("case", args=[a.ticket]))
        assert co.status_code == 200
        assert "13800000000" not in co.content.decode()
        assert 'id="contact-hidden"' in co.content.decode()

    def test_staff_see_photos_through_the_access_check(self, c: dict[str, Any]) -> None:
        post_appeal(Client(), photos=[png()])
        a = Appeal.objects.get()
        pk = a.attachments.get().pk
        url = reverse("case-file", args=[a.ticket, pk])
        assert client_for(c["handler"]).get(url).status_code == 200
        assert client_for(c["other_handler"]).get(url).status_code == 404
        assert Client().get(url).status_code == 302  # to sign in

    def test_actions_call_the_services(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        client = client_for(c["handler"])
        page = client.get(reverse("case", args=[a.ticket])).content.decode()
        assert 'data-action="accept"' in page and 'data-action="return"' in page
        assert 'data-action="arbitrate"' not in page  # the centre's, not the unit's
        r = client.post(reverse("case-act", args=[a.ticket, "accept"]), {"version": a.version})
        assert r.status_code == 302
        assert fresh(a).status == Status.ACCEPTED
        page = client.get(reverse("case", args=[a.ticket])).content.decode()
        assert "Done: Accept" in page
        assert 'data-action="resolve"' in page and 'data-action="request_extension"' in page

    def test_the_timeline_names_people_not_audit_labels(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        c["handler"].display_name = "Wang Fang"
        c["handler"].save(update_fields=["display_name"])
        client = client_for(c["handler"])
        client.post(reverse("case-act", args=[a.ticket, "accept"]), {"version": a.version})
        page = client.get(reverse("case", args=[a.ticket])).content.decode()
        assert "Wang Fang" in page
        assert f"user:{c['handler'].pk}:" not in page
        assert "Civitas (automatic)" in page  # the automatic dispatch

    def test_a_stale_form_says_someone_else_acted_first(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        client = client_for(c["handler"])
        old = a.version
        with transaction.atomic():
            services.accept(actor=c["leader"], appeal=a)
        r = client.post(
            reverse("case-act", args=[a.ticket, "return"]), {"version": old, "reason": "not ours"},
            follow=True,
        )  # fmt: skip
        page = r.content.decode()
        assert "Someone else acted on this case first" in page
        assert fresh(a).status == Status.ACCEPTED

    def test_refusals_are_shown(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        client = client_for(c["handler"])
        r = client.post(
            reverse("case-act", args=[a.ticket, "return"]),
            {"version": a.version, "reason": " "},
            follow=True,
        )
        assert "Please check what you entered" in r.content.decode()
        assert fresh(a).status == Status.DISPATCHED
        r = client.post(
            reverse("case-act", args=[a.ticket, "resolve"]),
            {"version": a.version, "result": "done"},
            follow=True,
        )
        assert "no longer possible" in r.content.decode()

    def test_extension_request_and_the_leaders_decision(self, c: dict[str, Any]) -> None:
        a = submit(c).appeal
        with transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
        a = fresh(a)
        due = a.resolve_due
        h = client_for(c["handler"])
        h.post(
            reverse("case-act", args=[a.ticket, "request_extension"]),
            {"version": a.version, "days": "5", "reason": "Parts on order"},
        )
        a = fresh(a)
        assert a.requests.get().state == "pending"
        assert "Approve" not in h.get(reverse("case", args=[a.ticket])).content.decode()
        leader = client_for(c["leader"])
        page = leader.get(reverse("case", args=[a.ticket])).content.decode()
        assert "Parts on order" in page and "Approve" in page
        leader.post(
            reverse("case-act", args=[a.ticket, "decide"]),
            {"version": a.version, "request": a.requests.get().pk, "decision": "approve"},
        )
        a = fresh(a)
        assert a.requests.get().state == "approved" and a.resolve_due > due


class TestDeskAndEntry:
    def test_the_desk_counts_its_queues(self, c: dict[str, Any]) -> None:
        submit(c, lat=None, lon=None, text="Something is wrong somewhere here")
        client = client_for(c["dispatcher"])
        r = client.get(reverse("desk") + "?queue=unlocated")
        assert r.status_code == 200
        page = r.content.decode()
        m = re.search(r'id="tab-unlocated"[^>]*>[^<]*<span class="count">(\d+)</span>', page)
        assert m and m.group(1) == "1"
        assert "Something is wrong" in page
        assert client_for(c["handler"]).get(reverse("desk")).status_code == 403

    def test_the_operator_enters_a_call(self, c: dict[str, Any]) -> None:
        client = client_for(c["operator"])
        assert client.get(reverse("desk-call")).status_code == 200
        r = client.post(
            reverse("desk-call"),
            {**FORM, "on_behalf_of": "My neighbour", "urgency": "", "nonce": "call-1"},
        )
        assert r.status_code == 302
        a = Appeal.objects.get()
        assert a.channel == Channel.HOTLINE and a.contact.on_behalf_of == "My neighbour"
        assert client_for(c["resident"]).get(reverse("desk-call")).status_code == 403

    def test_a_grid_worker_reports(self, c: dict[str, Any]) -> None:
        from civitas.org.models import Role
        from tests.factories import member

        grid = member("grid", Role.GRID_WORKER, c["T-D1-S1-office"])
        client = client_for(grid)
        assert client.get(reverse("grid-report")).status_code == 200
        r = client.post(reverse("grid-report"), {**FORM, "kind": "report", "photos": [png()]})
        assert r.status_code == 302
        a = Appeal.objects.get()
        assert a.channel == Channel.GRID and a.attachments.count() == 1


class TestNavigation:
    def test_links_follow_what_the_user_may_use(self, c: dict[str, Any]) -> None:
        anon = Client().get(reverse("appeal-new")).content.decode()
        assert reverse("appeal-new") in anon and reverse("work") not in anon
        handler = client_for(c["handler"]).get(reverse("work")).content.decode()
        assert 'href="/work/"' in handler and 'href="/desk/"' not in handler
        dispatcher = client_for(c["dispatcher"]).get(reverse("desk")).content.decode()
        assert 'href="/desk/"' in dispatcher and 'href="/desk/call/"' in dispatcher
        resident = client_for(c["resident"]).get(reverse("my-appeals")).content.decode()
        assert 'href="/my/appeals/"' in resident and 'href="/work/"' not in resident


@pytest.mark.usefixtures("compiled_messages")
class TestInChinese:
    def test_the_resident_and_staff_pages_speak_chinese(self, c: dict[str, Any]) -> None:
        done = submit(c)
        anon = Client()
        anon.cookies["civitas_language"] = "zh-hans"
        page = anon.get(reverse("appeal-new")).content.decode()
        assert "提交诉求" in page and "诉求内容" in page and "尚未选择位置" in page
        page = anon.get(reverse("track", args=[done.token])).content.decode()
        assert "办理进度" in page and "已派单" in page
        staff = client_for(c["handler"])
        staff.cookies["civitas_language"] = "zh-hans"
        page = staff.get(reverse("case", args=[done.appeal.ticket])).content.decode()
        assert "签收" in page and "退单" in page and "主办单位" in page
