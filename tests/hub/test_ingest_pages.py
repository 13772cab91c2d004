"""The loading pages through the test client: upload, the batch page, the quarantine's fix,
drop and re-run, large files queued with their progress, and who may see them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from civitas.hub import ingest, keys
from civitas.hub.models import Batch, BatchStatus, QuarantineRow, QuarantineStatus, Record
from civitas.kit import tasks as kit_tasks
from tests.hub import helpers
from tests.hub.ingest_setup import rows, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(tmp_path: Path) -> Any:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield


def signed_in(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def csv_upload(tmp_path: Path, data: list[dict[str, Any]], name: str = "inspections.csv") -> Any:
    path = write_csv(tmp_path / name, data)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def upload(c: Client, file: Any, mode: str = "append") -> Any:
    return c.post(
        reverse("hub-upload", args=["t-inspections"]), {"file": file, "mode": mode}, follow=True
    )


class TestUpload:
    def test_dataset_page_offers_the_upload_to_stewards(self, hub: dict[str, Any]) -> None:
        page = signed_in(hub["steward"]).get(reverse("hub-dataset", args=["t-inspections"]))
        assert page.status_code == 200
        assert b'id="upload-form"' in page.content
        other = signed_in(hub["consumer"]).get(reverse("hub-dataset", args=["t-inspections"]))
        assert b'id="upload-form"' not in other.content

    def test_good_file_applied_inline(self, hub: dict[str, Any], tmp_path: Path) -> None:
        c = signed_in(hub["steward"])
        r = upload(c, csv_upload(tmp_path, rows(6)))
        assert r.status_code == 200
        batch = Batch.objects.get()
        assert r.redirect_chain[-1][0] == reverse("hub-batch", args=[batch.pk])
        assert batch.status == BatchStatus.APPLIED and batch.created_by.startswith("user:")
        text = r.content.decode()
        assert "Batch 1 applied: 6 records loaded." in text
        assert "Placed by their coordinates" in text
        assert Record.objects.count() == 6
        # the dataset page lists the batch
        page = c.get(reverse("hub-dataset", args=["t-inspections"])).content.decode()
        assert reverse("hub-batch", args=[batch.pk]) in page

    def test_bad_row_fixed_in_the_quarantine_and_rerun(
        self, hub: dict[str, Any], tmp_path: Path
    ) -> None:
        data = rows(5)
        data[1]["inspected_on"] = "2026-02-30"
        data[3]["legal_rep_id"] = helpers.person_id(4)[:-1] + "Y"
        c = signed_in(hub["steward"])
        r = upload(c, csv_upload(tmp_path, data))
        batch = Batch.objects.get()
        assert batch.status == BatchStatus.REJECTED
        text = r.content.decode()
        assert "2 of 5 rows have problems" in text
        assert 'id="row-3"' in text and 'id="row-5"' in text
        assert "2026-02-30 is no day of the calendar" in text
        assert 'aria-invalid="true"' in text
        assert helpers.person_id(4)[:-1] not in text
        q3 = QuarantineRow.objects.get(batch=batch, row_number=3)
        q5 = QuarantineRow.objects.get(batch=batch, row_number=5)
        fix = c.post(
            reverse("hub-quarantine-fix", args=[q3.pk]),
            {"inspected_on": "2026-02-28", "page": "1"},
            follow=True,
        )
        assert "Row 3 is correct now." in fix.content.decode()
        c.post(reverse("hub-quarantine-fix", args=[q5.pk]), {"legal_rep_id": helpers.person_id(4)})
        q5.refresh_from_db()
        assert q5.status == QuarantineStatus.FIXED
        assert q5.fixed_values["legal_rep_id"] == keys.person_key(helpers.person_id(4))
        rerun = c.post(reverse("hub-batch-run", args=[batch.pk]), follow=True)
        assert "Batch 1 applied: 5 records loaded." in rerun.content.decode()
        assert Record.objects.count() == 5
        assert str(Record.objects.get(row_number=3).occurred_on) == "2026-02-28"

    def test_drop_and_discard(self, hub: dict[str, Any], tmp_path: Path) -> None:
        data = rows(3)
        data[0]["result"] = ""
        c = signed_in(hub["steward"])
        upload(c, csv_upload(tmp_path, data))
        batch = Batch.objects.get()
        q = QuarantineRow.objects.get(batch=batch)
        r = c.post(reverse("hub-quarantine-drop", args=[q.pk]), follow=True)
        assert "Row 2 is left out" in r.content.decode()
        r = c.post(reverse("hub-quarantine-restore", args=[q.pk]), follow=True)
        assert QuarantineRow.objects.get(pk=q.pk).status == QuarantineStatus.OPEN
        r = c.post(reverse("hub-batch-discard", args=[batch.pk]), follow=True)
        assert "Batch 1 discarded" in r.content.decode()
        batch.refresh_from_db()
        assert batch.status == BatchStatus.DISCARDED and not QuarantineRow.objects.exists()

    def test_wrong_file_told_at_once(self, hub: dict[str, Any]) -> None:
        c = signed_in(hub["steward"])
        bad = SimpleUploadedFile("a.xlsx", b"credit_code,enterprise\n1,2\n")
        r = c.post(reverse("hub-upload", args=["t-inspections"]), {"file": bad})
        assert r.status_code == 422
        assert "The file was not taken" in r.content.decode()
        wrong = SimpleUploadedFile("a.csv", b"enterprise,colour\nx,red\n")
        r = c.post(reverse("hub-upload", args=["t-inspections"]), {"file": wrong})
        assert r.status_code == 422 and "colour" in r.content.decode()
        assert not Batch.objects.exists()
        assert c.get(reverse("hub-upload", args=["t-inspections"])).status_code == 200

    def test_chinese_page(self, hub: dict[str, Any], tmp_path: Path) -> None:
        c = signed_in(hub["steward"])
        upload(c, csv_upload(tmp_path, rows(2)))
        batch = Batch.objects.get()
        r = c.get(reverse("hub-batch", args=[batch.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert r.status_code == 200 and 'lang="zh-hans"' in r.content.decode()


class TestLargeFiles:
    def test_queued_with_progress_then_loaded_by_the_worker(
        self, hub: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        c = signed_in(hub["steward"])
        with (
            override_settings(CIVITAS_HUB_INLINE_ROWS=10),
            django_capture_on_commit_callbacks(execute=True),
        ):
            r = upload(c, csv_upload(tmp_path, rows(40)))
        batch = Batch.objects.get()
        assert batch.status == BatchStatus.PENDING
        text = r.content.decode()
        assert "in the background" in text
        assert reverse("hub-batch-progress", args=[batch.pk]) in text
        assert 'hx-trigger="every 1s"' in text
        poll = c.get(reverse("hub-batch-progress", args=[batch.pk]))
        assert poll.status_code == 200 and "HX-Refresh" not in poll
        assert kit_tasks.run_ready(worker_id="test") == 1
        batch.refresh_from_db()
        assert batch.status == BatchStatus.APPLIED and batch.rows_loaded == 40
        assert ingest.progress_of(batch.pk) == {"done": 40, "total": 40, "bad": 0}
        poll = c.get(reverse("hub-batch-progress", args=[batch.pk]))
        assert poll["HX-Refresh"] == "true"


class TestWho:
    @pytest.mark.parametrize("who", ["consumer", "outsider", "owner_handler", "auditor"])
    def test_others_refused(self, hub: dict[str, Any], tmp_path: Path, who: str) -> None:
        data = rows(2)
        data[0]["result"] = ""
        ingest.run(
            ingest.stage_file(
                hub["steward"],
                hub["dataset"],
                write_csv(tmp_path / "a.csv", data),
                filename="a.csv",
            )
        )
        batch = Batch.objects.get()
        q = QuarantineRow.objects.get()
        c = signed_in(hub[who])
        assert c.get(reverse("hub-batch", args=[batch.pk])).status_code == 403
        assert c.get(reverse("hub-batch-progress", args=[batch.pk])).status_code == 403
        assert (
            c.post(reverse("hub-quarantine-fix", args=[q.pk]), {"result": "x"}).status_code == 403
        )
        assert c.post(reverse("hub-batch-discard", args=[batch.pk])).status_code == 403
        r = c.post(
            reverse("hub-upload", args=["t-inspections"]),
            {"file": csv_upload(tmp_path, rows(1), "b.csv")},
        )
        assert r.status_code == 403
        assert Batch.objects.count() == 1
        assert Client().get(reverse("hub-batch", args=[batch.pk])).status_code == 302
