"""locate_csv copies a CSV file adding each row's jurisdictions, level by level."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from civitas.citypacks.locate_csv import locate_csv
from civitas.geo import services as geo_services
from civitas.kit.errors import InvalidInput
from tests.factories import rect

pytestmark = pytest.mark.django_db

ADDED = [
    "city_code",
    "city_name",
    "district_code",
    "district_name",
    "street_code",
    "street_name",
    "community_code",
    "community_name",
]
# lat 0.5, lon 2.5: district 2, street 1, community 1 of the test city.
D2_S1_C1 = [
    "T",
    "Testville",
    "T-D2",
    "North 2 District",
    "T-D2-S1",
    "Elm 21 Street",
    "T-D2-S1-C1",
    "Oak 211 Community",
]
# lat 1.5, lon 0.5: district 1, street 1, community 2.
D1_S1_C2 = [
    "T",
    "Testville",
    "T-D1",
    "North 1 District",
    "T-D1-S1",
    "Elm 11 Street",
    "T-D1-S1-C2",
    "Oak 112 Community",
]
EMPTY = [""] * 8

ROWS = [
    ["id", "lat", "lon", "note"],
    ["1", "0.5", "2.5", "inside"],
    ["2", "1.5", "0.5", "inside, other district"],
    ["3", "5", "5", "outside the city"],
    ["4", "", "2.5", "blank latitude"],
    ["5", "abc", "2.5", "not a number"],
    ["6", "91", "2.5", "latitude out of range"],
    ["7", "0.5", "-181", "longitude out of range"],
    ["8", "nan", "inf", "not finite"],
    ["9", " 0.5 ", " 2.5 ", "spaces around numbers"],
    ["10", "0.5"],  # a short row: no longitude cell at all
]
EXPECTED = [
    ["id", "lat", "lon", "note", *ADDED],
    ["1", "0.5", "2.5", "inside", *D2_S1_C1],
    ["2", "1.5", "0.5", "inside, other district", *D1_S1_C2],
    ["3", "5", "5", "outside the city", *EMPTY],
    ["4", "", "2.5", "blank latitude", *EMPTY],
    ["5", "abc", "2.5", "not a number", *EMPTY],
    ["6", "91", "2.5", "latitude out of range", *EMPTY],
    ["7", "0.5", "-181", "longitude out of range", *EMPTY],
    ["8", "nan", "inf", "not finite", *EMPTY],
    ["9", " 0.5 ", " 2.5 ", "spaces around numbers", *D2_S1_C1],
    ["10", "0.5", "", "", *EMPTY],
]
STATS = {"rows": 10, "located": 3, "unlocated": 1, "bad_coordinates": 6}


def write_csv(path: Path, rows: list[list[str]], gz: bool = False) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return list(csv.reader(io.StringIO(raw.decode("utf-8"))))


def without_seconds(stats: dict[str, Any]) -> dict[str, Any]:
    assert stats["seconds"] >= 0
    return {k: v for k, v in stats.items() if k != "seconds"}


class TestLocateCsv:
    def test_adds_a_code_and_a_name_per_level(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", ROWS)
        stats = locate_csv(src, tmp_path / "out.csv", "lat", "lon")
        assert read_csv(tmp_path / "out.csv") == EXPECTED
        assert without_seconds(stats) == STATS

    def test_gzip_input_is_detected_by_its_bytes(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", ROWS, gz=True)  # gzipped, though named .csv
        locate_csv(src, tmp_path / "out.csv", "lat", "lon")
        assert (tmp_path / "out.csv").read_bytes()[:2] != b"\x1f\x8b"
        assert read_csv(tmp_path / "out.csv") == EXPECTED

    def test_gzip_output_when_the_name_ends_in_gz(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv.gz", ROWS, gz=True)
        stats = locate_csv(src, tmp_path / "out.csv.gz", "lat", "lon")
        assert (tmp_path / "out.csv.gz").read_bytes()[:2] == b"\x1f\x8b"
        assert read_csv(tmp_path / "out.csv.gz") == EXPECTED
        assert without_seconds(stats) == STATS

    def test_stdout_when_no_output_is_given(
        self, city: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        locate_csv(write_csv(tmp_path / "in.csv", ROWS), None, "lat", "lon")
        assert list(csv.reader(io.StringIO(capsys.readouterr().out))) == EXPECTED

    def test_chunks_do_not_change_the_result(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", ROWS)
        seen: list[str] = []
        stats = locate_csv(
            src, tmp_path / "out.csv", "lat", "lon", progress=seen.append, chunk_rows=3
        )
        assert read_csv(tmp_path / "out.csv") == EXPECTED
        assert without_seconds(stats) == STATS
        assert len(seen) == 4  # 3 + 3 + 3 + 1 rows

    def test_a_located_file_can_be_located_again(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", ROWS)
        locate_csv(src, tmp_path / "once.csv", "lat", "lon")
        locate_csv(tmp_path / "once.csv", tmp_path / "twice.csv", "lat", "lon")
        assert read_csv(tmp_path / "twice.csv") == read_csv(tmp_path / "once.csv")

    def test_overlay_levels_come_after_the_main_levels(self, city: Any, tmp_path: Path) -> None:
        with transaction.atomic():
            zone = geo_services.save_level(
                code="zone", rank=1, name_en="Zone", name_zh="片区", overlay=True
            )
            geo_services.save_jurisdiction(
                actor="test",
                code="T-Z1",
                level=zone,
                parent=city["T"],
                name_en="West",
                name_zh="西片",
                boundary=rect(0, 0, 1, 2),
            )
        src = write_csv(tmp_path / "in.csv", ROWS[:3])
        locate_csv(src, tmp_path / "out.csv", "lat", "lon")
        out = read_csv(tmp_path / "out.csv")
        assert out[0] == ["id", "lat", "lon", "note", *ADDED, "zone_code", "zone_name"]
        assert out[1][-2:] == ["", ""]  # lon 2.5 is not in the zone
        assert out[2][-2:] == ["T-Z1", "West"]

    def test_an_overlay_alone_counts_as_located(self, city: Any, tmp_path: Path) -> None:
        with transaction.atomic():
            zone = geo_services.save_level(
                code="zone", rank=1, name_en="Zone", name_zh="片区", overlay=True
            )
            geo_services.save_jurisdiction(
                actor="test",
                code="T-Z9",
                level=zone,
                parent=city["T"],
                name_en="Harbour",
                name_zh="港区",
                boundary=rect(4, 0, 5, 1),
            )
        src = write_csv(tmp_path / "in.csv", [["lat", "lon"], ["0.5", "4.5"]])
        stats = locate_csv(src, tmp_path / "out.csv", "lat", "lon")
        assert read_csv(tmp_path / "out.csv")[1] == ["0.5", "4.5", *EMPTY, "T-Z9", "Harbour"]
        assert stats["located"] == 1

    def test_missing_column_is_refused(self, city: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", ROWS)
        with pytest.raises(InvalidInput, match="latitude"):
            locate_csv(src, tmp_path / "out.csv", "latitude", "lon")
        assert not (tmp_path / "out.csv").exists()

    def test_empty_file_is_refused(self, city: Any, tmp_path: Path) -> None:
        (tmp_path / "in.csv").write_bytes(b"")
        with pytest.raises(InvalidInput, match="empty"):
            locate_csv(tmp_path / "in.csv", tmp_path / "out.csv", "lat", "lon")

    def test_no_boundaries_installed(self, db: Any, tmp_path: Path) -> None:
        src = write_csv(tmp_path / "in.csv", [["lat", "lon"], ["0.5", "2.5"]])
        stats = locate_csv(src, tmp_path / "out.csv", "lat", "lon")
        assert read_csv(tmp_path / "out.csv") == [["lat", "lon"], ["0.5", "2.5"]]
        assert without_seconds(stats) == {
            "rows": 1,
            "located": 0,
            "unlocated": 1,
            "bad_coordinates": 0,
        }
