"""Reading records through grants: fields, rows, masking, expiry, revocation, logging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from civitas.hub import grants, keys, query
from civitas.hub.masking import WITHHELD
from civitas.hub.models import AccessChannel, AccessLog, GrantStatus, Record
from civitas.kit import audit, clock
from civitas.kit.errors import Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from tests.hub import helpers
from tests.hub.test_grants_support import ALL_FIELDS, granted, loaded

pytestmark = pytest.mark.django_db

D1_COMMUNITIES = {"T-D1-S1-C1", "T-D1-S2-C1", "T-D1-S1-C2", "T-D1-S2-C2"}


def _all_pages(actor: Any, dataset: Any, **kw: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = query.read(actor, dataset, after=after, **kw)
        rows += page.rows
        if page.next_after is None:
            return rows
        after = page.next_after


def test_only_granted_fields_rows_in_the_area_and_masked_values(hub: dict[str, Any]) -> None:
    loaded(hub, 12)
    g = granted(
        hub, fields=["enterprise", "phone", "legal_rep_id", "fine"], area=hub["city"]["T-D1"]
    )
    page = query.read(hub["consumer"], hub["dataset"], purpose="fair")
    assert page.grant == g and [f.name for f in page.fields] == [
        "enterprise",
        "legal_rep_id",
        "phone",
        "fine",
    ]
    assert page.masked == {"legal_rep_id", "phone", "fine"}
    assert len(page.rows) == 8  # 4 of every 6 points fall in district 1
    records = {r.pk: r for r in Record.objects.filter(dataset=hub["dataset"])}
    for row in page.rows:
        assert set(row) == {"id", "area", "enterprise", "legal_rep_id", "phone", "fine"}
        assert row["area"] in D1_COMMUNITIES
        stored = records[row["id"]].data
        assert row["enterprise"] == stored["enterprise"]
        assert row["phone"] != stored["phone"] and row["phone"].startswith("138")
        assert row["phone"][3:7] == "****" and row["phone"][-4:] == stored["phone"][-4:]
        assert row["fine"] in (WITHHELD, None, 0.0) or row["fine"] == WITHHELD
        assert keys.is_person_key(row["legal_rep_id"])  # a key, never the number
    text = str(page.rows)
    for n in range(1, 13):
        assert helpers.person_id(n) not in text
        assert f"1380000{n - 1:04d}" not in text
    assert "credit_code" not in text and "address" not in text and "result" not in text


def test_clear_values_only_when_granted(hub: dict[str, Any]) -> None:
    loaded(hub, 6)
    granted(hub, fields=["enterprise", "phone", "fine"], clear=["phone"])
    page = query.read(hub["consumer"], hub["dataset"])
    assert page.masked == {"fine"}
    phones = {r["phone"] for r in page.rows}
    assert phones == {f"1380000{i:04d}" for i in range(6)}
    assert {r["fine"] for r in page.rows} <= {WITHHELD, 0.0}


def test_keyset_pages_cover_every_row_once_in_a_narrower_area(hub: dict[str, Any]) -> None:
    loaded(hub, 30)
    granted(hub, fields=["enterprise"], area=hub["city"]["T-D1"])
    rows = _all_pages(hub["consumer"], hub["dataset"], page_size=3)
    expected = {r.pk for r in Record.objects.filter(jurisdiction_path__startswith="/T/T-D1/")}
    assert [r["id"] for r in rows] == sorted(
        expected, key=lambda pk: (Record.objects.get(pk=pk).jurisdiction_path, pk)
    )
    assert len(rows) == len(expected) == 20
    street = _all_pages(hub["consumer"], hub["dataset"], page_size=4, area="T-D1-S1")
    assert {r["area"] for r in street} == {"T-D1-S1-C1", "T-D1-S1-C2"} and len(street) == 10
    with pytest.raises(Forbidden) as exc:
        query.read(hub["consumer"], hub["dataset"], area="T-D2")
    assert exc.value.details == {"field": "area"}
    with pytest.raises(InvalidInput):
        query.read(hub["consumer"], hub["dataset"], area="NOWHERE")


def test_records_without_an_area_stay_out_of_an_area_grant(hub: dict[str, Any]) -> None:
    rows = helpers.inspection_rows(3)
    for r in rows:
        r["lat"] = r["lon"] = None
    helpers.put_records(hub["dataset"], rows)
    loaded(hub, 2)
    granted(hub, fields=["enterprise"], area=hub["city"]["T-D1"])
    assert len(query.read(hub["consumer"], hub["dataset"]).rows) == 2


def test_filters_only_on_granted_fields_seen_in_clear(hub: dict[str, Any]) -> None:
    loaded(hub, 12)
    granted(hub, fields=["enterprise", "credit_code", "phone", "result", "legal_rep_id"])
    page = query.read(
        hub["consumer"], hub["dataset"], filters={"credit_code": helpers.credit_code(3)}
    )
    assert [r["enterprise"] for r in page.rows] == ["Shop 3"]
    fails = query.read(hub["consumer"], hub["dataset"], filters={"result": "fail"})
    assert {r["result"] for r in fails.rows} == {"fail"} and len(fails.rows) == 4
    for name, value in (("address", "1 Elm Road"), ("phone", "13800000001")):
        with pytest.raises(Forbidden) as exc:
            query.read(hub["consumer"], hub["dataset"], filters={name: value})
        assert exc.value.details == {"field": name} and name in exc.value.message


def test_pseudonymous_keys_join_two_datasets_without_the_number(hub: dict[str, Any]) -> None:
    """The same person's key in two departments' datasets: a consumer granted both finds the
    other records of a legal representative by the key it was shown, never seeing the number."""
    loaded(hub, 10)
    licences = helpers.make_dataset(
        code="t-licences",
        owner=hub["market"],
        area=hub["city"]["T"],
        fields=[
            ("holder_id", "string", "secret", "person_id", True),
            ("licence", "string", "public", "", True),
        ],
    )
    helpers.put_records(
        licences,
        [{"holder_id": helpers.person_id(n), "licence": f"L-{n}"} for n in (1, 2, 3)],
    )
    granted(hub, fields=["enterprise", "legal_rep_id"])
    granted(hub, dataset=licences, fields=["holder_id", "licence"])
    shops = query.read(hub["consumer"], hub["dataset"]).rows
    person = next(r["legal_rep_id"] for r in shops if r["enterprise"] == "Shop 2")
    assert keys.is_person_key(person)
    held = query.read(hub["consumer"], licences, filters={"holder_id": person}).rows
    assert [r["licence"] for r in held] == ["L-2"]
    assert held[0]["holder_id"] == person
    shown = str(shops) + str(held)
    assert not any(helpers.person_id(n) in shown for n in range(1, 11))
    # A clear number is not a way in: it matches nothing.
    none = query.read(hub["consumer"], licences, filters={"holder_id": helpers.person_id(2)})
    assert none.rows == []


def test_expired_grant_fails_at_once_whatever_its_status(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    g = granted(hub, fields=["enterprise"], expires_at=clock.now() + timedelta(days=2))
    assert len(query.read(hub["consumer"], hub["dataset"], grant=g).rows) == 4
    with clock.frozen(g.expires_at):
        assert g.status == GrantStatus.APPROVED  # nothing has marked it yet
        with pytest.raises(Forbidden) as exc:
            query.read(hub["consumer"], hub["dataset"], grant=g)
        assert exc.value.code == "grant_not_in_force" and "expired" in exc.value.message
        with pytest.raises(Forbidden):
            query.read(hub["consumer"], hub["dataset"])
        assert grants.expire_due() == 1
    g.refresh_from_db()
    assert g.status == GrantStatus.EXPIRED


def test_revoked_grant_fails_at_once(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    g = granted(hub, fields=["enterprise"])
    assert query.read(hub["consumer"], hub["dataset"], grant=g).rows
    grants.revoke(hub["owner_leader"], g, version=g.version, reason="the fair is cancelled")
    with pytest.raises(Forbidden) as exc:
        query.read(hub["consumer"], hub["dataset"], grant=g.pk)
    assert "Revoked" in exc.value.message


def test_requested_or_refused_grants_give_nothing(hub: dict[str, Any]) -> None:
    from tests.hub.test_grants_support import ask

    loaded(hub, 4)
    g = ask(hub, fields=["enterprise"])
    with pytest.raises(Forbidden):
        query.read(hub["consumer"], hub["dataset"], grant=g)
    grants.refuse(hub["owner_leader"], g, version=g.version, reason="no legal basis")
    with pytest.raises(Forbidden):
        query.read(hub["consumer"], hub["dataset"])
    # Another unit's person cannot use the street's grant.
    g2 = granted(hub, fields=["enterprise"])
    with pytest.raises(Forbidden):
        query.read(hub["outsider"], hub["dataset"], grant=g2)
    with pytest.raises(Forbidden):
        query.read(hub["resident"], hub["dataset"])


def test_owner_reads_everything_in_clear_and_every_read_is_logged(hub: dict[str, Any]) -> None:
    loaded(hub, 5)
    page = query.read(hub["steward"], hub["dataset"], case_ref="QA-7")
    # Everything in clear but the identity keys: those would let an owner that loads guessed
    # numbers read back the keys other units see.
    assert page.grant is None and page.masked == {"legal_rep_id"} and len(page.rows) == 5
    assert [f.name for f in page.fields] == ALL_FIELDS
    assert {r["phone"] for r in page.rows} == {f"1380000{i:04d}" for i in range(5)}
    assert {r["legal_rep_id"] for r in page.rows} == {WITHHELD}
    log = AccessLog.objects.get()
    assert log.channel == AccessChannel.OWNER and log.rows == 5 and log.case_ref == "QA-7"
    assert log.unit == hub["market"] and log.user == hub["steward"]
    entry = AuditEntry.objects.get(seq=log.audit_seq)
    assert entry.action == "hub.read" and entry.object_id == hub["dataset"].code
    assert entry.summary["rows"] == 5 and entry.summary["case_ref"] == "QA-7"


def test_every_read_and_every_refusal_is_logged_and_the_chain_holds(hub: dict[str, Any]) -> None:
    loaded(hub, 6)
    g = granted(hub, fields=["enterprise", "result"], area=hub["city"]["T-D1-S1"])
    query.read(hub["consumer"], hub["dataset"], filters={"result": "pass"}, case_ref="C-1")
    query.read(hub["consumer"], hub["dataset"], area="T-D1-S1-C2", purpose="second look")
    with pytest.raises(Forbidden):
        query.read(hub["consumer"], hub["dataset"], filters={"phone": "1"})
    with pytest.raises(Forbidden):
        query.read(hub["outsider"], hub["dataset"])
    logs = list(AccessLog.objects.order_by("pk"))
    assert [lg.rows for lg in logs] == [1, 1, 0, 0]
    assert logs[0].purpose == g.purpose and logs[0].case_ref == "C-1"
    assert logs[0].query["filters"] == {"result": "pass"} and logs[0].grant == g
    assert logs[1].purpose == "second look" and logs[1].query["area"] == "T-D1-S1-C2"
    assert logs[2].query["refused"] == "field_not_granted" and logs[2].grant == g
    assert logs[3].query["refused"] == "no_grant" and logs[3].unit == hub["housing2"]
    actions = [AuditEntry.objects.get(seq=lg.audit_seq).action for lg in logs]
    assert actions == ["hub.read", "hub.read", "hub.read_refused", "hub.read_refused"]
    assert audit.verify().ok
    # The owner sees who used the data, refusals included.
    seen = query.usage(hub["owner_leader"], hub["dataset"])
    assert seen.log.count() == 4
    by = {u.unit.code: u for u in seen.by_unit if u.unit}
    assert by["T-D1-S1-OFFICE"].reads == 3 and by["T-D1-S1-OFFICE"].rows == 2
    assert by["T-D1-S1-OFFICE"].refused == 1 and by["T-D2-HOUSING"].refused == 1
    assert query.usage(hub["auditor"], hub["dataset"], {"refused": "true"}).log.count() == 2
    with pytest.raises(Forbidden):
        query.usage(hub["consumer"], hub["dataset"])


def test_page_size_and_cursor_are_checked(hub: dict[str, Any]) -> None:
    loaded(hub, 3)
    granted(hub, fields=["enterprise"])
    for size in (0, 501):
        with pytest.raises(InvalidInput) as exc:
            query.read(hub["consumer"], hub["dataset"], page_size=size)
        assert exc.value.details == {"field": "page_size"}
    with pytest.raises(InvalidInput) as exc:
        query.read(hub["consumer"], hub["dataset"], after=10**9)
    assert exc.value.details == {"field": "after"}


def test_a_page_costs_the_same_few_queries_whatever_its_size(hub: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.hub.test_grants_support import key

    loaded(hub, 60)
    g = granted(hub, fields=["enterprise", "phone", "legal_rep_id", "result"])
    api_key, _ = key(hub["street"], ["hub:read"])
    counts = []
    for size, after in ((2, None), (50, None), (50, "cursor")):
        cursor = None
        if after:
            cursor = query.read(api_key, hub["dataset"], grant=g, page_size=3).next_after
        with CaptureQueriesContext(connection) as ctx:
            page = query.read(api_key, hub["dataset"], grant=g, page_size=size, after=cursor)
        assert len(page.rows) == size
        counts.append(len(ctx.captured_queries))
        pages = [q["sql"] for q in ctx.captured_queries if "hub_record" in q["sql"]]
        assert len(pages) == (2 if after else 1), pages  # the cursor's row, then the page
    assert counts[0] == counts[1] and counts[2] == counts[1] + 1, counts
    assert counts[1] <= 12, counts


def test_pages_of_a_whole_dataset_grant_include_records_without_an_area(
    hub: dict[str, Any],
) -> None:
    """A grant without an area covers the whole dataset, records without a place included;
    any record id is a valid cursor, even one outside the reader's area."""
    rows = helpers.inspection_rows(5)
    for r in rows[:2]:
        r["lat"] = r["lon"] = None
    helpers.put_records(hub["dataset"], rows)
    loaded(hub, 9)
    granted(hub, fields=["enterprise"])
    everything = _all_pages(hub["consumer"], hub["dataset"], page_size=2, count=True)
    assert len(everything) == 14 and len({r["id"] for r in everything}) == 14
    assert [r["area"] for r in everything[:2]] == ["", ""]
    d1 = granted(hub, fields=["enterprise"], area=hub["city"]["T-D1"])
    d2_record = Record.objects.filter(jurisdiction_path__startswith="/T/T-D2/").order_by("pk")[0]
    d1_rows = Record.objects.filter(jurisdiction_path__startswith="/T/T-D1/")
    rows_after = query.read(hub["consumer"], hub["dataset"], grant=d1, after=d2_record.pk).rows
    assert rows_after == []  # D2 sorts after D1: nothing of D1 follows it
    first = query.read(hub["consumer"], hub["dataset"], grant=d1, after=everything[0]["id"])
    assert {r["id"] for r in first.rows} == set(d1_rows.values_list("pk", flat=True))


