"""``civitas risk scan`` and ``civitas risk evaluate`` on generated files and on Boston's."""

from __future__ import annotations

import gzip
import io
import json
import math
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from civitas.risk.scan.csvinput import read_events
from tests.risk.scan_data import PROJ, stream, write_csv

KEYS = [
    "detected_on",
    "kind",
    "category",
    "lat",
    "lon",
    "radius_m",
    "start",
    "end",
    "observed",
    "expected",
    "p_value",
]


def _scan(path: Path, *extra: str) -> list[dict[str, object]]:
    out = io.StringIO()
    call_command(
        "risk",
        "scan",
        "--input",
        str(path),
        "--from",
        "2015-04-09",
        "--to",
        "2015-04-13",
        "--replicas",
        "199",
        "--alpha",
        "0.01",
        "--detectors",
        "cluster",
        "--quiet",
        *extra,
        stdout=out,
    )
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("gz", [True, False])
def test_scan_prints_the_planted_cluster_as_a_json_line(tmp_path: Path, gz: bool) -> None:
    # Day 100 is 2015-04-11; the cluster runs 04-11 .. 04-13.
    ev = stream(clusters=((1, -1500.0, 2000.0, 100, 4, 300.0),), seed=12)
    path = write_csv(ev, tmp_path / ("r.csv.gz" if gz else "r.csv"), gz=gz)
    with path.open("rb") as fh:
        assert (fh.read(2) == b"\x1f\x8b") is gz
    lines = _scan(path)
    assert lines
    for line in lines:
        assert list(line) == KEYS
    hits = [ln for ln in lines if ln["category"] == "type1"]
    assert len(hits) == 1
    hit = hits[0]
    lat, lon = PROJ.to_latlon(-1500.0, 2000.0)
    assert hit["kind"] == "cluster"
    assert "2015-04-11" <= str(hit["detected_on"]) <= "2015-04-13"
    assert str(hit["start"]) >= "2015-04-09" and hit["end"] == hit["detected_on"]
    dist = math.hypot((float(hit["lat"]) - lat) * 111_000, (float(hit["lon"]) - lon) * 82_000)
    assert dist < 300 + float(hit["radius_m"])
    assert int(hit["observed"]) > float(hit["expected"])
    assert 0 < float(hit["p_value"]) <= 0.01


def test_reading_the_file(tmp_path: Path) -> None:
    ev = stream(days=20, staff_share=0.3, seed=1)
    path = write_csv(ev, tmp_path / "r.csv", gz=False)
    err = io.StringIO()
    got = read_events(path, report=err)
    assert len(got) == len(ev) + 1
    assert "1 unlocated" in err.getvalue()
    assert got.located.sum() == len(ev)
    assert got.staff.sum() == ev.staff.sum()
    assert got.day0.isoformat() == "2015-01-01"
    assert sorted(got.categories) == ["type0", "type1"]
    assert set(got.extra) >= {"source", "address"}
    assert (got.t[1:] >= got.t[:-1]).all()


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("OPEN_DT,TYPE,LATITUDE\n01/01/2015 10:00:00 AM,x,42.3\n")
    with pytest.raises(CommandError, match=r"bad.csv, line 1: missing column\(s\) LONGITUDE"):
        _scan(path)


def test_unreadable_date_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("OPEN_DT,TYPE,LATITUDE,LONGITUDE\n")
        fh.write("01/01/2015 10:00:00 AM,x,42.3,-71.1\n")
        fh.write("2015-01-02T10:00,x,42.3,-71.1\n")
    with pytest.raises(CommandError, match=r"bad.csv.gz, line 3, column OPEN_DT: .*2015-01-02"):
        _scan(path)


