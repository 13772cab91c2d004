"""Loading batches: applied whole or rejected whole, the quarantine, replace, discard, and
identity numbers never stored in clear."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from civitas.hub import ingest, keys
from civitas.hub.models import (
    Batch,
    BatchMode,
    BatchStatus,
    QuarantineRow,
    QuarantineStatus,
    Record,
)
from civitas.kit import audit
from civitas.kit.errors import Conflict, Forbidden, InvalidInput
from civitas.kit.models import AuditEntry
from tests.hub import helpers, ingest_setup
from tests.hub.ingest_setup import rows, write_csv, write_json, write_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(tmp_path: Path) -> Any:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield tmp_path / "var"


def stage(hub: dict[str, Any], path: Path, mode: str = BatchMode.APPEND, **kw: Any) -> Batch:
    ds = kw.pop("dataset", hub["dataset"])
    return ingest.stage_file(hub["steward"], ds, path, filename=path.name, mode=mode, **kw)


def load(hub: dict[str, Any], path: Path, mode: str = BatchMode.APPEND, **kw: Any) -> Batch:
    return ingest.run(stage(hub, path, mode, **kw), actor=hub["steward"])


class TestApplied:
    def test_csv_loaded_with_keys_counts_one_audit_entry_file_removed(
        self, hub: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        path = write_csv(tmp_path / "inspections.csv", rows(12))
        batch = stage(hub, path)
        assert (batch.number, batch.status, batch.rows_total) == (1, BatchStatus.PENDING, 12)
        staged = Path(batch.staged_path)
        assert staged.exists() and staged.is_relative_to(Path(ingest.staging_dir()))
        before = AuditEntry.objects.count()
        seen: list[tuple[int, int | None]] = []
        with django_capture_on_commit_callbacks(execute=True):
            batch = ingest.run(
                batch, actor=hub["steward"], progress=lambda d, t: seen.append((d, t))
            )
        assert batch.status == BatchStatus.APPLIED
        assert (batch.rows_total, batch.rows_loaded, batch.rows_bad) == (12, 12, 0)
        assert seen[-1] == (12, 12)
        assert batch.report["areas"] == {"located_by_point": 12}
        records = list(Record.objects.filter(batch=batch).order_by("row_number"))
        assert [r.row_number for r in records] == list(range(2, 14))
        assert records[0].jurisdiction.code == "T-D1-S1-C1"
        assert records[0].person_key == keys.person_key(helpers.person_id(1))
        assert records[0].data["legal_rep_id"] == records[0].person_key
        assert records[0].credit_code == helpers.credit_code(1)
        assert str(records[0].occurred_on) == "2026-10-01"
        assert records[0].data["fine"] == 500.0 and records[0].data["lat"] == 0.5
        hub["dataset"].refresh_from_db()
        assert hub["dataset"].record_count == 12 and hub["dataset"].last_loaded_at
        entries = AuditEntry.objects.filter(seq__gt=0).order_by("seq")[before:]
        assert [e.action for e in entries] == ["hub.batch_apply"]
        assert entries[0].summary["after"]["rows"] == 12
        assert not staged.exists()
        assert ingest.progress_of(batch.pk) == {"done": 12, "total": 12, "bad": 0}
        assert audit.verify().ok

    def test_xlsx_and_json_files(self, hub: dict[str, Any], tmp_path: Path) -> None:
        a = load(hub, write_xlsx(tmp_path / "a.xlsx", rows(5)))
        b = load(hub, write_json(tmp_path / "b.json", rows(4, start=5)))
        assert (a.status, a.rows_loaded, b.status, b.rows_loaded) == ("applied", 5, "applied", 4)
        assert b.number == 2
        assert Record.objects.filter(dataset=hub["dataset"]).count() == 9

    def test_gb18030_csv(self, hub: dict[str, Any], tmp_path: Path) -> None:
        data = rows(3)
        data[0]["enterprise"] = "芙蓉区小吃店"
        batch = load(hub, write_csv(tmp_path / "gbk.csv", data, encoding="gb18030"))
        assert batch.status == BatchStatus.APPLIED
        assert Record.objects.get(batch=batch, row_number=2).data["enterprise"] == "芙蓉区小吃店"

    def test_replace_mode(self, hub: dict[str, Any], tmp_path: Path) -> None:
        load(hub, write_csv(tmp_path / "a.csv", rows(6)))
        second = load(hub, write_csv(tmp_path / "b.csv", rows(3, start=6)), BatchMode.REPLACE)
        assert second.status == BatchStatus.APPLIED and second.report["replaced"] == 6
        assert set(Record.objects.values_list("batch_id", flat=True)) == {second.pk}
        hub["dataset"].refresh_from_db()
        assert hub["dataset"].record_count == 3

    def test_rejected_replace_keeps_the_earlier_records(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        first = load(hub, write_csv(tmp_path / "a.csv", rows(6)))
        bad = rows(3)
        bad[1]["result"] = ""
        second = load(hub, write_csv(tmp_path / "b.csv", bad), BatchMode.REPLACE)
        assert second.status == BatchStatus.REJECTED
        assert set(Record.objects.values_list("batch_id", flat=True)) == {first.pk}


class TestAllOrNothing:
    def test_one_bad_row_in_ten_thousand_loads_nothing(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        data = rows(10_000)
        data[7_321]["inspected_on"] = "2026-13-45"
        batch = load(hub, write_csv(tmp_path / "big.csv", data))
        assert batch.status == BatchStatus.REJECTED
        assert Record.objects.count() == 0
        assert (batch.rows_total, batch.rows_loaded, batch.rows_bad) == (10_000, 0, 1)
        q = QuarantineRow.objects.get(batch=batch)
        assert q.row_number == 7_323  # the header is row 1
        assert q.errors == [
            {
                "field": "inspected_on",
                "code": "no_such_date",
                "message": q.errors[0]["message"],
            }
        ]
        assert "2026-13-45" in q.errors[0]["message"]
        assert q.values["inspected_on"] == "2026-13-45"
        assert batch.report["problems"] == [
            {
                "field": "inspected_on",
                "code": "no_such_date",
                "count": 1,
                "example": q.errors[0]["message"],
            }
        ]
        assert batch.report["first"][0]["row"] == 7_323
        assert "1 of 10000 rows" in batch.message
        hub["dataset"].refresh_from_db()
        assert hub["dataset"].record_count == 0
        assert Path(batch.staged_path).exists()  # kept for the re-run

    def test_every_bad_row_collected_report_limited(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        data = rows(12_000)
        for i in range(0, 12_000, 40):  # 300 bad rows across three chunks
            data[i]["phone"] = "unknown"
        data[5]["credit_code"] = "XYZ"
        batch = load(hub, write_csv(tmp_path / "big.csv", data))
        assert batch.rows_bad == 301
        assert QuarantineRow.objects.filter(batch=batch).count() == 301
        counts = {(p["field"], p["code"]): p["count"] for p in batch.report["problems"]}
        assert counts == {
            ("phone", "invalid_phone"): 300,
            ("credit_code", "invalid_credit_code"): 1,
        }
        assert len(batch.report["first"]) == ingest.REPORT_PROBLEMS

    def test_failure_midway_leaves_nothing_and_says_why(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        batch = stage(hub, write_csv(tmp_path / "a.csv", rows(12_000)))

        def interrupted(done: int, total: int | None) -> None:
            if done > 5000:
                raise RuntimeError("the disk is full")

        batch = ingest.run(batch, progress=interrupted)
        assert batch.status == BatchStatus.FAILED
        # the steward reads what to do; the technical text is for the log only
        assert "the disk is full" not in batch.message
        assert "nothing was loaded" in batch.message and "server log" in batch.message
        assert Record.objects.count() == 0
        # a failed batch can be run again
        assert ingest.run(batch).status == BatchStatus.APPLIED
        assert Record.objects.count() == 12_000

    def test_interrupted_run_is_not_left_loading(self, hub: dict[str, Any], tmp_path: Path) -> None:
        batch = stage(hub, write_csv(tmp_path / "a.csv", rows(6_000)))

        def stop(done: int, total: int | None) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ingest.run(batch, progress=stop)
        batch.refresh_from_db()
        assert batch.status == BatchStatus.FAILED and Record.objects.count() == 0

    def test_a_batch_runs_once(self, hub: dict[str, Any], tmp_path: Path) -> None:
        batch = load(hub, write_csv(tmp_path / "a.csv", rows(3)))
        with pytest.raises(Conflict) as exc:
            ingest.run(batch)
        assert exc.value.code == "batch_done"
        Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.LOADING)
        with pytest.raises(Conflict) as exc:
            ingest.run(batch)
        assert exc.value.code == "batch_busy"


class TestFileProblems:
    def test_wrong_header_refused_at_staging(self, hub: dict[str, Any], tmp_path: Path) -> None:
        path = tmp_path / "a.csv"
        path.write_text("credit_code,enterprise,colour\n1,2,3\n", encoding="utf-8")
        with pytest.raises(InvalidInput) as exc:
            stage(hub, path)
        assert exc.value.code == "unknown_columns"
        assert Batch.objects.count() == 0
        assert not any(ingest.staging_dir().glob("*")) if ingest.staging_dir().exists() else True

    def test_only_stewards_stage(self, hub: dict[str, Any], tmp_path: Path) -> None:
        path = write_csv(tmp_path / "a.csv", rows(1))
        for who in ("outsider", "consumer", "owner_handler"):
            with pytest.raises(Forbidden):
                ingest.stage_file(hub[who], hub["dataset"], path, filename="a.csv")

    def test_unknown_mode(self, hub: dict[str, Any], tmp_path: Path) -> None:
        with pytest.raises(InvalidInput) as exc:
            stage(hub, write_csv(tmp_path / "a.csv", rows(1)), mode="merge")
        assert exc.value.code == "invalid_mode"


class TestQuarantine:
    def bad_batch(self, hub: dict[str, Any], tmp_path: Path) -> Batch:
        data = rows(8)
        data[2]["fine"] = "a lot"
        data[4]["legal_rep_id"] = helpers.person_id(5)[:-1] + "Y"  # wrong check character
        data[6]["enterprise"] = ""
        return load(hub, write_csv(tmp_path / "a.csv", data))

    def test_fix_drop_and_rerun(
        self, hub: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        batch = self.bad_batch(hub, tmp_path)
        assert batch.status == BatchStatus.REJECTED
        q = {r.row_number: r for r in QuarantineRow.objects.filter(batch=batch)}
        assert sorted(q) == [4, 6, 8]
        assert q[6].values["legal_rep_id"] == ""  # the invalid number is not kept
        steward = hub["steward"]
        with transaction.atomic():
            still = ingest.fix_row(steward, q[4].pk, {"fine": "12x"})
        assert still.status == QuarantineStatus.OPEN
        assert still.errors[0]["field"] == "fine" and "12x" in still.errors[0]["message"]
        with transaction.atomic():
            fixed = ingest.fix_row(steward, q[4].pk, {"fine": "1200"})
            person = ingest.fix_row(steward, q[6].pk, {"legal_rep_id": helpers.person_id(5)})
            ingest.drop_row(steward, q[8].pk)
        assert fixed.status == QuarantineStatus.FIXED and fixed.errors == []
        # the typed number became its key at once
        assert person.fixed_values["legal_rep_id"] == keys.person_key(helpers.person_id(5))
        staged = Path(batch.staged_path)
        with django_capture_on_commit_callbacks(execute=True):
            batch = ingest.run(batch, actor=steward)
        assert batch.status == BatchStatus.APPLIED
        assert batch.rows_loaded == 7 and batch.report["dropped_rows"] == [8]
        assert batch.report["fixed_rows"] == 2
        assert Record.objects.get(batch=batch, row_number=4).data["fine"] == 1200.0
        rec6 = Record.objects.get(batch=batch, row_number=6)
        assert rec6.person_key == keys.person_key(helpers.person_id(5))
        assert not QuarantineRow.objects.filter(batch=batch).exists()
        assert not staged.exists() and batch.staged_path == ""

    def test_rerun_still_bad_keeps_dropped_rows(self, hub: dict[str, Any], tmp_path: Path) -> None:
        batch = self.bad_batch(hub, tmp_path)
        q = {r.row_number: r for r in QuarantineRow.objects.filter(batch=batch)}
        with transaction.atomic():
            ingest.drop_row(hub["steward"], q[8].pk)
            ingest.fix_row(hub["steward"], q[4].pk, {"fine": "1"})
        batch = ingest.run(batch)
        assert batch.status == BatchStatus.REJECTED and batch.rows_bad == 1
        statuses = dict(
            QuarantineRow.objects.filter(batch=batch).values_list("row_number", "status")
        )
        assert statuses == {
            4: QuarantineStatus.FIXED,  # its correction was good: kept for the next run
            6: QuarantineStatus.OPEN,
            8: QuarantineStatus.DROPPED,
        }
        with transaction.atomic():
            ingest.restore_row(hub["steward"], q[8].pk)
        assert QuarantineRow.objects.get(pk=q[8].pk).status == QuarantineStatus.OPEN

    def test_only_stewards_fix_and_only_rejected_batches(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        batch = self.bad_batch(hub, tmp_path)
        row = QuarantineRow.objects.filter(batch=batch).first()
        assert row is not None
        with pytest.raises(Forbidden), transaction.atomic():
            ingest.fix_row(hub["consumer"], row.pk, {"fine": "1"})
        with transaction.atomic():
            ingest.discard(batch, actor=hub["steward"])
        with pytest.raises(Exception):  # noqa: B017 - the row went with the batch
            ingest.fix_row(hub["steward"], row.pk, {"fine": "1"})

    def test_discard(
        self, hub: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        batch = self.bad_batch(hub, tmp_path)
        staged = Path(batch.staged_path)
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            ingest.discard(batch, actor=hub["steward"])
        batch.refresh_from_db()
        assert batch.status == BatchStatus.DISCARDED and batch.staged_path == ""
        assert not staged.exists()
        assert not QuarantineRow.objects.filter(batch=batch).exists()
        with pytest.raises(Conflict):
            ingest.run(batch)
        applied = load(hub, write_csv(tmp_path / "ok.csv", rows(2)))
        with pytest.raises(Conflict), transaction.atomic():
            ingest.discard(applied, actor=hub["steward"])
        with pytest.raises(Forbidden), transaction.atomic():
            ingest.discard(
                stage(hub, write_csv(tmp_path / "p.csv", rows(1))), actor=hub["consumer"]
            )


class TestIdentityNumbers:
    def test_never_stored_in_clear_after_loading_rejecting_fixing(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        data = rows(30)
        data[3]["fine"] = "?"  # a bad row with a valid number
        data[9]["legal_rep_id"] = helpers.person_id(10)[:-1] + "Y"  # an invalid number
        numbers = [r["legal_rep_id"] for r in data]
        batch = load(hub, write_csv(tmp_path / "a.csv", data))
        assert batch.status == BatchStatus.REJECTED
        assert ingest_setup.clear_numbers_stored(numbers) == []
        q = {r.row_number: r for r in QuarantineRow.objects.filter(batch=batch)}
        with transaction.atomic():
            ingest.fix_row(hub["steward"], q[5].pk, {"fine": "3"})
            ingest.fix_row(hub["steward"], q[11].pk, {"legal_rep_id": helpers.person_id(10)})
        assert ingest_setup.clear_numbers_stored([*numbers, helpers.person_id(10)]) == []
        assert ingest.run(batch).status == BatchStatus.APPLIED
        assert Record.objects.count() == 30
        assert ingest_setup.clear_numbers_stored([*numbers, helpers.person_id(10)]) == []
        pushed = ingest.push(hub["steward"], hub["dataset"], rows(3, start=100))
        assert pushed.status == BatchStatus.APPLIED
        assert ingest_setup.clear_numbers_stored([r["legal_rep_id"] for r in rows(3, 100)]) == []

    def test_keys_join_two_datasets_of_one_person(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        licences = helpers.make_dataset(
            code="t-licences",
            owner=hub["market"],
            area=hub["city"]["T"],
            fields=[
                ("holder_id", "string", "secret", "person_id", True),
                ("licence", "string", "public", "", True),
            ],
        )
        path = tmp_path / "licences.csv"
        path.write_text(
            f"holder_id,licence\n{helpers.person_id(2).lower()},L-1\n{helpers.person_id(77)},L-2\n",
            encoding="utf-8",
        )
        assert load(hub, path, dataset=licences).status == BatchStatus.APPLIED
        load(hub, write_csv(tmp_path / "a.csv", rows(6)))
        joined = Record.objects.filter(dataset=hub["dataset"]).filter(
            person_key__in=Record.objects.filter(dataset=licences).values("person_key")
        )
        assert [r.data["enterprise"] for r in joined] == ["Shop 2"]
        lic = Record.objects.get(dataset=licences, data__licence="L-1")
        assert lic.person_key == joined[0].person_key == keys.person_key(helpers.person_id(2))


class TestPush:
    def test_push_applied_and_rejected(self, hub: dict[str, Any]) -> None:
        batch = ingest.push(hub["steward"], hub["dataset"], rows(4))
        assert (batch.status, batch.source, batch.rows_loaded) == ("applied", "api", 4)
        bad = rows(3)
        bad[0]["lat"] = "91"
        bad[2]["colour"] = "red"
        batch = ingest.push(hub["steward"], hub["dataset"], bad, mode=BatchMode.REPLACE)
        assert batch.status == BatchStatus.REJECTED
        problems = {(p["row"], p["field"], p["code"]) for p in batch.report["first"]}
        assert problems == {(1, "lat", "out_of_range"), (3, "", "unknown_field")}
        assert Record.objects.count() == 4

    def test_push_limits(self, hub: dict[str, Any]) -> None:
        with override_settings(CIVITAS_HUB_PUSH_MAX=3), pytest.raises(InvalidInput) as exc:
            ingest.push(hub["steward"], hub["dataset"], rows(4))
        assert exc.value.code == "too_many"
        with pytest.raises(InvalidInput):
            ingest.push(hub["steward"], hub["dataset"], [])
        with pytest.raises(Forbidden):
            ingest.push(hub["outsider"], hub["dataset"], rows(1))
        assert Batch.objects.count() == 0
        assert not list(ingest.staging_dir().glob("*"))