def test_an_identity_number_typed_as_a_filter_is_logged_as_its_key(hub: dict[str, Any]) -> None:
    loaded(hub, 4)
    granted(hub, fields=["enterprise", "legal_rep_id"])
    number = helpers.person_id(1)
    page = query.read(hub["consumer"], hub["dataset"], filters={"legal_rep_id": number})
    assert page.rows == []  # a clear number is no way in
    logged = AccessLog.objects.get().query["filters"]["legal_rep_id"]
    assert number not in logged and keys.person_key(number) in logged
    entry = AuditEntry.objects.get(seq=AccessLog.objects.get().audit_seq)
    assert number not in str(entry.summary)


def test_grants_follow_the_area_as_it_is_now(hub: dict[str, Any]) -> None:
    """Records keep the path they were loaded with; a community moved out of the granted
    street is outside the grant at once."""
    from django.db import transaction

    from civitas.geo import services as geo_services

    loaded(hub, 12)
    city = hub["city"]
    granted(hub, fields=["enterprise"], area=city["T-D1-S1"])
    assert {r["area"] for r in _all_pages(hub["consumer"], hub["dataset"])} == {
        "T-D1-S1-C1",
        "T-D1-S1-C2",
    }
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
    assert {r["area"] for r in _all_pages(hub["consumer"], hub["dataset"])} == {"T-D1-S1-C2"}