def test_rows_without_type_are_skipped_and_counted(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "r.csv"
    path.write_text(
        "OPEN_DT,TYPE,LATITUDE,LONGITUDE\n"
        "01/01/2015 10:00:00 AM,x,42.3,-71.1\n"
        "01/01/2015 11:00:00 AM,,42.3,-71.1\n"
        "01/02/2015 10:00:00 AM,x,,\n"
    )
    ev = read_events(path)
    assert len(ev) == 2 and ev.located.sum() == 1
    assert "1 skipped (no TYPE)" in capsys.readouterr().err


def test_period_outside_the_file_is_refused(tmp_path: Path) -> None:
    path = write_csv(stream(days=20), tmp_path / "r.csv", gz=False)
    with pytest.raises(CommandError, match="outside the file's days"):
        out = io.StringIO()
        call_command(
            "risk",
            "scan",
            "--input",
            str(path),
            "--from",
            "2016-01-01",
            "--to",
            "2016-01-02",
            "--quiet",
            stdout=out,
        )


def test_evaluate_reports_sensitivity_delay_and_false_alarms(tmp_path: Path) -> None:
    path = write_csv(stream(days=130, per_day=(8.0, 5.0), seed=21), tmp_path / "r.csv", gz=True)
    out = io.StringIO()
    call_command(
        "risk",
        "evaluate",
        "--input",
        str(path),
        "--from",
        "2015-04-01",
        "--to",
        "2015-04-30",
        "--clusters",
        "4",
        "--size",
        "10",
        "--radius",
        "300",
        "--days",
        "3",
        "--replicas",
        "199",
        "--alpha",
        "0.01",
        "--detectors",
        "cluster",
        "--min-type-cases",
        "20",
        "--quiet",
        stdout=out,
    )
    res = json.loads(out.getvalue())
    assert res["clusters"]["planted"] == 4
    assert res["clusters"]["detected"] >= 3
    assert res["clusters"]["mean_delay_days"] is not None
    assert 0 <= res["clusters"]["mean_delay_days"] <= 2
    assert res["false_alarms"]["cluster"]["per_month"] <= 2


@pytest.mark.realdata
def test_scan_on_a_few_days_of_boston(shared_data: Path) -> None:
    path = shared_data / "boston" / "requests_2015_jan_oct.csv.gz"
    out = io.StringIO()
    call_command(
        "risk",
        "scan",
        "--input",
        str(path),
        "--from",
        "2015-08-03",
        "--to",
        "2015-08-04",
        "--replicas",
        "99",
        "--alpha",
        "0.05",
        "--quiet",
        stdout=out,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines, "two days of Boston at alpha 0.05 give some alerts"
    for line in lines:
        assert list(line) == KEYS
        assert line["kind"] in {"cluster", "burst", "surge"}
        assert line["detected_on"] in {"2015-08-03", "2015-08-04"}
        assert line["start"] <= line["end"] == line["detected_on"] or line["kind"] != "cluster"
        if line["lat"] is not None:
            assert 42.2 < float(line["lat"]) < 42.45 and -71.2 < float(line["lon"]) < -70.95
        assert line["p_value"] is None or 0 <= float(line["p_value"]) <= 1


def test_the_installed_command_runs_on_a_fresh_machine(tmp_path: Path) -> None:
    """`civitas risk scan` as others run it: its own process, no SECRET_KEY, no CIVITAS_DEBUG,
    an empty working folder; JSON lines on stdout and nothing stored."""
    import os
    import subprocess
    import sys

    ev = stream(clusters=((1, -1500.0, 2000.0, 100, 4, 300.0),), seed=12)
    path = write_csv(ev, tmp_path / "r.csv.gz", gz=True)
    work = tmp_path / "fresh"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVITAS_", "SECRET_KEY"))}
    env.pop("DATABASE_URL", None)
    civitas = Path(sys.executable).with_name("civitas")
    done = subprocess.run(
        [str(civitas), "risk", "scan", "--input", str(path), "--from", "2015-04-11",
         "--to", "2015-04-13", "--replicas", "199", "--alpha", "0.01", "--quiet"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert any(ln["category"] == "type1" and ln["kind"] == "cluster" for ln in lines)
    assert all(list(ln) == KEYS for ln in lines)
    assert not (work / "var" / "civitas.sqlite3").exists()
