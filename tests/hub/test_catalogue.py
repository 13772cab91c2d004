"""The catalogue's services: creating and changing datasets, saving schemas (every problem
named by row and field), versions and their differences, who may do it, and the audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from civitas.hub import catalogue
from civitas.hub.models import Dataset, Domain, Frequency, SchemaVersion, Sharing
from civitas.kit import audit
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from civitas.org import services as org_services
from civitas.org.models import Role, UnitKind
from tests import factories

pytestmark = pytest.mark.django_db


def field(name: str, ftype: str = "string", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label_en": name.replace("_", " ").title(),
        "label_zh": f"{name}字段",
        "type": ftype,
        "sensitivity": "internal",
        "key_role": "",
        "required": False,
        **extra,
    }


ACCIDENT_FIELDS = [
    field("happened_on", "date", key_role="date", required=True),
    field("lat", "decimal", key_role="latitude"),
    field("lon", "decimal", key_role="longitude"),
    field("vehicles", "integer"),
    field("driver_id", key_role="person_id", sensitivity="secret"),
    field("plate", max_length=12),
]


def create(actor: Any, owner: Any, **extra: Any) -> Dataset:
    data: dict[str, Any] = {
        "owner_unit": owner,
        "code": "t-accidents",
        "title_en": "Traffic accidents",
        "title_zh": "交通事故",
        "description_en": "Accidents reported to the traffic police.",
        "description_zh": "交警接报的交通事故。",
        "keywords": ["collision", "碰撞"],
        "domain": Domain.TRAFFIC,
        "frequency": Frequency.DAILY,
        "sharing": Sharing.CONDITIONAL,
    }
    data.update(extra)
    with transaction.atomic():
        return catalogue.create_dataset(actor, **data)


def problems(exc: pytest.ExceptionInfo[InvalidInput]) -> list[tuple[Any, str, str]]:
    """(row index or None, attribute, code) of every problem reported."""
    return [(p.get("index"), p["field"], p["code"]) for p in exc.value.details["problems"]]


def save(actor: Any, ds: Dataset, fields: list[dict[str, Any]], note: str = "") -> SchemaVersion:
    ds.refresh_from_db()
    with transaction.atomic():
        return catalogue.save_schema(actor, ds, fields, note=note, version=ds.version)


class TestCreateDataset:
    def test_a_steward_creates_a_dataset_in_the_owners_area_and_it_is_audited(
        self, hub: dict[str, Any]
    ) -> None:
        ds = create(hub["steward"], hub["market"], keywords="collision, 碰撞，collision")
        assert ds.city == "T"
        assert ds.jurisdiction == hub["market"].jurisdiction
        assert ds.jurisdiction_path == "/T/"
        assert ds.keywords == ["collision", "碰撞"]
        assert ds.schema is None and ds.version == 1 and ds.active
        entry = AuditEntry.objects.order_by("-seq").first()
        assert entry is not None
        assert (entry.action, entry.object_id) == ("hub.dataset_create", "t-accidents")
        assert entry.summary["after"]["title_zh"] == "交通事故"
        assert audit.verify().ok

    def test_the_area_may_be_narrower_but_must_be_in_the_owners_city(
        self, hub: dict[str, Any]
    ) -> None:
        ds = create(hub["steward"], hub["market"], jurisdiction=hub["city"]["T-D2"])
        assert ds.jurisdiction_path == hub["city"]["T-D2"].path
        from civitas.geo import services as geo_services

        with transaction.atomic():
            other = geo_services.save_jurisdiction(
                actor="test",
                code="U",
                level=hub["city"]["levels"]["city"],
                name_en="Otherton",
                name_zh="他市",
            )
        with pytest.raises(InvalidInput) as exc:
            create(hub["steward"], hub["market"], code="t-other", jurisdiction=other)
        assert problems(exc) == [(None, "jurisdiction", "outside_city")]

    def test_every_problem_is_named(self, hub: dict[str, Any]) -> None:
        create(hub["steward"], hub["market"])
        with pytest.raises(InvalidInput) as exc:
            create(
                hub["steward"],
                hub["market"],
                code="t-accidents",
                title_en=" ",
                title_zh="",
                domain="weather",
                frequency="hourly",
                sharing="public",
                profile_role="census",
                keywords=[f"k{i}" for i in range(40)],
            )
        assert exc.value.code == "invalid_dataset"
        assert set(problems(exc)) == {
            (None, "code", "code_taken"),
            (None, "title_en", "required"),
            (None, "title_zh", "required"),
            (None, "domain", "invalid_choice"),
            (None, "frequency", "invalid_choice"),
            (None, "sharing", "invalid_choice"),
            (None, "profile_role", "invalid_choice"),
            (None, "keywords", "too_many"),
        }
        with pytest.raises(InvalidInput) as exc:
            create(hub["steward"], hub["market"], code="Bad Code!")
        assert problems(exc) == [(None, "code", "invalid_code")]
        with pytest.raises(InvalidInput) as exc:
            create(hub["steward"], hub["market"], code="t-pop", profile_role="population")
        assert problems(exc) == [(None, "profile_field", "required")]
        with pytest.raises(InvalidInput) as exc:
            create(hub["steward"], hub["market"], code="t-pop", profile_field="residents")
        assert problems(exc) == [(None, "profile_field", "not_used")]
        assert Dataset.objects.filter(code__in=["t-pop", "bad code!"]).count() == 0

    def test_lengths_are_bounded(self, hub: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput) as exc:
            create(
                hub["steward"],
                hub["market"],
                title_en="x" * 201,
                description_zh="长" * (catalogue.MAX_TEXT_LENGTH + 1),
                keywords=["k" * 61],
            )
        assert set(problems(exc)) == {
            (None, "title_en", "too_long"),
            (None, "description_zh", "too_long"),
            (None, "keywords", "too_long"),
        }

    @pytest.mark.parametrize(
        "who", ["owner_leader", "owner_handler", "consumer", "outsider", "resident", "auditor"]
    )
    def test_only_stewards_of_the_owner_unit_define_its_datasets(
        self, hub: dict[str, Any], who: str
    ) -> None:
        with pytest.raises(Forbidden) as exc:
            create(hub[who], hub["market"])
        assert exc.value.code == "not_steward"
        assert not Dataset.objects.filter(code="t-accidents").exists()

    def test_a_steward_of_another_unit_may_not_and_an_administrator_over_the_area_may(
        self, hub: dict[str, Any]
    ) -> None:
        other_steward = factories.member("steward2", Role.DATA_STEWARD, hub["housing2"])
        with pytest.raises(Forbidden):
            create(other_steward, hub["market"])
        admin = factories.member("admin1", Role.ADMINISTRATOR, hub["city"]["centre"])
        assert create(admin, hub["market"]).owner_unit == hub["market"]

    def test_a_unit_key_with_hub_write_defines_its_units_datasets(
        self, hub: dict[str, Any]
    ) -> None:
        with transaction.atomic():
            key, _ = org_services.create_api_key(
                actor="test", name="k", scopes=["hub:write"], unit=hub["market"]
            )
            reader, _ = org_services.create_api_key(
                actor="test", name="r", scopes=["hub:read"], unit=hub["market"]
            )
        assert create(key, hub["market"]).code == "t-accidents"
        with pytest.raises(Forbidden):
            create(reader, hub["market"], code="t-other")


class TestSaveSchema:
    def test_first_and_next_versions_become_current(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"], feeds_risk=True)
        v1 = save(hub["steward"], ds, ACCIDENT_FIELDS, note="first")
        ds.refresh_from_db()
        assert (v1.number, ds.schema, ds.version) == (1, v1, 2)
        assert [f.name for f in v1.fields.all()] == [f["name"] for f in ACCIDENT_FIELDS]
        plate = v1.fields.get(name="plate")
        assert plate.max_length == 12 and plate.label_zh == "plate字段"
        changed = [*ACCIDENT_FIELDS[:5], field("injured", "integer", required=True)]
        changed[3] = field("vehicles", "integer", required=True, sensitivity="public")
        v2 = save(hub["steward"], ds, changed, note="injured count; plates dropped")
        ds.refresh_from_db()
        assert (v2.number, ds.schema, ds.version) == (2, v2, 3)
        assert SchemaVersion.objects.filter(dataset=ds).count() == 2
        d = catalogue.diff(v1, v2)
        assert d.added == ["injured"] and d.removed == ["plate"]
        assert d.changed == {
            "vehicles": {"sensitivity": ["internal", "public"], "required": [False, True]}
        }
        entry = AuditEntry.objects.order_by("-seq").first()
        assert entry is not None and entry.action == "hub.schema_save"
        assert entry.summary["added"] == ["injured"] and entry.reason.startswith("injured")
        assert not catalogue.diff(None, v1).removed
        assert catalogue.diff(None, v1).added == [f["name"] for f in ACCIDENT_FIELDS]

    def test_the_same_fields_add_no_version(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"])
        v1 = save(hub["steward"], ds, ACCIDENT_FIELDS)
        again = save(hub["steward"], ds, [dict(f) for f in ACCIDENT_FIELDS])
        ds.refresh_from_db()
        assert again == v1 and ds.version == 2

    def test_a_form_from_an_older_version_is_refused(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"])
        save(hub["steward"], ds, ACCIDENT_FIELDS)
        with pytest.raises(Conflict) as exc, transaction.atomic():
            catalogue.save_schema(hub["steward"], ds, ACCIDENT_FIELDS[:2], version=1)
        assert exc.value.code == "stale" and exc.value.status == 409
        assert SchemaVersion.objects.filter(dataset=ds).count() == 1

    def test_every_problem_names_its_row_and_field(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"])
        bad = [
            field("1st"),  # 0 invalid name
            field("plate", label_en="", label_zh=""),  # 1 labels
            field("plate"),  # 2 duplicate name
            field("kind", "text", sensitivity="open", key_role="colour"),  # 3 three choices
            field("lat", "string", key_role="latitude"),  # 4 no longitude, not decimal
            field("seen", "string", key_role="date"),  # 5 date role not a date
            field("owner_id", key_role="person_id", sensitivity="internal"),  # 6 exposed
            field("lat2", "decimal", key_role="latitude"),  # 7 second latitude
            field("count", "integer", max_length=5),  # 8 length on a number
            field("note", max_length="many"),  # 9 not a number
            field("phone", "integer", key_role="phone"),  # 10 key not text
        ]
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], ds, bad)
        assert exc.value.code == "invalid_schema"
        assert set(problems(exc)) == {
            (0, "name", "invalid_name"),
            (1, "label_en", "label_required"),
            (1, "label_zh", "label_required"),
            (2, "name", "duplicate_name"),
            (3, "type", "invalid_type"),
            (3, "sensitivity", "invalid_sensitivity"),
            (3, "key_role", "invalid_key_role"),
            (4, "type", "coordinate_not_decimal"),
            (4, "key_role", "coordinates_apart"),
            (5, "type", "date_not_date"),
            (6, "sensitivity", "person_id_exposed"),
            (7, "key_role", "duplicate_key_role"),
            (8, "max_length", "max_length_not_text"),
            (9, "max_length", "invalid_max_length"),
            (10, "type", "key_not_text"),
        }
        by_code = {p["code"]: p for p in exc.value.details["problems"]}
        assert by_code["duplicate_name"]["name"] == "plate"
        assert "field 3 (plate)" in by_code["duplicate_name"]["message"]
        assert "personal data" in by_code["person_id_exposed"]["message"]
        assert SchemaVersion.objects.filter(dataset=ds).count() == 0

    def test_too_many_fields_and_too_long_labels(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"])
        many = [field(f"f{i}") for i in range(catalogue.MAX_FIELDS + 1)]
        many[0]["label_zh"] = "长" * 121
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], ds, many)
        assert set(problems(exc)) == {(None, "fields", "too_many"), (0, "label_zh", "too_long")}
        assert "(and" not in exc.value.message  # two problems: all in the message

    def test_an_empty_schema_is_refused(self, hub: dict[str, Any]) -> None:
        ds = create(hub["steward"], hub["market"])
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], ds, [])
        assert problems(exc) == [(None, "fields", "empty")]

    def test_longitude_without_latitude_and_datetime_dates_are_fine(
        self, hub: dict[str, Any]
    ) -> None:
        ds = create(hub["steward"], hub["market"])
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], ds, [field("lon", "decimal", key_role="longitude")])
        assert problems(exc) == [(0, "key_role", "coordinates_apart")]
        v = save(hub["steward"], ds, [field("at", "datetime", key_role="date")])
        assert v.number == 1

    def test_profile_and_risk_feeding_need_their_fields(self, hub: dict[str, Any]) -> None:
        pop = create(
            hub["steward"],
            hub["market"],
            code="t-pop",
            profile_role="population",
            profile_field="residents",
        )
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], pop, [field("grid", key_role="grid_code")])
        assert problems(exc) == [(None, "profile_field", "unknown_field")]
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], pop, [field("grid", key_role="grid_code"), field("residents")])
        assert problems(exc) == [(None, "profile_field", "not_a_number")]
        assert save(hub["steward"], pop, [field("residents", "integer")]).number == 1

        firms = create(hub["steward"], hub["market"], code="t-firms", profile_role="enterprises")
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], firms, [field("name")])
        assert problems(exc) == [(None, "profile_role", "needs_credit_code")]
        assert save(hub["steward"], firms, [field("uscc", key_role="credit_code")]).number == 1

        feeds = create(hub["steward"], hub["market"], code="t-feeds", feeds_risk=True)
        with pytest.raises(InvalidInput) as exc:
            save(hub["steward"], feeds, [field("what")])
        assert set(problems(exc)) == {
            (None, "feeds_risk", "needs_date"),
            (None, "feeds_risk", "needs_place"),
        }
        on_grid = [field("on", "date", key_role="date"), field("grid", key_role="grid_code")]
        assert save(hub["steward"], feeds, on_grid).number == 1

    def test_others_may_not_save_a_schema(self, hub: dict[str, Any]) -> None:
        ds = hub["dataset"]
        for who in ("owner_leader", "consumer", "outsider", "resident"):
            with pytest.raises(Forbidden):
                save(hub[who], ds, ACCIDENT_FIELDS)
        assert ds.schemas.count() == 1


class TestUpdateDataset:
    def test_changes_are_versioned_and_audited_with_before_and_after(
        self, hub: dict[str, Any]
    ) -> None:
        ds = create(hub["steward"], hub["market"])
        with transaction.atomic():
            ds = catalogue.update_dataset(
                hub["steward"],
                ds,
                version=1,
                title_en="Road traffic accidents",
                sharing=Sharing.UNCONDITIONAL,
                jurisdiction=hub["city"]["T-D1"],
            )
        assert ds.version == 2 and ds.jurisdiction_path == hub["city"]["T-D1"].path
        entry = AuditEntry.objects.order_by("-seq").first()
        assert entry is not None and entry.action == "hub.dataset_update"
        assert entry.summary["before"]["sharing"] == "conditional"
        assert entry.summary["after"]["sharing"] == "unconditional"
        assert "domain" not in entry.summary["after"]
        with transaction.atomic():
            same = catalogue.update_dataset(hub["steward"], ds, version=2, sharing="unconditional")
        assert same.version == 2

    def test_stale_unknown_and_inconsistent_changes_are_refused(self, hub: dict[str, Any]) -> None:
        ds = hub["dataset"]
        with pytest.raises(Conflict), transaction.atomic():
            catalogue.update_dataset(hub["steward"], ds, version=7, title_en="x")
        with pytest.raises(InvalidInput) as exc, transaction.atomic():
            catalogue.update_dataset(hub["steward"], ds, version=1, code="new", owner_unit=None)
        assert [p["field"] for p in exc.value.details["problems"]] == ["code", "owner_unit"]
        # the inspections have no integer field named "result"
        with pytest.raises(InvalidInput) as exc, transaction.atomic():
            catalogue.update_dataset(
                hub["steward"], ds, version=1, profile_role="population", profile_field="result"
            )
        assert problems(exc) == [(None, "profile_field", "not_a_number")]
        with pytest.raises(Forbidden), transaction.atomic():
            catalogue.update_dataset(hub["owner_leader"], ds, version=1, title_en="x")
        ds.refresh_from_db()
        assert ds.version == 1 and ds.title_en == "T Inspections"

    def test_withdrawing_needs_a_reason_and_bringing_back_does_not(
        self, hub: dict[str, Any]
    ) -> None:
        ds = hub["dataset"]
        with pytest.raises(InvalidInput) as exc, transaction.atomic():
            catalogue.deactivate(hub["steward"], ds, version=1, reason=" ")
        assert exc.value.code == "reason_required"
        with transaction.atomic():
            ds = catalogue.deactivate(hub["steward"], ds, version=1, reason="superseded")
        assert not ds.active and ds.version == 2
        with transaction.atomic():
            ds = catalogue.reactivate(hub["steward"], ds, version=2)
        assert ds.active and ds.version == 3
        actions = list(
            AuditEntry.objects.filter(object_id=ds.code)
            .order_by("seq")
            .values_list("action", flat=True)
        )
        assert actions == ["hub.dataset_deactivate", "hub.dataset_reactivate"]


def test_an_owner_unit_elsewhere_cannot_be_defined_by_a_steward_here(
    hub: dict[str, Any],
) -> None:
    with transaction.atomic():
        elsewhere = org_services.save_unit(
            actor="test",
            code="T-D2-ENV",
            kind=UnitKind.DEPARTMENT,
            department_type="environment",
            name_en="District 2 Environment Bureau",
            name_zh="2区生态环境局",
            jurisdiction=hub["city"]["T-D2"],
        )
    with pytest.raises(Forbidden):
        create(hub["steward"], elsewhere)
