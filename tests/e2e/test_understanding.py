"""Understanding appeals in a real browser (the "Done when" of issue 4).

A resident writes without a map point; the case is located from its text, classified by the
learned model and routed, and the model version shows on the case. A second report of the
same lift is proposed as a duplicate with a reason. An unsure classification waits in the
centre's triage queue; the dispatcher corrects it; an administrator trains a new version on
the models page and the correction is part of what it learned.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from civitas.appeals.models import Appeal, Channel, Status
from civitas.kit import tasks as kit_tasks
from civitas.org.models import Role
from civitas.understanding import classifier, store
from civitas.understanding.models import ModelVersion
from tests import factories
from tests.appeals.conftest import submit
from tests.e2e.test_appeal_path import People, act, open_case, path_city, people, status_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["path_city", "people"]  # fixtures used below

LIFT = ["{n}号楼电梯坏了，老人下不了楼", "The lift in block {n} is stuck between floors"]
WATER = ["{n}号楼停水两天了，没有自来水", "Burst water pipe near gate {n}, the road is flooded"]


@pytest.fixture
def learned_city(path_city: dict[str, Any], settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.CIVITAS_MODEL_DIR = tmp_path / "models"
    store.forget()
    city = path_city
    factories.water_matter(city, listed=True)
    city["operator"] = factories.member("operator", Role.HOTLINE_OPERATOR, city["centre"])
    city["admin"] = factories.member("admin", Role.ADMINISTRATOR, city["centre"])
    for n in range(1, 9):
        for texts, matter in ((LIFT, city["leaf"]), (WATER, city["water"])):
            submit(
                city | {"resident": city["operator"]},
                text=texts[n % 2].format(n=n),
                matter_code=matter.code,
                channel=Channel.HOTLINE,
                lat=0.1 + n / 50,
                lon=0.1,
            )
    city["model"] = classifier.train(city="T", by="test")
    return city


def resident_writes(people: People, text: str) -> str:
    res = people.page(mobile=True)
    res.goto(f"{people.base}/appeal/new/")
    res.fill("#id_text", text)
    res.fill("#id_name", "Li Lei")
    res.fill("#id_phone", "13800000000")
    res.click("form.appeal-form button[type=submit]")
    res.wait_for_url(re.compile(r"/appeal/submitted/"))
    return str(res.locator("#ticket").inner_text())


def test_classified_located_routed_deduplicated_corrected_and_learned(
    people: People, learned_city: dict[str, Any], settings: Any, screenshots: Any
) -> None:
    city, base = learned_city, people.base
    label = city["model"].label
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.0

    # -- a resident writes, naming the community but giving no point ----------------------
    first = resident_writes(people, "橡树111社区3号楼电梯坏了，老人被困在楼上")
    a = Appeal.objects.get(ticket=first)
    assert a.lat is None and a.jurisdiction.code == "T-D1-S1-C1"  # located from the text
    assert (a.matter.code, a.matter_method, a.matter_model) == ("T-M1-1-1", "model", label)
    assert a.status == Status.DISPATCHED and a.lead_unit.code == "T-D1-HOUSING"
    assert a.route_method == "list"

    centre = people.page("dispatcher")
    open_case(centre, base, first)
    category = centre.locator("#category").inner_text()
    assert label in category and "sure" in category and "model" in category
    assert "responsibility list" in centre.locator("#lead-unit").inner_text()

    # -- the same lift again: proposed as a duplicate, with the reason ---------------------
    second = resident_writes(people, "橡树111社区3号楼电梯又坏了，老人还是下不了楼")
    open_case(centre, base, second)
    dup = centre.locator("#duplicate-candidate").inner_text()
    assert first in dup and "same matter" in dup
    centre.screenshot(path=str(screenshots / "case-understood.png"), full_page=True)

    # -- an unsure classification waits for a person, who corrects it -----------------------
    settings.CIVITAS_TRIAGE_MIN_CONFIDENCE = 0.999
    third = resident_writes(people, "橡树111社区院子里的消防栓一直在漏，到处都是")
    assert Appeal.objects.get(ticket=third).status == Status.TRIAGE
    centre.goto(f"{base}/desk/?queue=triage")
    centre.locator("table.cases a.ticket", has_text=third).click()
    centre.wait_for_url(re.compile(rf"/case/{third}/$"))
    assert "Held for the centre" in centre.locator("main").inner_text()
    centre.locator("#act-reclassify summary").click()
    centre.select_option("#f-reclassify-matter", "T-M1-1-2")
    act(centre, "reclassify")
    corrected = Appeal.objects.get(ticket=third)
    assert (corrected.matter.code, corrected.matter_method) == ("T-M1-1-2", "staff")
    assert status_of(centre) == "Awaiting triage"

    # -- an administrator trains a new version; the correction is in it ---------------------
    admin = people.page("admin")
    admin.goto(f"{base}/models/")
    assert label in admin.locator("main").inner_text()
    admin.click("button[value=train]")
    admin.wait_for_selector(".messages li")
    assert kit_tasks.run_ready(worker_id="e2e") == 1
    admin.goto(f"{base}/models/")
    newest = ModelVersion.objects.filter(kind="classifier", city="T").order_by("-version")[0]
    assert newest.version == city["model"].version + 1
    assert newest.summary["corrections"] == 1
    # Kept inactive only when it scored clearly worse; then the administrator decides.
    old_f1, new_f1 = city["model"].scores["macro_f1"], newest.scores["macro_f1"]
    assert newest.active == (new_f1 >= old_f1 - 0.02)
    if not newest.active:
        admin.locator("tr", has_text=newest.label).locator("button[value=activate]").click()
        admin.wait_for_selector(".messages li")
    assert store.active("classifier", "T") == newest
    row = admin.locator("tr.current").inner_text()
    assert newest.label in row and "active" in row
    admin.screenshot(path=str(screenshots / "models.png"), full_page=True)
    assert people.problems.items == []
