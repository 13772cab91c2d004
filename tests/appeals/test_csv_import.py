"""civitas appeals import-csv: good rows in, bad rows quarantined with a report, re-runs safe."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civitas.appeals.csv_import import COLUMNS
from civitas.appeals.models import Appeal, Channel, Status
from civitas.kit import audit

GOOD = {
    "text": "The lift in building 3 is broken again",
    "lat": "0.5",
    "lon": "0.5",
    "contact_name": "Li Lei",
    "contact_phone": "13800000000",
    "external_id": "ext-1",
    "received_at": "2026-03-02T09:30:00+08:00",
}


def write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(columns))
        out.writeheader()
        for row in rows:
            out.writerow({c: row.get(c, "") for c in columns})
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("appeals", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.django_db
class TestGoodRows:
    def test_rows_become_appeals_through_intake(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        rows = [GOOD, {**GOOD, "external_id": "ext-2", "lon": "2.5", "kind": "help"}]
        out, err = run("import-csv", str(write(tmp_path / "a.csv", rows)), "--city", "T")
        assert len(out.split()) == 2 and "imported 2" in err
        first = Appeal.objects.get(external_id="ext-1")
        assert first.channel == Channel.CSV and first.status == Status.DISPATCHED
        assert first.received_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
        assert first.ticket.startswith("T-20260302-")
        assert first.contact.phone == "13800000000"
        assert Appeal.objects.get(external_id="ext-2").lead_unit.code == "T-D2-HOUSING"
        assert audit.verify().ok

    def test_the_channel_can_be_chosen(self, case_city: dict[str, Any], tmp_path: Path) -> None:
        run(
            "import-csv",
            str(write(tmp_path / "a.csv", [GOOD])),
            "--city",
            "T",
            "--channel",
            "hotline",
        )
        assert Appeal.objects.get().channel == Channel.HOTLINE


@pytest.mark.django_db
class TestRerun:
    def test_a_second_run_imports_nothing_twice(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        no_id = {**GOOD, "external_id": "", "text": "Street light out near the school gate"}
        path = write(tmp_path / "a.csv", [GOOD, no_id])
        run("import-csv", str(path), "--city", "T")
        out, err = run("import-csv", str(path), "--city", "T")
        assert out == "" and "imported 0, skipped 2" in err
        assert Appeal.objects.count() == 2

    def test_a_repeated_id_in_one_file_is_quarantined(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        path = write(tmp_path / "a.csv", [GOOD, {**GOOD, "text": "Something else entirely"}])
        with pytest.raises(CommandError):
            run("import-csv", str(path), "--city", "T")
        assert Appeal.objects.count() == 1
        [problem] = report_rows(tmp_path / "a.csv.errors.csv")
        assert problem["line"] == "3" and problem["field"] == "external_id"


@pytest.mark.django_db
class TestQuarantine:
    def test_bad_rows_are_reported_and_good_rows_imported(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        rows = [
            {**GOOD, "external_id": "ok-1"},
            {**GOOD, "external_id": "bad-1", "lat": "north"},
            {**GOOD, "external_id": "bad-2", "kind": "rant", "text": "hm"},
            {**GOOD, "external_id": "bad-3", "received_at": "yesterday"},
            {**GOOD, "external_id": "ok-2", "text": "Noise from the bar after midnight"},
        ]
        path = write(tmp_path / "in.csv", rows)
        report = tmp_path / "problems.csv"
        with pytest.raises(CommandError, match="3 row"):
            run("import-csv", str(path), "--city", "T", "--report", str(report))
        assert set(Appeal.objects.values_list("external_id", flat=True)) == {"ok-1", "ok-2"}
        found = {(r["line"], r["field"]) for r in report_rows(report)}
        assert found == {("3", "lat"), ("4", "kind"), ("4", "text"), ("5", "received_at")}
        assert all(r["file"] == str(path) and r["message"] for r in report_rows(report))

    def test_a_missing_column_stops_before_any_row(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        path = write(tmp_path / "a.csv", [GOOD], columns=("title", "lat", "lon"))
        with pytest.raises(CommandError, match="text"):
            run("import-csv", str(path), "--city", "T")
        assert Appeal.objects.count() == 0

    def test_an_unknown_city_is_refused(self, case_city: dict[str, Any], tmp_path: Path) -> None:
        with pytest.raises(CommandError, match="no city"):
            run("import-csv", str(write(tmp_path / "a.csv", [GOOD])), "--city", "X")


@pytest.mark.django_db
class TestDryRun:
    def test_checks_every_row_and_imports_nothing(
        self, case_city: dict[str, Any], tmp_path: Path
    ) -> None:
        rows = [GOOD, {**GOOD, "external_id": "bad", "matter": "NOPE"}]
        path = write(tmp_path / "a.csv", rows)
        with pytest.raises(CommandError):
            run("import-csv", str(path), "--city", "T", "--dry-run")
        assert Appeal.objects.count() == 0
        [problem] = report_rows(tmp_path / "a.csv.errors.csv")
        assert problem["field"] == "matter"
        _, err = run(
            "import-csv", str(write(tmp_path / "b.csv", [GOOD])), "--city", "T", "--dry-run"
        )
        assert "would import 1" in err and Appeal.objects.count() == 0


@pytest.mark.django_db
def test_progress_goes_to_stderr(case_city: dict[str, Any], tmp_path: Path) -> None:
    out, err = run("import-csv", str(write(tmp_path / "a.csv", [GOOD])), "--city", "T")
    assert "rows: 1/1" in err and "rows" not in out
