"""Building hub datasets and records in tests without going through the loader."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.hub import keys
from civitas.hub.models import (
    Batch,
    BatchSource,
    BatchStatus,
    Dataset,
    Domain,
    Field,
    Frequency,
    KeyRole,
    Record,
    SchemaVersion,
    Sharing,
)
from civitas.kit import clock
from civitas.org.models import Unit

# (name, type, sensitivity, key role, required)
INSPECTION_FIELDS = [
    ("credit_code", "string", "public", "credit_code", True),
    ("enterprise", "string", "public", "", True),
    ("address", "string", "internal", "address", False),
    ("legal_rep_id", "string", "secret", "person_id", False),
    ("phone", "string", "sensitive", "phone", False),
    ("inspected_on", "date", "internal", "date", True),
    ("lat", "decimal", "internal", "latitude", False),
    ("lon", "decimal", "internal", "longitude", False),
    ("result", "string", "internal", "", True),
    ("fine", "decimal", "sensitive", "", False),
]


def person_id(n: int) -> str:
    """A valid made-up identity number (region 110105, born 1980-01-01, sequence n)."""
    return keys.complete_person_id(f"11010519800101{n:03d}")


def credit_code(n: int) -> str:
    """A valid made-up unified social credit code."""
    return keys.complete_credit_code(f"9143010{n:010d}")


def make_dataset(
    *,
    code: str,
    owner: Unit,
    area: Jurisdiction,
    fields: list[tuple[str, str, str, str, bool]],
    domain: str = Domain.MARKET_SUPERVISION,
    frequency: str = Frequency.DAILY,
    sharing: str = Sharing.CONDITIONAL,
    **extra: Any,
) -> Dataset:
    with transaction.atomic():
        ds = Dataset.objects.create(
            code=code,
            city=area.path.strip("/").split("/")[0],
            owner_unit=owner,
            jurisdiction=area,
            jurisdiction_path=area.path,
            title_en=code.replace("-", " ").title(),
            title_zh=f"{code}数据",
            domain=domain,
            frequency=frequency,
            sharing=sharing,
            **extra,
        )
        schema = SchemaVersion.objects.create(dataset=ds, number=1, created_by="test")
        for i, (name, ftype, sens, role, required) in enumerate(fields):
            Field.objects.create(
                schema=schema,
                position=i,
                name=name,
                label_en=name.replace("_", " "),
                label_zh=name,
                type=ftype,
                sensitivity=sens,
                key_role=role,
                required=required,
            )
        ds.schema = schema
        ds.save(update_fields=["schema"])
    return ds


def inspections_dataset(owner: Unit, area: Jurisdiction) -> Dataset:
    return make_dataset(
        code="t-inspections", owner=owner, area=area, fields=INSPECTION_FIELDS, feeds_risk=True
    )


def put_records(dataset: Dataset, rows: list[dict[str, Any]]) -> list[Record]:
    """Store ``rows`` (values as a file would give them) as one applied batch, deriving the
    standard keys the way the loader does: the point → its deepest area (or a grid_code
    field → that area), identity numbers → pseudonymous keys, the credit code, the date."""
    assert dataset.schema is not None
    fields = list(dataset.schema.fields.all())
    by_role = {f.key_role: f.name for f in fields if f.key_role}
    with transaction.atomic():
        number = (dataset.batches.count() or 0) + 1
        batch = Batch.objects.create(
            dataset=dataset,
            number=number,
            schema=dataset.schema,
            source=BatchSource.API,
            status=BatchStatus.APPLIED,
            rows_total=len(rows),
            rows_loaded=len(rows),
            created_by="test",
            finished_at=clock.now(),
        )
        made = []
        for i, row in enumerate(rows, start=1):
            data = dict(row)
            pkey = ""
            if KeyRole.PERSON_ID in by_role and data.get(by_role[KeyRole.PERSON_ID]):
                pkey = keys.person_key(data[by_role[KeyRole.PERSON_ID]])
                data[by_role[KeyRole.PERSON_ID]] = pkey
            area = None
            lat = data.get(by_role.get(KeyRole.LATITUDE, ""))
            lon = data.get(by_role.get(KeyRole.LONGITUDE, ""))
            if lat is not None and lon is not None:
                found = locate(float(lat), float(lon))
                area = Jurisdiction.objects.get(pk=found.jurisdiction.id) if found else None
            elif KeyRole.GRID_CODE in by_role and data.get(by_role[KeyRole.GRID_CODE]):
                area = Jurisdiction.objects.get(code=data[by_role[KeyRole.GRID_CODE]])
            occurred = data.get(by_role.get(KeyRole.DATE, ""))
            made.append(
                Record(
                    dataset=dataset,
                    batch=batch,
                    row_number=i,
                    data=data,
                    jurisdiction=area,
                    jurisdiction_path=area.path if area else "",
                    lat=float(lat) if lat is not None else None,
                    lon=float(lon) if lon is not None else None,
                    person_key=pkey,
                    credit_code=str(data.get(by_role.get(KeyRole.CREDIT_CODE, ""), "") or ""),
                    occurred_on=date.fromisoformat(occurred) if occurred else None,
                )
            )
        Record.objects.bulk_create(made)
        dataset.record_count = dataset.records.count()
        dataset.last_loaded_at = clock.now()
        dataset.save(update_fields=["record_count", "last_loaded_at"])
    return made


def inspection_rows(n: int = 8) -> list[dict[str, Any]]:
    """``n`` inspections spread over the four communities of district 1 and district 2."""
    points = [(0.5, 0.5), (1.5, 0.5), (0.5, 1.5), (1.5, 1.5), (2.5, 0.5), (3.5, 1.5)]
    rows = []
    for i in range(n):
        lon, lat = points[i % len(points)]
        rows.append(
            {
                "credit_code": credit_code(i + 1),
                "enterprise": f"Shop {i + 1}",
                "address": f"{i + 1} Elm Road",
                "legal_rep_id": person_id(i % 5 + 1),
                "phone": f"1380000{i:04d}",
                "inspected_on": f"2026-10-{i % 28 + 1:02d}",
                "lat": lat,
                "lon": lon,
                "result": "pass" if i % 3 else "fail",
                "fine": 500.0 * (i % 3 == 0),
            }
        )
    return rows


def residents_by_grid(city: dict[str, Any]) -> Dataset:
    """Street S1's office counts residents per community (an unconditional population
    source): 2,034 in T-D1-S1-C1 over two rows, 5,000 in T-D1-S1-C2."""
    ds = make_dataset(
        code="t-population",
        owner=city["T-D1-S1-office"],
        area=city["T-D1-S1"],
        domain=Domain.COMMUNITY,
        frequency=Frequency.MONTHLY,
        sharing=Sharing.UNCONDITIONAL,
        fields=[
            ("grid", "string", "public", "grid_code", True),
            ("residents", "integer", "public", "", True),
        ],
        profile_role="population",
        profile_field="residents",
    )
    ds.title_en, ds.title_zh = "Residents by grid", "网格人口"
    ds.save(update_fields=["title_en", "title_zh"])
    put_records(
        ds,
        [
            {"grid": "T-D1-S1-C1", "residents": 1200},
            {"grid": "T-D1-S1-C1", "residents": 834},
            {"grid": "T-D1-S1-C2", "residents": 5000},
        ],
    )
    return ds
