"""A reader never gets more than its grant gives, and no personal data is left behind.

Each test states what must hold; they go through the API (real keys), the pages (the test
client) or the services as the pages call them.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.test import Client, override_settings

from civitas.geo import services as geo_services
from civitas.hub import catalogue, grants, ingest
from civitas.hub.masking import WITHHELD
from civitas.hub.models import AccessLog, Batch, BatchStatus, GrantStatus, Sharing
from civitas.kit import audit, clock
from civitas.kit.errors import Conflict
from civitas.kit.models import AuditEntry
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories
from tests.hub import helpers
from tests.hub.ingest_setup import clear_numbers_stored, rows, write_csv
from tests.hub.test_grants_support import ask, granted, key_client, later, loaded, person_client

pytestmark = pytest.mark.django_db

URL = "/api/hub/datasets/t-inspections/records"


def test_a_push_key_of_the_owner_cannot_approve_a_grant(hub: dict[str, Any]) -> None:
    """hub:write is for pushing records; deciding who reads a department's data is a
    person's decision (requesting already refuses keys)."""
    g = ask(hub, fields=["enterprise", "phone", "legal_rep_id"], clear=["phone"])
    pusher = key_client(hub["market"], ["hub:write"])
    r = pusher.post(
        f"/api/hub/grants/{g.pk}/approve",
        data={"version": g.version},
        content_type="application/json",
    )
    g.refresh_from_db()
    assert r.status_code == 403, r.content
    assert g.status == GrantStatus.REQUESTED


def test_an_administrator_elsewhere_does_not_read_every_dataset_in_clear(
    hub: dict[str, Any],
) -> None:
    """An administrator of a district housing bureau who is also an analyst at the city
    centre is no steward of the market bureau: the two memberships must not combine into
    "administrator of the whole city"."""
    loaded(hub, 6)
    user = factories.member("dual", Role.ADMINISTRATOR, hub["housing2"])
    with transaction.atomic():
        org_services.add_membership(
            actor="test", user=user, role=Role.ANALYST, unit=hub["city"]["centre"]
        )
    r = person_client(user).get(URL)
    body = r.json()
    assert r.status_code == 403, (body.get("grant"), body.get("rows", [])[:1])


def test_an_identity_number_typed_as_a_filter_is_not_kept_in_clear(
    hub: dict[str, Any],
) -> None:
    """A consumer looking a person up by identity number must not leave the number in the
    access log or in the audit chain (which can never be cleaned)."""
    loaded(hub, 6)
    granted(hub, fields=["enterprise", "legal_rep_id"])
    api = key_client(hub["street"], ["hub:read"])
    number = helpers.person_id(1)
    r = api.get(URL, {"legal_rep_id": number})
    assert r.status_code in (200, 403, 422), r.content
    assert number not in r.content.decode()
    logged = [json.dumps(a.query) for a in AccessLog.objects.all()]
    assert logged and not any(number in t for t in logged), logged
    assert clear_numbers_stored([number]) == []
    assert audit.verify().ok


