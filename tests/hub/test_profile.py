"""The hub's part of an area's profile: which datasets a reader may count in a place, the
figures counted only inside both the grant's area and the place, only from granted fields,
and every read through a grant logged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from civitas.hub import profile
from civitas.hub.models import AccessLog, Dataset, Grant, GrantStatus, ProfileRole
from civitas.kit import audit, clock
from civitas.kit.models import AuditEntry
from civitas.org.models import Role, Unit
from tests import factories
from tests.hub import helpers

pytestmark = pytest.mark.django_db

# residents per grid: C1 has two rows (120 + 80), C2 one (300)
POPULATION_ROWS = [
    {"grid": "T-D1-S1-C1", "households": 50, "residents": 120, "elderly": 10},
    {"grid": "T-D1-S1-C1", "households": 30, "residents": 80, "elderly": 5},
    {"grid": "T-D1-S1-C2", "households": 90, "residents": 300, "elderly": 40},
]


def grant(
    dataset: Dataset,
    consumer: Unit,
    fields: list[str],
    *,
    area: Any = None,
    days: int = 30,
    status: str = GrantStatus.APPROVED,
    clear: list[str] | None = None,
    automatic: bool = False,
) -> Grant:
    return Grant.objects.create(
        dataset=dataset,
        consumer_unit=consumer,
        fields=fields,
        clear_fields=clear or [],
        automatic=automatic,
        area=area,
        area_path=area.path if area is not None else "",
        purpose="Planning community services",
        legal_basis="Regulation on community services, art. 5",
        expires_at=clock.now() + timedelta(days=days),
        status=status,
        requested_by="test",
        decided_by="test",
        decided_at=clock.now(),
    )


@pytest.fixture
def centre_analyst(hub: dict[str, Any]) -> Any:
    return factories.member("canalyst", Role.ANALYST, hub["city"]["centre"])


def by_code(figures: list[profile.DatasetFigures]) -> dict[str, profile.DatasetFigures]:
    return {f.dataset.code: f for f in figures}


def test_population_counted_only_inside_the_grants_area(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    g = grant(population, city["centre"], ["grid", "residents"], area=city["T-D1-S1-C1"])
    street = profile.area_profile(centre_analyst, city["T-D1-S1"])
    (f,) = street
    assert f.dataset == population and f.grant == g
    assert (f.records, f.population) == (2, 200)  # C1 only, not C2's 300
    assert f.area.code == "T-D1-S1-C1" and f.partial
    c1 = by_code(profile.area_profile(centre_analyst, city["T-D1-S1-C1"]))["t-population"]
    assert (c1.records, c1.population, c1.partial) == (2, 200, False)
    # a place outside the grant's area: the dataset is not there at all
    assert profile.area_profile(centre_analyst, city["T-D1-S1-C2"]) == []
    assert profile.area_profile(centre_analyst, city["T-D2"]) == []
    # the district above: still only C1 is counted
    (d1,) = profile.area_profile(centre_analyst, city["T-D1"])
    assert (d1.records, d1.population, d1.area.code) == (2, 200, "T-D1-S1-C1")


def test_a_grant_for_the_whole_dataset_counts_the_place(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    grant(population, city["centre"], ["grid", "residents"])
    (street,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (street.records, street.population, street.partial) == (3, 500, False)
    # the whole city: the dataset covers the street only
    (whole,) = profile.area_profile(centre_analyst, city["T"])
    assert (whole.records, whole.population, whole.area.code) == (3, 500, "T-D1-S1")


def test_figures_only_from_granted_fields(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    grant(population, city["centre"], ["grid", "households"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert f.records == 3 and f.population is None and f.missing == "field_not_granted"


def test_the_grant_that_gives_the_figure_is_preferred(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    grant(population, city["centre"], ["grid"])  # the whole street, no residents
    with_field = grant(population, city["centre"], ["residents"], area=city["T-D1-S1-C2"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert f.grant == with_field and (f.records, f.population) == (1, 300)


def test_expired_revoked_and_requested_grants_give_nothing(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    g = grant(population, city["centre"], ["grid", "residents"])
    assert len(profile.area_profile(centre_analyst, city["T-D1-S1"])) == 1
    with clock.frozen(g.expires_at + timedelta(seconds=1)):
        assert profile.area_profile(centre_analyst, city["T-D1-S1"]) == []
    for status in (GrantStatus.REVOKED, GrantStatus.REQUESTED, GrantStatus.REFUSED):
        g.status = status
        g.save(update_fields=["status"])
        assert profile.area_profile(centre_analyst, city["T-D1-S1"]) == []
    g.status = GrantStatus.APPROVED
    g.save(update_fields=["status"])
    population.active = False
    population.save(update_fields=["active"])
    assert profile.area_profile(centre_analyst, city["T-D1-S1"]) == []


def test_each_read_through_a_grant_is_logged(
    hub: dict[str, Any], population: Dataset, centre_analyst: Any
) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    g = grant(population, city["centre"], ["grid", "residents"], area=city["T-D1-S1-C1"])
    before = AuditEntry.objects.count()
    for _ in range(2):
        (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
        assert f.log is not None
    logs = list(AccessLog.objects.filter(grant=g).order_by("pk"))
    assert len(logs) == 2
    log = logs[-1]
    assert log.channel == "profile" and log.rows == 2 and log.user == centre_analyst
    assert log.unit == city["centre"] and log.purpose == g.purpose
    assert log.query["profile"] == "T-D1-S1" and log.query["area"] == "T-D1-S1-C1"
    entry = AuditEntry.objects.get(seq=log.audit_seq)
    assert entry.action == "hub.read" and entry.summary["channel"] == "profile"
    assert AuditEntry.objects.count() == before + 2
    with transaction.atomic():
        assert audit.verify().ok


def test_owners_read_their_own_data_unlogged(hub: dict[str, Any], population: Dataset) -> None:
    city = hub["city"]
    helpers.put_records(population, POPULATION_ROWS)
    # the street office's leader decides on its datasets: everything, in clear, no grant
    (f,) = profile.area_profile(hub["consumer_leader"], city["T-D1-S1"])
    assert f.grant is None and (f.records, f.population) == (3, 500)
    assert f.log is None and not AccessLog.objects.exists()
    # a handler of the owner unit is neither steward nor decider, and holds no grant
    assert profile.area_profile(hub["consumer_handler"], city["T-D1-S1"]) == []
    # people of other units, auditors and residents see nothing
    for who in ("outsider", "auditor", "resident"):
        assert profile.area_profile(hub[who], city["T-D1-S1"]) == [], who


def test_enterprises_are_distinct_credit_codes_when_granted(
    hub: dict[str, Any], centre_analyst: Any
) -> None:
    city = hub["city"]
    ds = hub["dataset"]
    ds.profile_role = ProfileRole.ENTERPRISES
    ds.save(update_fields=["profile_role"])
    rows = helpers.inspection_rows(8)
    # the first four shops inspected again: more records than enterprises
    helpers.put_records(ds, rows + [dict(r, inspected_on="2026-11-02") for r in rows[:4]])
    g = grant(ds, city["centre"], ["credit_code", "result"], area=city["T-D1"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    # rows 0, 2, 6 are in street T-D1-S1 (points (0.5, 0.5), (0.5, 1.5)); 0 and 2 twice
    assert (f.records, f.enterprises) == (5, 3)
    (d1,) = profile.area_profile(centre_analyst, city["T-D1"])
    assert (d1.records, d1.enterprises) == (10, 6)
    assert profile.area_profile(centre_analyst, city["T-D2"]) == []  # outside the grant
    g.fields = ["result"]
    g.save(update_fields=["fields"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert f.enterprises is None and f.missing == "field_not_granted" and f.records == 5


def test_decimal_population_fields_sum(hub: dict[str, Any], centre_analyst: Any) -> None:
    city = hub["city"]
    ds = helpers.make_dataset(
        code="t-floating",
        owner=hub["street"],
        area=city["T-D1-S1"],
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("people", "decimal", "public", "", False),
        ],
        profile_role="population",
        profile_field="people",
    )
    helpers.put_records(
        ds,
        [
            {"grid": "T-D1-S1-C1", "people": 10.5},
            {"grid": "T-D1-S1-C1", "people": 2.25},
            {"grid": "T-D1-S1-C2", "people": None},
        ],
    )
    grant(ds, city["centre"], ["grid", "people"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert f.records == 3 and f.population == pytest.approx(12.75)
    (c2,) = profile.area_profile(centre_analyst, city["T-D1-S1-C2"])
    assert (c2.records, c2.population) == (1, 0)


def test_a_count_repeated_over_time_is_taken_once_per_place(
    hub: dict[str, Any], centre_analyst: Any
) -> None:
    city = hub["city"]
    ds = helpers.make_dataset(
        code="t-monthly",
        owner=hub["street"],
        area=city["T-D1-S1"],
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("residents", "integer", "public", "", True),
            ("as_of", "date", "public", "date", True),
        ],
        profile_role="population",
        profile_field="residents",
    )
    helpers.put_records(
        ds,
        [
            {"grid": "T-D1-S1-C1", "residents": 100, "as_of": "2026-09-01"},
            {"grid": "T-D2-S1-C1", "residents": 7, "as_of": "2026-09-01"},  # outside
            {"grid": "T-D1-S1-C2", "residents": 300, "as_of": "2026-09-01"},
        ],
    )
    helpers.put_records(ds, [{"grid": "T-D1-S1-C1", "residents": 120, "as_of": "2026-10-01"}])
    grant(ds, city["centre"], ["grid", "residents"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    # C1's October count replaces its September one; C2 has only September's
    assert (f.records, f.population, str(f.as_of)) == (3, 420, "2026-10-01")
    (c2,) = profile.area_profile(centre_analyst, city["T-D1-S1-C2"])
    assert (c2.population, str(c2.as_of)) == (300, "2026-09-01")


def patients(hub: dict[str, Any], sensitivity: str) -> Dataset:
    """Patients counted per community, a field of the given class (a population source)."""
    ds = helpers.make_dataset(
        code=f"t-patients-{sensitivity}",
        owner=hub["street"],
        area=hub["city"]["T-D1-S1"],
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("patients", "integer", sensitivity, "", True),
        ],
        profile_role="population",
        profile_field="patients",
    )
    helpers.put_records(
        ds, [{"grid": "T-D1-S1-C1", "patients": 4321}, {"grid": "T-D1-S1-C2", "patients": 9}]
    )
    return ds


@pytest.mark.parametrize("sensitivity", ["sensitive", "secret"])
def test_no_sum_of_a_field_the_grant_gives_masked_or_withheld(
    hub: dict[str, Any], centre_analyst: Any, sensitivity: str
) -> None:
    """The records API shows the field masked or withheld: a sum would tell what it hides."""
    city = hub["city"]
    ds = patients(hub, sensitivity)
    g = grant(ds, city["centre"], ["grid", "patients"], area=city["T-D1-S1-C1"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.records, f.population, f.missing) == (1, None, "field_masked")
    assert AccessLog.objects.get(grant=g).query["figures"] == ["records"]
    # given in clear by the owner's decision: the figure is shown
    g.clear_fields = ["patients"]
    g.save(update_fields=["clear_fields"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.records, f.population, f.missing) == (1, 4321, "")
    # the owner's decider reads everything in clear, without a grant
    (own,) = profile.area_profile(hub["consumer_leader"], city["T-D1-S1"])
    assert (own.grant, own.population, own.missing) == (None, 4330, "")


def test_an_automatic_grant_never_gives_a_sensitive_figure(
    hub: dict[str, Any], centre_analyst: Any
) -> None:
    """Nobody decided on an automatic grant: clear_fields naming a field that is (or became)
    sensitive does not make the figure readable; public and internal fields count."""
    city = hub["city"]
    ds = patients(hub, "sensitive")
    grant(ds, city["centre"], ["grid", "patients"], clear=["patients"], automatic=True)
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.records, f.population, f.missing) == (2, None, "field_masked")
    ds.schema.fields.filter(name="patients").update(sensitivity="internal")
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.population, f.missing) == (4330, "")


def test_a_grant_giving_the_figure_in_clear_is_preferred(
    hub: dict[str, Any], centre_analyst: Any
) -> None:
    city = hub["city"]
    ds = patients(hub, "secret")
    grant(ds, city["centre"], ["grid", "patients"])  # the whole street, withheld
    clear = grant(ds, city["centre"], ["patients"], clear=["patients"], area=city["T-D1-S1-C2"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert f.grant == clear and (f.records, f.population) == (1, 9)


def test_no_count_of_enterprises_from_masked_credit_codes(
    hub: dict[str, Any], centre_analyst: Any
) -> None:
    city = hub["city"]
    ds = hub["dataset"]
    ds.profile_role = ProfileRole.ENTERPRISES
    ds.save(update_fields=["profile_role"])
    ds.schema.fields.filter(name="credit_code").update(sensitivity="sensitive")
    helpers.put_records(ds, helpers.inspection_rows(8))
    g = grant(ds, city["centre"], ["credit_code", "result"], area=city["T-D1"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.records, f.enterprises, f.missing) == (3, None, "field_masked")
    g.clear_fields = ["credit_code"]
    g.save(update_fields=["clear_fields"])
    (f,) = profile.area_profile(centre_analyst, city["T-D1-S1"])
    assert (f.records, f.enterprises, f.missing) == (3, 3, "")
