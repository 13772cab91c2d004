"""The demo's data-sharing hub: rows generated in code that are valid against their schemas,
loaded through the real loader, grants in every state, joins on pseudonymous keys and credit
codes, a planted accident cluster, and nothing made twice."""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.db import transaction
from shapely.geometry import Point, shape

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.citypacks.demo import hub as demo_hub
from civitas.citypacks.demo.places import build_places, lattice
from civitas.hub import keys, query, rights
from civitas.hub.models import (
    AccessLog,
    Batch,
    BatchStatus,
    Dataset,
    Grant,
    GrantStatus,
    KeyRole,
    QuarantineRow,
    Record,
)
from civitas.kit import clock
from civitas.kit.errors import Forbidden
from civitas.kit.models import AuditEntry
from civitas.org.models import User

NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)  # NOW in the demo's time zone


@pytest.fixture(scope="module")
def plan() -> demo_hub.Plan:
    return demo_hub.generate(TODAY)


def person_fields(code: str) -> list[str]:
    return [f.name for f in demo_hub.SPECS[code].fields if f.key_role == KeyRole.PERSON_ID]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 110_574
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


class TestGenerated:
    def test_the_same_day_gives_the_same_rows(self, plan: demo_hub.Plan) -> None:
        again = demo_hub.generate(TODAY)
        assert again.rows == plan.rows
        other = demo_hub.generate(TODAY + timedelta(days=1))
        assert other.rows[demo_hub.ACCIDENTS] != plan.rows[demo_hub.ACCIDENTS]

    def test_sizes_and_dates_of_the_last_year(self, plan: demo_hub.Plan) -> None:
        rows = plan.rows
        assert len(rows[demo_hub.INSPECTIONS]) == demo_hub.N_INSPECTIONS
        assert len(rows[demo_hub.POPULATION]) == len(demo_hub.spots()) > 400
        assert len(rows[demo_hub.VIOLATIONS]) == demo_hub.N_VIOLATIONS
        assert len(rows[demo_hub.ACCIDENTS]) > demo_hub.N_ACCIDENTS
        year_ago = (TODAY - timedelta(days=365)).isoformat()
        for code, name in (
            (demo_hub.INSPECTIONS, "inspected_on"),
            (demo_hub.ACCIDENTS, "occurred_on"),
            (demo_hub.VIOLATIONS, "found_on"),
        ):
            days = [r[name] for r in rows[code]]
            assert year_ago <= min(days) and max(days) < TODAY.isoformat(), code
            assert days == sorted(days), code
        inspected = {r["credit_code"] for r in rows[demo_hub.INSPECTIONS]}
        assert len(inspected) == demo_hub.N_ENTERPRISES  # every enterprise at least once
        assert set(Counter(r["result"] for r in rows[demo_hub.INSPECTIONS])) == {
            "合格",
            "责令整改",
            "立案处罚",
        }

    def test_rows_carry_the_schema_fields_and_their_required_values(
        self, plan: demo_hub.Plan
    ) -> None:
        for code, spec in demo_hub.SPECS.items():
            required = [f.name for f in spec.fields if f.required]
            for row in plan.rows[code]:
                assert list(row) == spec.names, code
                assert all(row[name] not in ("", None) for name in required), (code, row)
                for f in spec.fields:
                    if f.max_length and row[f.name]:
                        assert len(str(row[f.name])) <= f.max_length, (code, f.name)

    def test_identity_numbers_credit_codes_and_phones_are_valid(self, plan: demo_hub.Plan) -> None:
        for code in demo_hub.SPECS:
            for name in person_fields(code):
                for row in plan.rows[code]:
                    assert keys.normalise_person_id(row[name]) == row[name]
        for code in (demo_hub.INSPECTIONS, demo_hub.VIOLATIONS):
            for row in plan.rows[code]:
                assert keys.normalise_credit_code(row["credit_code"]) == row["credit_code"]
                assert row["credit_code"][:2] in ("91", "92")
        for row in plan.rows[demo_hub.ACCIDENTS]:
            assert len(row["driver_phone"]) == 11 and row["driver_phone"].startswith("1")

    def test_datasets_join_on_credit_codes_and_people(self, plan: demo_hub.Plan) -> None:
        rows = plan.rows
        inspected = {r["credit_code"] for r in rows[demo_hub.INSPECTIONS]}
        fined = {r["credit_code"] for r in rows[demo_hub.VIOLATIONS]}
        assert fined <= inspected and len(fined) > 20
        representatives = {r["legal_rep_id"] for r in rows[demo_hub.INSPECTIONS]}
        drivers = {r["driver_id"] for r in rows[demo_hub.ACCIDENTS]}
        assert 20 <= len(drivers & representatives) < len(drivers) // 2

    def test_points_lie_in_their_grids_and_population_adds_up(self, plan: demo_hub.Plan) -> None:
        lat, places = build_places()
        grids = {p.code: shape(lat.polygon(p.cells)) for p in places if p.level == "grid"}
        by_code = {f.credit_code: f for f in plan.enterprises}
        for row in plan.rows[demo_hub.INSPECTIONS][:500]:
            firm = by_code[row["credit_code"]]
            assert grids[firm.spot.code].contains(Point(row["lon"], row["lat"])), firm
        codes = list(grids)
        tree = shapely.STRtree([grids[c] for c in codes])
        for row in plan.rows[demo_hub.ACCIDENTS]:
            hits = tree.query(Point(row["lon"], row["lat"]), predicate="within")
            assert len(hits) == 1, row
        for row in plan.rows[demo_hub.POPULATION]:
            assert row["grid_code"] in grids
            assert row["registered"] + row["floating"] == row["residents"]
            assert row["elderly"] + row["children"] < row["residents"]
            assert row["households"] < row["residents"] < 4 * row["households"]
        assert lattice().size_km == 0.3

    def test_accidents_cluster_at_one_junction_in_the_last_three_days(
        self, plan: demo_hub.Plan
    ) -> None:
        accidents = plan.rows[demo_hub.ACCIDENTS]
        cluster = [accidents[i] for i in plan.cluster_rows]
        assert len(cluster) == demo_hub.CLUSTER_ACCIDENTS
        assert plan.junction_grid.startswith(demo_hub.STREET + "-")
        days = {r["occurred_on"] for r in cluster}
        assert days == {(TODAY - timedelta(days=k)).isoformat() for k in (1, 2, 3)}
        assert all(distance_m((r["lat"], r["lon"]), plan.junction) <= 81 for r in cluster)
        assert len({(r["lat"], r["lon"]) for r in cluster}) == len(cluster)  # not one point
        assert len({r["road"] for r in cluster}) == 1 and "交叉口" in cluster[0]["road"]
        # Elsewhere the city has about 2.5 accidents a day: the junction stands out.
        near = [
            r
            for r in accidents
            if distance_m((r["lat"], r["lon"]), plan.junction) <= 400
            and r["occurred_on"] >= (TODAY - timedelta(days=3)).isoformat()
        ]
        assert len(near) == len(cluster)

    def test_csv_files_have_a_header_of_field_names(
        self, plan: demo_hub.Plan, tmp_path: Path
    ) -> None:
        spec = demo_hub.SPECS[demo_hub.POPULATION]
        path = demo_hub.write_csv(spec, plan.rows[demo_hub.POPULATION], tmp_path / "p.csv")
        with path.open(encoding="utf-8", newline="") as fh:
            read = list(csv.DictReader(fh))
        assert list(read[0]) == spec.names
        assert read[0]["grid_code"] == plan.rows[demo_hub.POPULATION][0]["grid_code"]
        assert len(read) == len(plan.rows[demo_hub.POPULATION])