def test_the_profile_does_not_sum_a_field_the_grant_gives_only_withheld(
    hub: dict[str, Any],
) -> None:
    """Residents counted per community are secret; the grant gives the field masked
    (withheld). The area profile must not show the exact figure the records API withholds."""
    ds = helpers.make_dataset(
        code="t-patients",
        owner=hub["market"],
        area=hub["city"]["T"],
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("patients", "integer", "secret", "", True),
        ],
        sharing=Sharing.CONDITIONAL,
        profile_role="population",
        profile_field="patients",
    )
    helpers.put_records(ds, [{"grid": "T-D1-S1-C1", "patients": 4321}])
    granted(hub, dataset=ds, fields=["grid", "patients"], area=hub["city"]["T-D1-S1-C1"])
    api = key_client(hub["street"], ["hub:read"])
    rows_ = api.get("/api/hub/datasets/t-patients/records").json()["rows"]
    assert rows_ and rows_[0]["patients"] == WITHHELD  # the API withholds it
    c = Client()
    c.force_login(hub["consumer"])
    page = c.get("/city/j/T-D1-S1-C1/profile/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "4,321" not in html and "4321" not in html


def test_a_clear_field_made_secret_later_is_no_longer_shown_in_clear(
    hub: dict[str, Any],
) -> None:
    """An unconditional dataset: the street office got ``note`` in clear automatically while
    it was internal. Once the steward classes it secret, nobody decided to give it in clear."""
    ds = helpers.make_dataset(
        code="t-open",
        owner=hub["market"],
        area=hub["city"]["T"],
        fields=[
            ("name", "string", "public", "", True),
            ("note", "string", "internal", "", False),
        ],
        sharing=Sharing.UNCONDITIONAL,
    )
    helpers.put_records(ds, [{"name": "A", "note": "lives at 7 Birch Lane, flat 3"}])
    g = grants.request_grant(
        hub["consumer"],
        ds,
        consumer=hub["street"],
        fields=["name", "note"],
        clear_fields=["note"],
        purpose="street fair",
        legal_basis="rule 1",
        expires_at=later(),
    )
    assert g.status == GrantStatus.APPROVED and g.automatic
    new = [catalogue.field_dict(f) for f in ds.schema.fields.order_by("position")]
    new[1]["sensitivity"] = "secret"
    catalogue.save_schema(hub["steward"], ds, new, version=ds.version, note="note is secret")
    api = key_client(hub["street"], ["hub:read"])
    row = api.get("/api/hub/datasets/t-open/records").json()["rows"][0]
    assert row["note"] != "lives at 7 Birch Lane, flat 3"


def test_a_unit_of_another_city_gets_no_automatic_grant(hub: dict[str, Any], population) -> None:
    """The catalogue is the city's own; a government unit of another city asking through the
    API must not be approved automatically (nor see the dataset exist)."""
    with transaction.atomic():
        other = geo_services.save_jurisdiction(
            actor="test",
            code="U",
            level=hub["city"]["levels"]["city"],
            name_en="Otherton",
            name_zh="他市",
            boundary=factories.rect(10, 10, 12, 12),
        )
        office = org_services.save_unit(
            actor="test",
            code="U-OFFICE",
            kind=UnitKind.GOVERNMENT,
            department_type="street_office",
            name_en="Other office",
            name_zh="他办",
            jurisdiction=other,
        )
    analyst = factories.member("u-analyst", Role.ANALYST, office)
    helpers.put_records(
        population, [{"grid": "T-D1-S1-C1", "households": 3, "residents": 7, "elderly": 1}]
    )
    c = person_client(analyst)
    secret = _get_new_csrf_string()
    c.cookies["csrftoken"] = secret
    token = str(_mask_cipher_secret(secret))
    r = c.post(
        "/api/hub/grants",
        data={
            "dataset": population.code,
            "fields": ["grid", "residents"],
            "purpose": "curiosity",
            "legal_basis": "none",
            "expires_at": later().isoformat(),
        },
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert r.status_code in (403, 404), r.content
    got = c.get(f"/api/hub/datasets/{population.code}/records")
    assert got.status_code == 403, got.content


@pytest.fixture
def var(tmp_path: Path) -> Any:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield tmp_path


def test_a_staged_file_is_readable_by_its_owner_only(hub: dict[str, Any], var: Path) -> None:
    """Staged files hold identity numbers in clear until the batch is applied or discarded."""
    path = write_csv(var / "in.csv", rows(3))
    b = ingest.stage_file(hub["steward"], hub["dataset"], path, filename="in.csv")
    mode = stat.S_IMODE(os.stat(b.staged_path).st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_a_batch_left_loading_by_a_dead_worker_can_be_discarded(
    hub: dict[str, Any], var: Path
) -> None:
    """A worker killed while loading (out of memory, a restart) leaves the batch "loading":
    it must not stay so for ever with its file of clear identity numbers on disk."""
    path = write_csv(var / "in.csv", rows(3))
    b = ingest.stage_file(hub["steward"], hub["dataset"], path, filename="in.csv")
    Batch.objects.filter(pk=b.pk).update(
        status=BatchStatus.LOADING, started_at=clock.now() - timedelta(days=2)
    )
    staged = Path(b.staged_path)
    try:
        with transaction.atomic():
            ingest.discard(b, actor=hub["steward"])
    except Conflict as exc:
        pytest.fail(f"stuck batch cannot be discarded: {exc.message}")
    assert not staged.exists()
    assert AuditEntry.objects.filter(action="hub.batch_discard").exists()


def test_a_key_of_a_deactivated_unit_reads_nothing(hub: dict[str, Any]) -> None:
    """The unit's people lose its grants when the unit is deactivated (memberships of
    inactive units do not count); its machines' keys must lose them too."""
    from civitas.org.models import Unit

    loaded(hub, 4)
    granted(hub, fields=["enterprise"])
    api = key_client(hub["street"], ["hub:read"])
    assert api.get(URL).status_code == 200
    Unit.objects.filter(pk=hub["street"].pk).update(active=False)  # as save_unit(active=False)
    people = person_client(hub["consumer"]).get(URL)
    assert people.status_code == 403
    r = api.get(URL)
    assert r.status_code == 403, r.json().get("rows", [])[:1]


def test_a_steward_cannot_turn_the_loader_into_an_oracle_for_person_keys(
    hub: dict[str, Any],
) -> None:
    """Any unit's steward loads guessed identity numbers into a dataset of its own and reads
    their keys back as the owner; the keys it sees through a grant elsewhere must not match
    them, or it learns whose records they are (a region and birth date leave ~1000 guesses)."""
    loaded(hub, 6)
    granted(hub, fields=["enterprise", "legal_rep_id"])
    street_steward = factories.member("ssteward", Role.DATA_STEWARD, hub["street"])
    mine = helpers.make_dataset(
        code="t-guesses",
        owner=hub["street"],
        area=hub["city"]["T-D1-S1"],
        fields=[
            ("who", "string", "secret", "person_id", True),
            ("n", "integer", "public", "", True),
        ],
    )
    guesses = [helpers.person_id(n) for n in range(1, 10)]
    b = ingest.push(street_steward, mine, [{"who": g, "n": i} for i, g in enumerate(guesses)])
    assert b.status == BatchStatus.APPLIED
    from civitas.hub import query

    own = query.read(street_steward, mine, page_size=50).rows
    key_to_number = {r["who"]: guesses[r["n"]] for r in own}
    seen = person_client(hub["consumer"]).get(URL).json()["rows"]
    unmasked = {
        key_to_number[r["legal_rep_id"]] for r in seen if r["legal_rep_id"] in key_to_number
    }
    assert not unmasked, f"identity numbers recovered from keys: {sorted(unmasked)}"


def test_a_community_moved_to_another_street_leaves_the_old_streets_grant(
    hub: dict[str, Any],
) -> None:
    """Redistricting: community C1 moves from street S1 to S2. A grant on S1 covers S1's
    subtree as it is now; records of C1 are outside it."""
    loaded(hub, 12)
    city = hub["city"]
    granted(hub, fields=["enterprise"], area=city["T-D1-S1"])
    c1 = city["T-D1-S1-C1"]
    with transaction.atomic():
        geo_services.save_jurisdiction(
            actor="test",
            code=c1.code,
            level=c1.level,
            name_en=c1.name_en,
            name_zh=c1.name_zh,
            parent=city["T-D1-S2"],
            boundary=c1.boundary,
            existing=c1,
        )
    api = key_client(hub["street"], ["hub:read"])
    got = api.get(URL, {"page_size": 500}).json()["rows"]
    assert got, "the grant still covers C2"
    assert not [r for r in got if r["area"] == "T-D1-S1-C1"], "rows of a community now in S2"


def test_the_quarantine_never_shows_the_key_of_a_number_the_steward_typed(
    hub: dict[str, Any],
) -> None:
    """A rejected batch keeps valid identity numbers as keys; neither the batch page nor the
    API shows those keys to the steward (the same oracle as the owner's view), and a fix that
    leaves the field empty keeps the number."""
    guess = helpers.person_id(1)
    bad = {"credit_code": "not a code", "enterprise": "Shop", "inspected_on": "2026-10-01"}
    b = ingest.push(hub["steward"], hub["dataset"], [{**bad, "legal_rep_id": guess, "result": "x"}])
    assert b.status == BatchStatus.REJECTED
    from civitas.hub import keys
    from civitas.hub.models import QuarantineRow

    row = QuarantineRow.objects.get(batch=b)
    stored_key = keys.person_key(guess)
    assert row.values["legal_rep_id"] == stored_key
    page = person_client(hub["steward"]).get(f"/hub/batches/{b.pk}/").content.decode()
    api = person_client(hub["steward"]).get(f"/api/hub/batches/{b.pk}/quarantine").content
    assert stored_key not in page and guess not in page
    assert stored_key.encode() not in api and guess.encode() not in api
    client = Client()
    client.force_login(hub["steward"])
    answer = client.post(
        f"/hub/quarantine/{row.pk}/fix/",
        {**bad, "credit_code": helpers.credit_code(9), "legal_rep_id": "", "result": "x"},
    )
    assert answer.status_code in (200, 302)
    row.refresh_from_db()
    assert row.fixed_values is not None and row.fixed_values["legal_rep_id"] == stored_key
