"""``civitas eval route`` on tiny generated Boston-format files: what it learns from, the
boundaries, the baseline beside it, the JSON on the last line and clear errors."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civitas.understanding.evaluation import InputError
from civitas.understanding.evaluation import route as ev

COLUMNS = [
    "CASE_ENQUIRY_ID",
    "OPEN_DT",
    "CLOSED_DT",
    "CASE_STATUS",
    "CLOSURE_REASON",
    "CASE_TITLE",
    "SUBJECT",
    "REASON",
    "TYPE",
    "QUEUE",
    "Department",
    "pwd_district",
    "ward",
    "precinct",
    "LATITUDE",
    "LONGITUDE",
    "Source",
]
START = datetime(2015, 1, 5, 8, 0)


def row(
    type_: str,
    queue: str,
    *,
    at: datetime = START,
    source: str = "Constituent Call",
    district: str = "03",
    precinct: str = "",
    lat: float | None = None,
    lon: float | None = None,
    title: str = "",
) -> dict[str, str]:
    return {
        "CASE_ENQUIRY_ID": "1",
        "OPEN_DT": at.strftime(ev.DATE_FORMAT),
        "CLOSED_DT": (at + timedelta(days=1)).strftime(ev.DATE_FORMAT),
        "CASE_STATUS": "Closed",
        "CLOSURE_REASON": f"Case Closed by {queue}",
        "CASE_TITLE": title or type_,
        "SUBJECT": "Public Works Department",
        "REASON": "Street Cleaning" if type_ != "Sign Repair" else "Signs",
        "TYPE": type_,
        "QUEUE": queue,
        "Department": queue[:4],
        "pwd_district": district,
        "ward": f"Ward {int(precinct) // 100}" if precinct else "",
        "precinct": f"{precinct}.0" if precinct else "",
        "LATITUDE": "" if lat is None else f"{lat:.4f}",
        "LONGITUDE": "" if lon is None else f"{lon:.4f}",
        "Source": source,
    }


def write(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def command(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("eval", "route", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def history() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Cart requests go to the recycling queue, except those from the workers' app; in
    district 1B litter went to Downtown until a recent reorganisation moved it."""
    train: list[dict[str, str]] = []
    for i in range(30):
        train.append(row("Request for Cart", "PWDx_Recycling", at=START + timedelta(hours=i)))
        train.append(row("Request for Cart", "PWDx_Recycling", at=START + timedelta(hours=i)))
        train.append(row("Request for Cart", "PWDx_Carts", source="City Worker App", at=START))
        train.append(row("Litter", "PWDx_Downtown", district="1B", at=START))
    for _ in range(15):
        train.append(row("Litter", "PWDx_North End", district="1B", at=START + timedelta(days=150)))
    test = [
        row("Request for Cart", "PWDx_Recycling"),
        row("Request for Cart", "PWDx_Carts", source="City Worker App"),
        row("Litter", "PWDx_North End", district="1B"),
        row("Litter", "PWDx_North End", district="1B"),
    ]
    return train, test


def test_learns_source_and_the_recent_queue_and_reports_the_baseline(tmp_path: Path) -> None:
    train, test = history()
    result = command(
        "--train",
        str(write(tmp_path / "train.csv", train)),
        "--test",
        str(write(tmp_path / "test.csv", test)),
    )
    assert result["n_train"] == len(train) and result["n_test"] == 4
    assert result["queue_accuracy"] == 1.0
    assert result["department_accuracy"] == 1.0
    # TYPE × pwd_district counts: the workers' cart and the old litter queue win.
    assert result["baseline"]["queue_accuracy"] == 0.25
    assert set(result["level_used"]) <= set(ev.LEVELS)
    assert 0 <= result["calibration_error"] <= 1


def test_reads_gzip_and_never_looks_at_closing_fields(tmp_path: Path) -> None:
    train, test = history()
    # Closing notes and titles that name the test row's queue must not help it.
    for r in test:
        r["CASE_TITLE"] = r["CLOSURE_REASON"] = "sent to PWDx_Downtown"
        r["CLOSED_DT"] = ""
    result = command(
        "--train",
        str(write(tmp_path / "train.csv.gz", train)),
        "--test",
        str(write(tmp_path / "test.csv.gz", test)),
    )
    assert result["queue_accuracy"] == 1.0 and result["n_test"] == 4


SQUARES = {"0101": (0.0, 0.0), "0102": (0.0, 0.01), "0201": (0.01, 0.0)}


def square(lat: float, lon: float, size: float = 0.01) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def boundaries(folder: Path) -> Path:
    folder.mkdir()
    base_lat, base_lon = 42.30, -71.10
    precincts = [
        {
            "type": "Feature",
            "properties": {"WARD_PRECINCT": code},
            "geometry": square(base_lat + dlat, base_lon + dlon),
        }
        for code, (dlat, dlon) in SQUARES.items()
    ]
    wards = [
        {
            "type": "Feature",
            "properties": {"WARD": 1},
            "geometry": square(base_lat, base_lon, 0.02),
        },
        {
            "type": "Feature",
            "properties": {"WARD": "2"},
            "geometry": square(base_lat + 0.02, base_lon, 0.02),
        },
    ]
    hoods = [
        {
            "type": "Feature",
            "properties": {"Name": "Downtown"},
            "geometry": square(base_lat, base_lon, 0.05),
        }
    ]
    for name, feats in (
        ("precincts.geojson", precincts),
        ("wards.geojson", wards),
        ("neighborhoods.geojson", hoods),
    ):
        (folder / name).write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return folder