# -- loaded into the demo city ----------------------------------------------------------------


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-hub") / "pack"
    build_pack(None, out)
    return out


@pytest.fixture
def demo_city(db: Any, pack: Path, settings: Any) -> None:
    from civitas.citypacks.importer import import_pack
    from civitas.geo.locate import index

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CIVITAS_VAR = pack.parent / "var"
    with transaction.atomic():
        import_pack(pack, actor="test")
        create_demo_users(actor="test")
    index.invalidate()


@pytest.fixture
def loaded(demo_city: None) -> dict[str, int]:
    with clock.frozen(NOW):
        return demo_hub.setup(now=NOW)


def grant_of(plan: demo_hub.GrantPlan) -> Grant:
    return Grant.objects.get(
        dataset__code=plan.dataset, consumer_unit__code=plan.consumer, purpose=plan.purpose
    )


@pytest.mark.django_db
class TestLoaded:
    """Loading the demo city costs seconds: each test checks several things on one load."""

    def test_loaded_whole_located_joined_and_no_identity_number_in_clear(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        self._every_dataset_loads_whole_through_the_loader(loaded, plan)
        self._identity_numbers_are_never_stored_in_clear(loaded, plan)
        self._records_join_on_person_keys_and_credit_codes(loaded)
        self._records_are_placed_in_their_grids(loaded, plan)

    def test_grants_in_every_state_and_each_login_sees_its_side(
        self, loaded: dict[str, int]
    ) -> None:
        self._grants_are_left_in_every_state(loaded)
        self._each_demo_login_sees_its_side(loaded)
        self._the_street_reads_its_own_accidents_with_phones_masked(loaded)

    def test_a_second_run_makes_nothing_and_the_detectors_find_the_cluster(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        self._a_second_run_makes_nothing(loaded)
        self._the_risk_detectors_find_the_accident_cluster(loaded, plan)

    def _every_dataset_loads_whole_through_the_loader(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        assert loaded["datasets"] == loaded["loaded"] == len(demo_hub.SPECS)
        assert loaded["grants"] == len(demo_hub.GRANTS)
        assert loaded["reads"] == len(demo_hub.READS)
        for code, spec in demo_hub.SPECS.items():
            ds = Dataset.objects.get(code=code)
            assert ds.owner_unit.code == spec.owner
            assert ds.title_en and ds.title_zh and ds.description_en and ds.description_zh
            assert ds.schema is not None
            assert [f.name for f in ds.schema.fields.all()] == spec.names
            batch = Batch.objects.get(dataset=ds)
            assert (batch.status, batch.rows_bad, batch.source) == (
                BatchStatus.APPLIED,
                0,
                "csv",
            )
            assert batch.rows_loaded == len(plan.rows[code]) == ds.record_count
            assert ds.records.count() == len(plan.rows[code])
        assert not QuarantineRow.objects.exists()
        assert AuditEntry.objects.filter(action="demo.hub").count() == 1

    def _identity_numbers_are_never_stored_in_clear(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        numbers: set[str] = set()
        for code in demo_hub.SPECS:
            for name in person_fields(code):
                numbers |= {r[name] for r in plan.rows[code]}
        assert len(numbers) > 500
        stored = []
        for record in Record.objects.filter(dataset__city=CITY).select_related("dataset"):
            stored.append(str(record.data))
            for name in person_fields(record.dataset.code):
                assert keys.is_person_key(record.data[name])
                assert record.data[name] == record.person_key
        text = "\n".join(stored)
        assert not [n for n in numbers if n in text]
        # The uploaded files are not kept once applied.
        assert not Batch.objects.exclude(staged_path="").exists()

    def _records_join_on_person_keys_and_credit_codes(self, loaded: dict[str, int]) -> None:
        owners = set(
            Record.objects.filter(dataset__code=demo_hub.INSPECTIONS).values_list(
                "person_key", flat=True
            )
        )
        drivers = set(
            Record.objects.filter(dataset__code=demo_hub.ACCIDENTS).values_list(
                "person_key", flat=True
            )
        )
        assert len(owners & drivers) >= 20
        inspected = set(
            Record.objects.filter(dataset__code=demo_hub.INSPECTIONS).values_list(
                "credit_code", flat=True
            )
        )
        fined = set(
            Record.objects.filter(dataset__code=demo_hub.VIOLATIONS).values_list(
                "credit_code", flat=True
            )
        )
        assert fined and fined <= inspected

    def _records_are_placed_in_their_grids(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        by_code = {f.credit_code: f.spot.code for f in plan.enterprises}
        placed = Record.objects.filter(dataset__code=demo_hub.INSPECTIONS)
        assert not placed.filter(jurisdiction__isnull=True).exists()
        for credit, area in placed.values_list("credit_code", "jurisdiction__code")[:300]:
            assert area == by_code[credit]
        population = Record.objects.filter(dataset__code=demo_hub.POPULATION)
        assert all(
            r.jurisdiction is not None and r.jurisdiction.code == r.data["grid_code"]
            for r in population.select_related("jurisdiction")
        )
        cluster = Record.objects.filter(
            dataset__code=demo_hub.ACCIDENTS, occurred_on__gte=TODAY - timedelta(days=3)
        ).filter(jurisdiction__code=plan.junction_grid)
        assert cluster.count() == demo_hub.CLUSTER_ACCIDENTS

    def _grants_are_left_in_every_state(self, loaded: dict[str, int]) -> None:
        states = {
            "approve": GrantStatus.APPROVED,
            "automatic": GrantStatus.APPROVED,
            "pending": GrantStatus.REQUESTED,
            "refuse": GrantStatus.REFUSED,
            "expired": GrantStatus.EXPIRED,
        }
        for plan in demo_hub.GRANTS:
            grant = grant_of(plan)
            assert grant.status == states[plan.outcome], plan
            assert grant.automatic == (plan.outcome == "automatic")
            assert grant.fields == list(plan.fields)
            assert (grant.area.code if grant.area else "") == plan.area
        refused = grant_of(next(p for p in demo_hub.GRANTS if p.outcome == "refuse"))
        assert "not shared" in refused.reason and refused.decided_by
        expired = grant_of(next(p for p in demo_hub.GRANTS if p.outcome == "expired"))
        assert expired.expires_at < NOW and not expired.in_force(NOW)
        accidents = grant_of(demo_hub.GRANTS[0])
        assert "driver_id" not in accidents.fields and not accidents.clear_fields
        inspections = grant_of(demo_hub.GRANTS[1])
        assert {"legal_rep_id", "phone"}.isdisjoint(inspections.fields)

    def _each_demo_login_sees_its_side(self, loaded: dict[str, int]) -> None:
        people = {u.username: u for u in User.objects.all()}
        with clock.frozen(NOW):
            street = {g.dataset.code for g in rights.grants_in_force(people["analyst-street"])}
            centre = {g.dataset.code for g in rights.grants_in_force(people["analyst"])}
        assert street == {demo_hub.ACCIDENTS, demo_hub.POPULATION}
        assert centre == {demo_hub.INSPECTIONS, demo_hub.POPULATION}
        inspections = Dataset.objects.get(code=demo_hub.INSPECTIONS)
        assert rights.is_decider(people["steward-market"], inspections)
        assert not rights.is_decider(people["steward-traffic"], inspections)
        assert inspections.grants.filter(status=GrantStatus.REQUESTED).count() == 1
        accidents = Dataset.objects.get(code=demo_hub.ACCIDENTS)
        assert rights.is_steward(people["steward-traffic"], accidents)
        # The owners see who used their data: the demo's reads are logged.
        assert AccessLog.objects.count() == len(demo_hub.READS)
        used = query.usage(people["steward-traffic"], accidents)
        assert [(u.unit.code if u.unit else "", u.reads) for u in used.by_unit] == [
            (demo_hub.STREET_UNIT, 1)
        ]
        assert used.log.get().case_ref == "WC-2026-017"
        with pytest.raises(Forbidden):
            query.usage(people["analyst-street"], accidents)

    def _the_street_reads_its_own_accidents_with_phones_masked(
        self, loaded: dict[str, int]
    ) -> None:
        analyst = User.objects.get(username="analyst-street")
        accidents = Dataset.objects.get(code=demo_hub.ACCIDENTS)
        with clock.frozen(NOW):
            page = query.read(analyst, accidents, purpose="junction safety", page_size=100)
        assert page.rows
        assert all(row["area"].startswith(demo_hub.STREET) for row in page.rows)
        assert all("driver_id" not in row for row in page.rows)
        assert all("*" in row["driver_phone"] for row in page.rows if row["driver_phone"])
        assert page.log is not None and page.log.rows == len(page.rows)

    def _a_second_run_makes_nothing(self, loaded: dict[str, int]) -> None:
        counts = (Dataset.objects.count(), Record.objects.count(), Grant.objects.count())
        with clock.frozen(NOW + timedelta(days=1)):
            again = demo_hub.setup(now=NOW + timedelta(days=1))
        assert not any(again.values()), again
        assert (Dataset.objects.count(), Record.objects.count(), Grant.objects.count()) == counts
        assert AuditEntry.objects.filter(action="demo.hub").count() == 1

    def _the_risk_detectors_find_the_accident_cluster(
        self, loaded: dict[str, int], plan: demo_hub.Plan
    ) -> None:
        from civitas.risk import tasks
        from civitas.risk.models import Alert, AlertKind

        with clock.frozen(NOW):
            outcome = tasks.run_now(CITY, TODAY - timedelta(days=1), "daily")
        assert not outcome.failed, outcome.failed
        alert = Alert.objects.get(
            kind=AlertKind.CLUSTER, category=f"hub:{demo_hub.ACCIDENTS}", city=CITY
        )
        assert alert.lat is not None and alert.lon is not None
        assert distance_m((alert.lat, alert.lon), plan.junction) < 400


def test_needs_the_demo_sign_ins(db: Any) -> None:
    from civitas.kit.errors import NotFound

    with pytest.raises(NotFound, match="demo sign-ins"):
        demo_hub.setup(now=NOW)
