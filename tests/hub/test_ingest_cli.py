"""civitas hub load and civitas hub batches."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from civitas.hub.models import Batch, BatchStatus, Record
from tests.hub.ingest_setup import rows, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var(tmp_path: Path) -> Any:
    with override_settings(CIVITAS_VAR=tmp_path / "var"):
        yield


def hub_command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("hub", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_load_with_progress_and_summary(hub: dict[str, Any], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(7000))
    out, err = hub_command("load", "t-inspections", str(path), "--as", "steward")
    assert "applied: 7,000 records loaded into t-inspections (batch 1, append)" in out
    assert "located by point 7,000" in out
    assert "the dataset now holds 7,000 records" in out
    assert "checking and loading" in err and "7.00k/7.00k" in err
    batch = Batch.objects.get()
    assert batch.created_by.startswith("user:") and batch.status == BatchStatus.APPLIED
    out, _ = hub_command("load", "t-inspections", str(path), "--mode", "replace", "--quiet")
    assert "replaced: 7,000 earlier records removed" in out
    assert Record.objects.count() == 7000
    out, _ = hub_command("batches", "t-inspections")
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["2", "applied", "replace"]
    assert lines[2].split()[:3] == ["1", "applied", "append"]


def test_rejected_file_lists_the_first_problems_and_where_to_fix(
    hub: dict[str, Any], tmp_path: Path
) -> None:
    data = rows(30)
    data[4]["lat"] = "120"
    data[9]["credit_code"] = "91"
    path = write_csv(tmp_path / "a.csv", data)
    out = StringIO()
    with pytest.raises(CommandError, match="batch 1 rejected"):
        call_command(
            "hub", "load", "t-inspections", str(path), "--quiet", stdout=out, stderr=StringIO()
        )
    text = out.getvalue()
    assert "rejected: nothing was loaded. 2 of 30 rows have problems" in text
    assert "row 6, lat: latitude 120.0 is outside -90 to 90" in text
    assert "row 11, credit_code: a credit code has 18 characters, this one has 2" in text
    batch = Batch.objects.get()
    assert f"/hub/batches/{batch.pk}/" in text
    assert Record.objects.count() == 0


def test_refusals(hub: dict[str, Any], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", rows(1))
    with pytest.raises(CommandError, match="no dataset 'nope'"):
        hub_command("load", "nope", str(path))
    with pytest.raises(CommandError, match="Only data stewards"):
        hub_command("load", "t-inspections", str(path), "--as", "outsider")
    with pytest.raises(CommandError, match="no active person"):
        hub_command("load", "t-inspections", str(path), "--as", "nobody")
    bad = tmp_path / "b.csv"
    bad.write_text("colour\nred\n", encoding="utf-8")
    with pytest.raises(CommandError, match="colour"):
        hub_command("load", "t-inspections", str(bad))
    out, _ = hub_command("batches", "t-inspections")
    assert "has no batches yet" in out