def point(code: str) -> tuple[float, float]:
    dlat, dlon = SQUARES[code]
    return 42.30 + dlat + 0.005, -71.10 + dlon + 0.005


def test_boundaries_place_points_whose_records_lack_a_precinct(tmp_path: Path) -> None:
    """Sign repairs in precinct 0102 go to district 02's crew, elsewhere to the sign shop.
    The records carry no precinct: only the points tell them apart."""
    train = []
    for _ in range(20):
        train += [
            row(
                "Sign Repair",
                "BTDT_Sign Shop",
                district="03",
                lat=point("0101")[0],
                lon=point("0101")[1],
            )
            for _ in range(2)
        ]
        train.append(
            row(
                "Sign Repair",
                "BTDT_District 02",
                district="03",
                lat=point("0102")[0],
                lon=point("0102")[1],
            )
        )
    test = [
        row(
            "Sign Repair",
            "BTDT_District 02",
            district="03",
            lat=point("0102")[0],
            lon=point("0102")[1],
        ),
        row(
            "Sign Repair",
            "BTDT_Sign Shop",
            district="03",
            lat=point("0101")[0],
            lon=point("0101")[1],
        ),
        # The City Hall point means "no location": it is not placed.
        row(
            "Sign Repair",
            "BTDT_Sign Shop",
            district="03",
            lat=ev.NO_LOCATION[0],
            lon=ev.NO_LOCATION[1],
        ),
    ]
    tr, te = write(tmp_path / "train.csv", train), write(tmp_path / "test.csv", test)
    without = command("--train", str(tr), "--test", str(te))
    assert without["queue_accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    placed = command(
        "--train", str(tr), "--test", str(te), "--boundaries", str(boundaries(tmp_path / "b"))
    )
    assert placed["queue_accuracy"] == 1.0


def test_file_boundaries_name_the_precinct_else_the_ward(tmp_path: Path) -> None:
    import numpy as np

    index = ev.FileBoundaries(boundaries(tmp_path / "b"))
    lat, lon = point("0201")
    areas = index.areas(
        np.array([point("0102")[0], lat, 42.315, 0.0]),
        np.array([point("0102")[1], lon, -71.085, 0.0]),
    )
    assert areas == ["P0102", "P0201", "W01", ""]


def test_record_area_reads_both_ward_spellings() -> None:
    assert ev.record_area("511.0", "Ward 5") == "P0511"
    assert ev.record_area("", "Ward 5") == "W05"
    assert ev.record_area("", "05") == "W05"
    assert ev.record_area("", "3.0") == "W03"
    assert ev.record_area("", "") == ""


def test_missing_files_and_columns_are_named(tmp_path: Path) -> None:
    train, test = history()
    tr = write(tmp_path / "train.csv", train)
    with pytest.raises(CommandError, match=r"nope\.csv: no such file"):
        command("--train", str(tr), "--test", str(tmp_path / "nope.csv"))
    no_queue = write(tmp_path / "bad.csv", test, [c for c in COLUMNS if c != "QUEUE"])
    with pytest.raises(CommandError, match=r"bad\.csv: missing column\(s\) QUEUE"):
        command("--train", str(tr), "--test", str(no_queue))
    with pytest.raises(CommandError, match="no such folder"):
        command("--train", str(tr), "--test", str(tr), "--boundaries", str(tmp_path / "none"))
    folder = boundaries(tmp_path / "b")
    (folder / "wards.geojson").unlink()
    with pytest.raises(CommandError, match=r"wards\.geojson: no such file"):
        command("--train", str(tr), "--test", str(tr), "--boundaries", str(folder))


def test_bad_dates_and_empty_files_are_clear(tmp_path: Path) -> None:
    train, _ = history()
    train[3]["OPEN_DT"] = "yesterday"
    with pytest.raises(InputError, match=r"row 5: OPEN_DT 'yesterday' is not a date"):
        ev.run(str(write(tmp_path / "t.csv", train)), str(write(tmp_path / "u.csv", train)))
    empty = write(tmp_path / "empty.csv", [])
    with pytest.raises(InputError, match="no rows after the header"):
        ev.run(str(empty), str(empty))


def test_the_real_split_beats_the_baseline(shared_data: Path, tmp_path: Path) -> None:
    """Jan–Sep → Oct on the real file (skipped without the shared data)."""
    source = shared_data / "boston" / "requests_2015_jan_oct.csv.gz"
    with gzip.open(source, "rt", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    train = [r for r in rows if r["OPEN_DT"][:2] <= "09"]
    test = [r for r in rows if r["OPEN_DT"][:2] == "10"]
    result = ev.run(
        str(write(tmp_path / "train.csv.gz", train, fields)),
        str(write(tmp_path / "test.csv.gz", test, fields)),
    )
    assert result["baseline"]["queue_accuracy"] == pytest.approx(0.826, abs=0.005)
    assert result["queue_accuracy"] > result["baseline"]["queue_accuracy"] + 0.02
