"""Loading made safe: private staged files swept when abandoned, batches left loading by a
dead worker taken over, corrections kept over a second rejection, uploads that would exhaust
memory or a web worker refused or queued, identity numbers in the wrong column hidden, useful
failure messages, several identity fields pseudonymised."""

from __future__ import annotations

import builtins
import io
import logging
import os
import stat
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings

from civitas.hub import catalogue, ingest, keys, readers
from civitas.hub.models import Batch, BatchStatus, QuarantineRow, QuarantineStatus, Record
from civitas.kit import clock, scheduler
from civitas.kit.errors import Conflict
from civitas.kit.models import AuditEntry
from tests.hub import helpers
from tests.hub.ingest_setup import clear_numbers_stored, rows, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(tmp_path: Path) -> Any:
    cache.clear()  # progress is kept per batch id, and ids come again in a new test
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield tmp_path


def staged(hub: dict[str, Any], tmp_path: Path, data: list[dict[str, Any]]) -> Batch:
    path = write_csv(tmp_path / "in.csv", data)
    return ingest.stage_file(hub["steward"], hub["dataset"], path, filename="in.csv")


def signed_in(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


# -- 10. staged files private, swept --------------------------------------------------------


def test_a_staged_file_and_its_folder_are_readable_by_their_owner_only(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    b = staged(hub, tmp_path, rows(3))
    assert stat.S_IMODE(os.stat(b.staged_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ingest.staging_dir()).st_mode) == 0o700
    pushed = ingest.push(hub["steward"], hub["dataset"], [{"enterprise": "x"}])
    assert pushed.status == BatchStatus.REJECTED
    assert stat.S_IMODE(os.stat(pushed.staged_path).st_mode) == 0o600


def test_an_open_staging_folder_is_narrowed(hub: dict[str, Any], tmp_path: Path) -> None:
    ingest.staging_dir().mkdir(parents=True)
    ingest.staging_dir().chmod(0o755)
    staged(hub, tmp_path, rows(2))
    assert stat.S_IMODE(os.stat(ingest.staging_dir()).st_mode) == 0o700


def test_the_sweep_discards_batches_rejected_or_failed_long_ago(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    bad = rows(2)
    bad[0]["result"] = ""
    old = ingest.run(staged(hub, tmp_path, bad))
    failed = staged(hub, tmp_path, rows(2))
    recent = ingest.run(staged(hub, tmp_path, bad))
    waiting = staged(hub, tmp_path, rows(2))
    assert old.status == recent.status == BatchStatus.REJECTED
    now = clock.now()
    Batch.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=31))
    Batch.objects.filter(pk=failed.pk).update(
        status=BatchStatus.FAILED, finished_at=now - timedelta(days=40)
    )
    Batch.objects.filter(pk=recent.pk).update(finished_at=now - timedelta(days=29))
    files = {b.pk: Path(b.staged_path) for b in (old, failed, recent, waiting)}
    with override_settings(CIVITAS_HUB_STAGED_DAYS=30):
        assert ingest.sweep_staged() == 2
    for b, gone in ((old, True), (failed, True), (recent, False), (waiting, False)):
        b.refresh_from_db()
        assert files[b.pk].exists() is not gone, b.number
        assert (b.status == BatchStatus.DISCARDED) is gone
        assert (b.staged_path == "") is gone
    assert not QuarantineRow.objects.filter(batch=old).exists()
    assert QuarantineRow.objects.filter(batch=recent).exists()
    swept = AuditEntry.objects.filter(action="hub.batch_discard")
    assert sorted(int(a.object_id) for a in swept) == sorted([old.pk, failed.pk])


def test_the_sweep_is_a_daily_job() -> None:
    from civitas.hub import tasks

    job = next(j for j in scheduler.jobs() if j.name == "hub.sweep_staged")
    assert job.period == 86400 and job.target == "civitas.hub.tasks.sweep_staged"
    assert tasks.sweep_staged() == {"discarded": 0}


# -- 11. a batch left loading -------------------------------------------------------------


def left_loading(b: Batch, hours: float) -> None:
    Batch.objects.filter(pk=b.pk).update(
        status=BatchStatus.LOADING, started_at=clock.now() - timedelta(hours=hours)
    )
    b.refresh_from_db()


def test_a_batch_left_loading_by_a_dead_worker_can_be_discarded(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    b = staged(hub, tmp_path, rows(3))
    left_loading(b, 48)
    file = Path(b.staged_path)
    with transaction.atomic():
        ingest.discard(b, actor=hub["steward"])
    b.refresh_from_db()
    assert b.status == BatchStatus.DISCARDED and not file.exists()
    assert AuditEntry.objects.filter(action="hub.batch_discard", object_id=str(b.pk)).exists()


def test_a_batch_left_loading_is_taken_over_by_a_new_run(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    b = staged(hub, tmp_path, rows(3))
    left_loading(b, 7)
    done = ingest.run(b, actor=hub["steward"])
    assert done.status == BatchStatus.APPLIED and done.rows_loaded == 3
    assert AuditEntry.objects.filter(action="hub.batch_take_over").exists()


def test_a_live_load_is_never_taken_over(hub: dict[str, Any], tmp_path: Path) -> None:
    b = staged(hub, tmp_path, rows(3))
    left_loading(b, 1)  # within the timeout
    with pytest.raises(Conflict) as exc:
        ingest.run(b)
    assert exc.value.code == "batch_busy"
    left_loading(b, 48)
    ingest._say(b, 100, 1000, 0)  # the worker said something a moment ago
    with pytest.raises(Conflict), transaction.atomic():
        ingest.discard(b, actor=hub["steward"])
    assert not ingest.is_abandoned(b)
    left_loading(b, 49)  # what was said belongs to an earlier run
    assert ingest.is_abandoned(b)
    with override_settings(CIVITAS_HUB_LOAD_TIMEOUT_MINUTES=5000):
        ingest._say(b, 100, 1000, 0)
        assert not ingest.is_abandoned(b)
    ingest._say(b, 100, 1000, 0)
    said = cache.get(ingest.progress_key(b.pk))
    cache.set(ingest.progress_key(b.pk), said | {"at": said["at"] - 11 * 60})  # still 11 min
    assert ingest.is_abandoned(b)


def test_the_batch_page_says_a_batch_was_abandoned(hub: dict[str, Any], tmp_path: Path) -> None:
    b = staged(hub, tmp_path, rows(3))
    left_loading(b, 48)
    page = signed_in(hub["steward"]).get(f"/hub/batches/{b.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="batch-abandoned"' in html and "Run it again or discard it" in html
    assert f"/hub/batches/{b.pk}/discard/" in html and 'id="run-again"' in html
    r = signed_in(hub["steward"]).post(f"/hub/batches/{b.pk}/run/")
    b.refresh_from_db()
    assert r.status_code == 302 and b.status == BatchStatus.APPLIED


# -- 12. corrections kept ------------------------------------------------------------------


def test_a_fixed_row_keeps_its_correction_when_the_batch_is_rejected_again(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    data = rows(4)
    data[0]["inspected_on"] = "2026-02-30"  # file row 2
    data[2]["result"] = ""  # file row 4
    b = ingest.run(staged(hub, tmp_path, data), actor=hub["steward"])
    assert b.status == BatchStatus.REJECTED
    row2 = QuarantineRow.objects.get(batch=b, row_number=2)
    with transaction.atomic():
        ingest.fix_row(hub["steward"], row2.pk, {"inspected_on": "2026-02-28"})
    b = ingest.run(b, actor=hub["steward"])  # row 4 is still bad
    assert b.status == BatchStatus.REJECTED and b.rows_bad == 1
    kept = QuarantineRow.objects.get(batch=b, row_number=2)
    assert kept.status == QuarantineStatus.FIXED
    assert kept.fixed_values and kept.fixed_values["inspected_on"] == "2026-02-28"
    row4 = QuarantineRow.objects.get(batch=b, row_number=4)
    assert row4.status == QuarantineStatus.OPEN
    with transaction.atomic():
        ingest.fix_row(hub["steward"], row4.pk, {"result": "pass"})
    b = ingest.run(b, actor=hub["steward"])
    assert b.status == BatchStatus.APPLIED, b.report.get("first")
    assert b.report["fixed_rows"] == 2
    got = Record.objects.get(batch=b, row_number=2)
    assert got.data["inspected_on"] == "2026-02-28"


def test_a_correction_still_bad_in_a_run_is_replaced(hub: dict[str, Any], tmp_path: Path) -> None:
    data = rows(3)
    data[0]["fine"] = "lots"
    b = ingest.run(staged(hub, tmp_path, data))
    row = QuarantineRow.objects.get(batch=b, row_number=2)
    with transaction.atomic():
        row = ingest.fix_row(hub["steward"], row.pk, {"fine": "100"})
    assert row.status == QuarantineStatus.FIXED and row.fixed_values
    # the enterprise moved out of the area meanwhile: the correction no longer suffices
    QuarantineRow.objects.filter(pk=row.pk).update(
        fixed_values=row.fixed_values | {"fine": "100", "lat": "95"}
    )
    b = ingest.run(b)
    again = QuarantineRow.objects.get(batch=b, row_number=2)
    assert b.status == BatchStatus.REJECTED
    assert again.status == QuarantineStatus.OPEN and again.fixed_values is None
    assert [e["code"] for e in again.errors] == ["out_of_range"]


# -- 13. uploads that would exhaust a worker -----------------------------------------------


def bomb(path: Path, good: Path, strings_bytes: int) -> Path:
    """The workbook ``good`` with its shared strings swollen to ``strings_bytes``."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                out.writestr(info, src.read(info.filename))
        filler = b"<si><t>" + b"a" * 1000 + b"</t></si>"
        body = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        body += filler * (strings_bytes // len(filler)) + b"</sst>"
        out.writestr("xl/sharedStrings.xml", body)
    return path


def test_a_workbook_that_unpacks_to_gigabytes_is_refused_before_it_is_opened(
    hub: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", rows(3))
    path = bomb(tmp_path / "bomb.xlsx", good, 40 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024

    def never(*_a: Any, **_k: Any) -> None:
        raise AssertionError("openpyxl opened the bomb")

    monkeypatch.setattr("openpyxl.load_workbook", never)
    with pytest.raises(readers.FileProblem) as exc:
        ingest.stage_file(hub["steward"], hub["dataset"], path, filename="bomb.xlsx")
    assert exc.value.code == "xlsx_too_large"
    assert "CSV" in exc.value.message and "MB" in exc.value.message
    assert not list(ingest.staging_dir().glob("*")) if ingest.staging_dir().exists() else True


def test_the_absolute_cap_follows_the_largest_file_setting(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", rows(3))
    readers.check_xlsx_size(good)  # an ordinary workbook passes
    path = bomb(tmp_path / "big.xlsx", good, 2 * 1024 * 1024)
    readers.check_xlsx_size(path)
    with (
        override_settings(CIVITAS_HUB_MAX_FILE_BYTES=4 * 1024 * 1024),
        pytest.raises(readers.FileProblem) as exc,
    ):
        readers.check_xlsx_size(path)  # shared strings above a quarter of the largest file
    assert exc.value.code == "xlsx_too_large"


def test_an_ordinary_workbook_still_loads(hub: dict[str, Any], tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ok.xlsx", rows(5))
    b = ingest.stage_file(hub["steward"], hub["dataset"], path, filename="ok.xlsx")
    assert b.rows_total == 5
    assert ingest.run(b).status == BatchStatus.APPLIED


def cr_only(tmp_path: Path, n: int) -> Path:
    text = write_csv(tmp_path / "lf.csv", rows(n)).read_text(encoding="utf-8")
    path = tmp_path / "cr.csv"
    path.write_bytes(text.replace("\r\n", "\r").replace("\n", "\r").encode())
    assert b"\n" not in path.read_bytes()
    return path


def test_a_csv_with_cr_line_endings_is_counted(hub: dict[str, Any], tmp_path: Path) -> None:
    path = cr_only(tmp_path, 7)
    assert readers.estimate_rows(path, "csv") == 7
    b = ingest.stage_file(hub["steward"], hub["dataset"], path, filename="cr.csv")
    assert b.rows_total == 7
    assert ingest.run(b).rows_loaded == 7


def test_a_large_file_of_unknown_size_is_queued_not_run_in_the_request(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    b = staged(hub, tmp_path, rows(2))
    Batch.objects.filter(pk=b.pk).update(rows_total=0)
    b.refresh_from_db()
    assert ingest.runs_inline(b)  # tiny: the request may load it
    Path(b.staged_path).write_bytes(b"x" * (ingest.QUEUE_UNKNOWN_BYTES + 1))
    assert not ingest.runs_inline(b)


def test_a_cr_only_upload_above_the_inline_limit_is_queued(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    path = cr_only(tmp_path, 30)
    c = signed_in(hub["steward"])
    with override_settings(CIVITAS_HUB_INLINE_ROWS=10):
        r = c.post(
            f"/hub/datasets/{hub['dataset'].code}/upload/",
            {"file": SimpleUploadedFile("cr.csv", path.read_bytes()), "mode": "append"},
        )
    b = Batch.objects.get(dataset=hub["dataset"])
    assert r.status_code == 302
    assert b.status == BatchStatus.PENDING and b.rows_total == 30
    assert not Record.objects.exists()


def test_a_malformed_first_json_record_is_told_without_reading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"enterprise": oops}' + ', {"enterprise": "Shop"}' * 400_000)
    assert path.stat().st_size > 8 * 1024 * 1024
    read = {"chars": 0}
    real_open = builtins.open

    def counting_open(file: Any, *a: Any, **k: Any) -> Any:
        fh = real_open(file, *a, **k)
        if str(file) != str(path):
            return fh
        real_read = fh.read

        def read_some(n: int = -1) -> Any:
            got = real_read(n)
            read["chars"] += len(got)
            return got

        fh.read = read_some  # type: ignore[method-assign]
        return fh

    monkeypatch.setattr(io, "open", counting_open)
    with pytest.raises(readers.FileProblem) as exc:
        list(readers.read_json(path, helpers_fields()))
    assert "record 1" in exc.value.message
    assert read["chars"] <= 2 * readers.SNIFF_BYTES


def test_a_json_record_that_never_ends_is_refused_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "JSON_RECORD_MAX", 512 * 1024)
    path = tmp_path / "long.json"
    path.write_text('[{"enterprise": "' + "x" * (4 * 1024 * 1024))
    with pytest.raises(readers.FileProblem) as exc:
        list(readers.read_json(path, helpers_fields()))
    assert exc.value.code == "bad_json" and "never ends" in exc.value.message


def test_json_records_longer_than_a_buffer_still_load(tmp_path: Path) -> None:
    path = tmp_path / "wide.json"
    long = "y" * (3 * readers.SNIFF_BYTES)
    path.write_text(f'[{{"enterprise": "{long}"}}, {{"enterprise": "b", "fine": 12}}]')
    got = list(readers.read_json(path, helpers_fields()))
    assert [n for n, _r in got] == [1, 2] and got[0][1]["enterprise"] == long


def helpers_fields() -> list[Any]:
    class F:
        def __init__(self, name: str) -> None:
            self.name = name

    return [F(spec[0]) for spec in helpers.INSPECTION_FIELDS]


# -- identity numbers in the wrong column ---------------------------------------------------


def test_identity_numbers_in_other_columns_are_hidden_everywhere(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    number = helpers.person_id(77)
    other = helpers.person_id(78)
    data = rows(3)
    data[0]["fine"] = number  # a decimal: the message would quote it
    data[0]["address"] = f"lives with {other}"  # free text in the same bad row
    data[1]["inspected_on"] = number.lower()[:-1] + "x" if number.endswith("X") else number
    data[2]["legal_rep_id"] = number  # the right column: becomes its key
    b = ingest.run(staged(hub, tmp_path, data), actor=hub["steward"])
    assert b.status == BatchStatus.REJECTED and b.rows_bad == 2
    assert clear_numbers_stored([number, other]) == []
    q = QuarantineRow.objects.get(batch=b, row_number=2)
    assert q.values["fine"] == "[identity number]"
    assert q.values["address"] == "lives with [identity number]"
    assert any("[identity number]" in e["message"] for e in q.errors)
    assert q.values["legal_rep_id"] == keys.person_key(helpers.person_id(1))
    page = signed_in(hub["steward"]).get(f"/hub/batches/{b.pk}/")
    assert number not in page.content.decode() and other not in page.content.decode()
    # a correction typed with a number in the wrong column is not kept in clear either
    with transaction.atomic():
        ingest.fix_row(hub["steward"], q.pk, {"fine": other})
    assert clear_numbers_stored([number, other]) == []


def test_a_number_with_a_wrong_check_character_is_not_hidden() -> None:
    from civitas.hub.convert import redact

    good = helpers.person_id(5)
    wrong = good[:-1] + ("1" if good[-1] != "1" else "2")
    assert redact(f"{good};{wrong}") == f"[identity number];{wrong}"
    assert redact("order 123456789012345678901") == "order 123456789012345678901"


def test_a_file_without_a_header_does_not_quote_its_numbers(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    number = helpers.person_id(9)
    path = tmp_path / "nohead.csv"
    path.write_text(f"Shop,{number},2026-01-01\n")
    with pytest.raises(readers.FileProblem) as exc:
        ingest.stage_file(hub["steward"], hub["dataset"], path, filename="nohead.csv")
    assert number not in exc.value.message and number not in str(exc.value.details)
    assert "[identity number]" in exc.value.message


# -- failures in words ----------------------------------------------------------------------


def test_a_failure_tells_the_steward_what_to_do_and_logs_the_details(
    hub: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    b = staged(hub, tmp_path, rows(2))

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError('relation "hub_record" violates check constraint near 0x7f')

    monkeypatch.setattr(ingest, "_apply", broken)
    with caplog.at_level(logging.ERROR, logger="civitas.hub.ingest"):
        done = ingest.run(b)
    assert done.status == BatchStatus.FAILED
    assert "violates" not in done.message and "hub_record" not in done.message
    assert "nothing was loaded" in done.message and "Run the batch again" in done.message
    assert "violates check constraint" in caplog.text
    assert not Record.objects.exists()


# -- 6. several identity fields ---------------------------------------------------------------


def test_a_schema_may_have_several_identity_fields(hub: dict[str, Any]) -> None:
    with transaction.atomic():
        ds = catalogue.create_dataset(
            hub["steward"],
            owner_unit=hub["market"],
            jurisdiction=hub["city"]["T"],
            code="t-minors",
            title_en="Minors",
            title_zh="未成年人",
            domain=hub["dataset"].domain,
            frequency=hub["dataset"].frequency,
            sharing=hub["dataset"].sharing,
        )
    fields = [
        _field("child_id", "person_id"),
        _field("guardian_id", "person_id"),
        {**_field("note", ""), "sensitivity": "internal"},
    ]
    with transaction.atomic():
        catalogue.save_schema(hub["steward"], ds, fields, version=ds.version, note="two ids")
    ds.refresh_from_db()
    roles = [f.key_role for f in ds.schema.fields.order_by("position")]
    assert roles == ["person_id", "person_id", ""]


def _field(name: str, role: str) -> dict[str, Any]:
    return {
        "name": name,
        "label_en": name.replace("_", " "),
        "label_zh": name,
        "type": "string",
        "sensitivity": "secret",
        "key_role": role,
        "required": False,
    }


def test_every_identity_field_is_pseudonymised(hub: dict[str, Any]) -> None:
    ds = helpers.make_dataset(
        code="t-minors",
        owner=hub["market"],
        area=hub["city"]["T"],
        fields=[
            ("child_id", "string", "secret", "person_id", True),
            ("guardian_id", "string", "secret", "person_id", False),
            ("age", "integer", "internal", "", True),
        ],
    )
    child, guardian = helpers.person_id(11), helpers.person_id(12)
    b = ingest.push(
        hub["steward"],
        ds,
        [
            {"child_id": child, "guardian_id": guardian, "age": 9},
            {"child_id": helpers.person_id(13), "age": 10},
        ],
    )
    assert b.status == BatchStatus.APPLIED
    first = Record.objects.get(dataset=ds, row_number=1)
    assert first.data["child_id"] == keys.person_key(child) == first.person_key
    assert first.data["guardian_id"] == keys.person_key(guardian)
    bad = ingest.push(hub["steward"], ds, [{"child_id": child, "guardian_id": guardian}])
    q = QuarantineRow.objects.get(batch=bad)
    assert q.values["guardian_id"] == keys.person_key(guardian)
    assert clear_numbers_stored([child, guardian]) == []
