"""Pages and API of tasks and organisations: who sees what, forms, errors, figures."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civitas.kit import clock
from civitas.participation import orgs, selectors_tasks, volunteering
from civitas.participation.models import Organisation, OrgKind, Participant, Task, TaskTake
from tests.participation.tasks_helpers import confirmed, task

pytestmark = pytest.mark.django_db


def client_for(user: Any = None) -> Client:
    cl = Client()
    if user is not None:
        cl.force_login(user)
    return cl


def _org(c: dict[str, Any], **kw: Any) -> Organisation:
    return orgs.register_organisation(
        actor=kw.pop("actor", c["handler"]),
        data=orgs.OrgIn(
            kind=OrgKind.ENTERPRISE,
            name_en=kw.pop("name", "Harbour Repairs Ltd"),
            name_zh="海港维修公司",
            jurisdiction=c["T-D1-S1"],
            offers=["repairs"],
            contact_name="Mr Secret",
            contact_phone="13912345678",
        ),
        **kw,
    )


def test_home_and_task_pages_show_no_private_fields(part: dict[str, Any]) -> None:
    c = part
    t = task(c, title="Help Grandma Zhou", source_ref="T-DSP-0001")
    body = client_for().get(reverse("participation-home")).content.decode()
    assert "Help Grandma Zhou" in body
    page = client_for().get(reverse("participation-task", args=[t.code])).content.decode()
    assert "Help Grandma Zhou" in page and "T-DSP-0001" not in page
    staff = client_for(c["handler"]).get(reverse("participation-task", args=[t.code]))
    assert "T-DSP-0001" in staff.content.decode()
    cancelled = task(c, title="Gone")
    volunteering.cancel(actor=c["handler"], task=cancelled.code, reason="rain")
    assert client_for().get(reverse("participation-task", args=[cancelled.code])).status_code == 404
    assert "Gone" not in client_for().get(reverse("participation-home")).content.decode()


def test_public_directory_has_active_organisations_without_contacts(part: dict[str, Any]) -> None:
    c = part
    o = _org(c)
    pending = _org(c, actor=c["residents"][0], name="Pending Club")
    body = client_for().get(reverse("participation-orgs")).content.decode()
    assert "Harbour Repairs Ltd" in body and "Pending Club" not in body
    detail = client_for().get(reverse("participation-org", args=[o.code])).content.decode()
    assert "Mr Secret" not in detail and "13912345678" not in detail
    assert client_for().get(reverse("participation-org", args=[pending.code])).status_code == 404
    assert (
        "13912345678"
        in client_for(c["handler"])
        .get(reverse("participation-org", args=[o.code]))
        .content.decode()
    )
    assert (
        "13912345678"
        not in client_for(c["other_street"])
        .get(reverse("participation-org", args=[o.code]))
        .content.decode()
    )
    # the resident who registered the pending one sees it, with its contacts
    mine = client_for(c["residents"][0]).get(reverse("participation-org", args=[pending.code]))
    assert mine.status_code == 200 and "13912345678" in mine.content.decode()
    api = client_for().get("/api/participation/organisations").json()
    assert [x["code"] for x in api["items"]] == [o.code]
    assert "contact_phone" not in api["items"][0]
    assert client_for().get(f"/api/participation/organisations/{o.code}").status_code == 401
    staff_api = client_for(c["handler"]).get(f"/api/participation/organisations/{o.code}").json()
    assert staff_api["contact_phone"] == "13912345678"
    other = client_for(c["other_street"]).get(f"/api/participation/organisations/{o.code}")
    assert other.status_code == 404
    assert client_for().get("/api/participation/organisations?kind=club").status_code == 422


def test_org_pages_register_and_suspend(part: dict[str, Any]) -> None:
    c = part
    r = client_for(c["residents"][0])
    resp = r.post(
        reverse("participation-org-new"),
        {
            "kind": "volunteer_team",
            "name_en": "Night Walkers",
            "jurisdiction": "T-D1-S1-C1",
            "offers": ["patrol"],
            "credit_code": "12345",
        },
    )
    assert resp.status_code == 200 and "credit code" in resp.content.decode()
    resp = r.post(
        reverse("participation-org-new"),
        {
            "kind": "volunteer_team",
            "name_en": "Night Walkers",
            "jurisdiction": "T-D1-S1-C1",
            "offers": ["patrol"],
        },
    )
    o = Organisation.objects.get(name_en="Night Walkers")
    assert resp.status_code == 302 and o.state == "pending"
    h = client_for(c["community"])
    h.post(reverse("participation-org-act", args=[o.code, "confirm"]), {"version": o.version})
    o.refresh_from_db()
    assert o.state == "active"
    client_for(c["other_street"]).post(
        reverse("participation-org-act", args=[o.code, "suspend"]), {"reason": "x"}
    )
    o.refresh_from_db()
    assert o.state == "active"


def test_task_pages_walk(part: dict[str, Any]) -> None:
    c = part
    h = client_for(c["handler"])
    now = timezone.localtime(clock.now())  # the form reads the city's local time
    form = {
        "publisher": str(c["T-D1-S1-office"].pk),
        "jurisdiction": "T-D1-S1-C2",
        "kind": "elder_help",
        "title": "Shopping for an elderly neighbour",
        "description": "Twice a week.",
        "starts_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "slots": "1",
        "hours_expected": "2",
    }
    bad = h.post(reverse("participation-task-new"), {**form, "ends_at": form["starts_at"]})
    assert bad.status_code == 200 and "end must come after" in bad.content.decode()
    bad = h.post(reverse("participation-task-new"), {**form, "appeal": "NOPE"})
    assert "NOPE" in bad.content.decode()
    ok = h.post(reverse("participation-task-new"), form)
    assert ok.status_code == 302, ok.content.decode()[-3000:]
    t = Task.objects.get(title="Shopping for an elderly neighbour")
    assert ok.status_code == 302 and t.status == "open"
    # another street's form offers its own places only
    other_form = client_for(c["other_street"]).get(reverse("participation-task-new")).content
    assert b"T-D2-S1-C1" in other_form and b"T-D1-S1-C2" not in other_form
    assert client_for(c["residents"][0]).get(reverse("participation-task-new")).status_code == 403
    v = confirmed(c, "vol-a")
    vc = client_for(v)
    vc.post(reverse("participation-task-act", args=[t.code, "take"]))
    k = TaskTake.objects.get(task=t)
    assert k.user == v and Task.objects.get(pk=t.pk).status == "full"
    # another person cannot take: a clear message
    w = confirmed(c, "vol-w")
    resp = client_for(w).post(reverse("participation-task-act", args=[t.code, "take"]), follow=True)
    assert "every place" in resp.content.decode()
    # the handler confirms with hours; the volunteer sees them on "My participation"
    h.post(
        reverse("participation-task-act", args=[t.code, "complete"]), {"take": k.pk, "hours": "1.5"}
    )
    mine = vc.get(reverse("participation-mine")).content.decode()
    assert "1.5" in mine
    h.post(reverse("participation-task-act", args=[t.code, "close"]))
    assert Task.objects.get(pk=t.pk).status == "done"


def test_participant_pages(part: dict[str, Any]) -> None:
    c = part
    r = c["residents"][0]
    rc = client_for(r)
    rc.post(
        reverse("participation-mine-act", args=["report"]),
        {"home": "T-D1-S1-C1", "is_volunteer": "on"},
    )
    p = Participant.objects.get(user=r)
    assert p.state == "pending"
    assert client_for(r).get(reverse("participation-participants")).status_code == 403
    other = (
        client_for(c["other_street"]).get(reverse("participation-participants")).content.decode()
    )
    assert r.username not in other and str(r) not in other
    cc = client_for(c["community"])
    assert str(r) in cc.get(reverse("participation-participants")).content.decode()
    cc.post(reverse("participation-participant-act", args=[p.pk, "confirm"]))
    p.refresh_from_db()
    assert p.state == "active"
    rc.post(reverse("participation-mine-act", args=["leave"]))
    p.refresh_from_db()
    assert p.state == "left"


def test_api_tasks(part: dict[str, Any]) -> None:
    c = part
    h = client_for(c["handler"])
    now = clock.now()
    payload = {
        "kind": "patrol",
        "title": "Evening patrol",
        "description": "Around the market",
        "publisher": "T-D1-S1-OFFICE",
        "area": "T-D1-S1-C1",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "slots": 1,
        "source_ref": "T-DSP-7",
    }
    post = lambda cl, url, body=None: cl.post(  # noqa: E731
        url, json.dumps(body or {}), content_type="application/json"
    )
    assert post(client_for(), "/api/participation/tasks", payload).status_code == 401
    r = post(client_for(c["residents"][0]), "/api/participation/tasks", payload)
    assert r.status_code == 403
    r = post(h, "/api/participation/tasks", {**payload, "slots": 0})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "slots"
    r = post(h, "/api/participation/tasks", {**payload, "area": "NOWHERE"})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "area"
    r = post(h, "/api/participation/tasks", {**payload, "starts_at": "soon"})
    assert r.status_code == 422
    r = post(h, "/api/participation/tasks", payload)
    assert r.status_code == 201, r.content
    code = r.json()["code"]
    public = client_for().get("/api/participation/tasks").json()["items"]
    assert [x["code"] for x in public] == [code] and "source_ref" not in public[0]
    assert "source_ref" not in client_for().get(f"/api/participation/tasks/{code}").json()
    v = confirmed(c, "vol-a")
    vc = client_for(v)
    r = post(vc, f"/api/participation/tasks/{code}/take")
    assert r.status_code == 201 and r.json()["state"] == "taken"
    take_id = r.json()["id"]
    assert post(vc, f"/api/participation/tasks/{code}/take").status_code == 409
    assert (
        post(
            vc, f"/api/participation/tasks/{code}/complete", {"take": take_id, "hours": 1}
        ).status_code
        == 403
    )
    r = post(h, f"/api/participation/tasks/{code}/complete", {"take": take_id, "hours": 9})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "hours"
    r = post(h, f"/api/participation/tasks/{code}/complete", {"take": take_id, "hours": 2})
    assert r.status_code == 200 and r.json()["hours"] == "2.0"
    me = vc.get("/api/participation/participants/me").json()
    assert me["state"] == "active" and me["hours"] == "2.0" and me["completed"] == 1
    assert (
        client_for(c["residents"][0]).get("/api/participation/participants/me").status_code == 404
    )
    f = h.get("/api/participation/figures").json()
    assert f["hours"] == "2.0" and f["people"] == 1
    assert client_for(v).get("/api/participation/figures").status_code == 403
    assert h.get("/api/participation/figures?start=yesterday").status_code == 422
    assert h.get("/api/participation/figures?start=2026-02-01&end=2026-01-01").status_code == 422


def test_figures_are_exact(part: dict[str, Any]) -> None:
    c = part
    team = _org(c, managers=[c["residents"][2]])
    a, b = confirmed(c, "vol-a"), confirmed(c, "vol-b")
    p = Participant.objects.get(user=b)
    p.organisation = team
    p.save()
    t1 = task(c, slots=3, kind=Task.Kind.CLEAN_UP)
    t2 = task(c, slots=2, kind=Task.Kind.PATROL, place="T-D1-S1-C2")
    t3 = task(c, slots=2, kind=Task.Kind.PATROL, place="T-D1-S1-C2", title="later")
    ka = volunteering.take(actor=a, task=t1.code)
    kb = volunteering.take(actor=b, task=t1.code)
    kt = volunteering.take(actor=c["residents"][2], task=t2.code, organisation=team.code)
    kn = volunteering.take(actor=a, task=t2.code)
    volunteering.take(actor=b, task=t3.code)  # never confirmed: not counted
    volunteering.complete(actor=c["handler"], task=t1.code, take_id=ka.pk, hours="2")
    volunteering.complete(actor=c["handler"], task=t1.code, take_id=kb.pk, hours="1.5")
    volunteering.complete(actor=c["handler"], task=t2.code, take_id=kt.pk, hours="3")
    volunteering.complete(actor=c["handler"], task=t2.code, take_id=kn.pk, no_show=True)
    f = selectors_tasks.figures(c["handler"])
    assert (f.hours, f.people, f.takes, f.tasks) == (Decimal("6.5"), 3, 3, 2)
    by_c = {r["task__jurisdiction__code"]: (r["hours"], r["people"]) for r in f.by_community}
    assert by_c == {"T-D1-S1-C1": (Decimal("3.5"), 2), "T-D1-S1-C2": (Decimal("3"), 1)}
    by_k = {r["task__kind"]: r["hours"] for r in f.by_kind}
    assert by_k == {"clean_up": Decimal("3.5"), "patrol": Decimal("3")}
    by_o = {r["organisation__code"]: (r["hours"], r["people"]) for r in f.by_organisation}
    assert by_o == {team.code: (Decimal("4.5"), 2)}  # its own take and its member's
    # another street sees none of it; a period before the tasks holds nothing
    assert selectors_tasks.figures(c["other_street"]).hours == 0
    assert selectors_tasks.figures(c["handler"], end=clock.now() - timedelta(days=1)).hours == 0
    assert len(selectors_tasks.who_where(c["handler"])) == 3
    page = client_for(c["handler"]).get(reverse("participation-figures")).content.decode()
    assert "6.5" in page
    assert client_for(a).get(reverse("participation-figures")).status_code == 403
    bad = client_for(c["handler"]).get(reverse("participation-figures") + "?from=xx")
    assert "not a date" in bad.content.decode()


def test_api_keys_read_figures_but_never_act(part: dict[str, Any]) -> None:
    from django.db import transaction

    from civitas.org import services as org_services

    c = part
    with transaction.atomic():
        _key, clear = org_services.create_api_key(
            actor="test", name="stats", scopes=["participation:read"], unit=c["T-D1-centre"]
        )
    o = _org(c)
    t = task(c)
    headers = {"HTTP_X_API_KEY": clear}
    cl = Client()
    assert cl.get("/api/participation/figures", **headers).status_code == 200
    detail = cl.get(f"/api/participation/organisations/{o.code}", **headers).json()
    assert detail["code"] == o.code and detail["contact_phone"] is None  # no contacts for keys
    r = cl.post(
        f"/api/participation/tasks/{t.code}/take",
        "{}",
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 403 and "API key" in r.json()["error"]["message"]
    assert cl.get("/api/participation/figures", HTTP_X_API_KEY="wrong").status_code == 401
