"""A data steward uploads a file with a bad row, sees the problem beside the cell, corrects it
in the quarantine, runs the batch again and sees it applied: in a real browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from civitas.hub.models import Batch, BatchStatus, QuarantineRow, Record
from tests.e2e.session import PASSWORD
from tests.hub.conftest import hub  # noqa: F401
from tests.hub.ingest_setup import rows, write_csv

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_steward_fixes_a_bad_row_and_the_batch_is_applied(
    live_server: Any,
    page: Any,
    hub: dict[str, Any],  # noqa: F811 - the fixture, imported
    tmp_path: Path,
    screenshots: Path,
) -> None:
    data = rows(12)
    data[5]["inspected_on"] = "2026/13/05"  # row 7 of the file: no thirteenth month
    path = write_csv(tmp_path / "inspections.csv", data)
    base = live_server.url
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        page.goto(f"{base}/login/?next=/hub/datasets/t-inspections/")
        page.fill("#id_username", "steward")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r"/hub/datasets/t-inspections/$"))

        # Upload from the dataset page.
        page.set_input_files("#upload-file", str(path))
        page.click("#upload-form button[type=submit]")
        page.wait_for_url(re.compile(r"/hub/batches/\d+/$"))
        assert page.locator("#batch-status").inner_text() == "Rejected (nothing loaded)"
        assert "1 of 12 rows have problems" in page.locator("#batch-message").inner_text()
        assert Record.objects.count() == 0

        # The problem sits beside the cell of row 7.
        q = QuarantineRow.objects.get()
        cell = page.locator(f"#q{q.pk}-inspected_on")
        assert cell.get_attribute("aria-invalid") == "true"
        error = page.locator(f"#q{q.pk}-inspected_on-err").inner_text()
        assert "2026/13/05 is no day of the calendar" in error
        page.screenshot(path=str(screenshots / "hub-quarantine.png"), full_page=True)

        # Corrected and checked at once.
        cell.fill("2026/12/05")
        page.locator("#row-7").get_by_role("button", name="Save and check").click()
        page.wait_for_url(re.compile(r"/hub/batches/\d+/.*#row-7$"))
        assert "Row 7 is correct now." in page.locator(".messages").inner_text()
        assert page.locator("#row-7").locator(".error").count() == 0

        # Run again: applied whole.
        page.click("#run-again")
        page.wait_for_load_state()
        assert page.locator("#batch-status").inner_text() == "Applied"
        assert "Batch 1 applied: 12 records loaded." in page.locator(".messages").inner_text()
        assert page.locator("#rows-loaded").inner_text() == "12"
        page.screenshot(path=str(screenshots / "hub-batch-applied.png"), full_page=True)

    batch = Batch.objects.get()
    assert batch.status == BatchStatus.APPLIED
    assert Record.objects.count() == 12
    assert str(Record.objects.get(row_number=7).occurred_on) == "2026-12-05"
    assert not QuarantineRow.objects.exists()
    assert page.problems.items == []
