"""``civitas eval locate-text`` on tiny made-up files in the Changsha formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from civitas.understanding.evaluation import InputError
from civitas.understanding.evaluation.locate_text import run
from civitas.understanding.places import read_places

STREETS = [
    # id, pid, deep, name, pinyin_prefix, pinyin, ext_id, ext_name
    ("9901", "99", "1", "枫亭", "f", "feng ting", "990100000000", "枫亭市"),
    ("990102", "9901", "2", "桐溪", "t", "tong xi", "990102000000", "桐溪区"),
    ("990102001", "990102", "3", "梓木", "z", "zi mu", "990102001000", "梓木街道"),
    ("990103", "9901", "2", "柳塘", "l", "liu tang", "990103000000", "柳塘县"),
    ("990103001", "990103", "3", "榕岗", "r", "rong gang", "990103001000", "榕岗街道"),
]
CODES = [("Q1", "990102", "桐溪区"), ("Q2", "990103", "柳塘县")]
MESSAGES = [
    # title, detail, district_guess
    ("Q市Q1区电梯坏了", "请尽快修理", "桐溪区"),  # agrees
    ("Q2县路灯不亮", "晚上很黑", "柳塘县"),  # agrees
    ("Q1区路堵车", "榕岗那边每天都堵", "桐溪区"),  # a road named after Q1; the street says Q2
    ("Q1区和Q2县之间的公路", "坑很多", "桐溪区;柳塘县"),  # two districts: no answer
    ("梓木小区停水", "三天了", ""),  # no guess, answered from the street
    ("天气很好", "没有地名", ""),  # no guess, no answer
]


def write(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "streets": write(
            tmp_path / "streets.csv",
            ["id", "pid", "deep", "name", "pinyin_prefix", "pinyin", "ext_id", "ext_name"],
            STREETS,
        ),
        "codes": write(tmp_path / "codes.csv", ["anon_code", "adcode", "district"], CODES),
        "test": write(
            tmp_path / "messages.csv",
            ["message_id", "title", "detail", "district_guess"],
            [(str(i), *m) for i, m in enumerate(MESSAGES)],
        ),
    }


class TestRun:
    def test_scores_against_district_guess_where_present(self, files: dict[str, Path]) -> None:
        result = run(**files)  # type: ignore[arg-type]
        assert result["n"] == 4
        assert result["answered"] == 3
        assert result["accuracy_when_answered"] == pytest.approx(2 / 3, abs=1e-4)
        assert result["rows"] == 6 and result["rows_without_guess"] == 2
        assert result["answered_without_guess"] == 1
        assert result["accuracy_single_guess"] == pytest.approx(2 / 3, abs=1e-4)
        assert sum(b["answered"] for b in result["by_confidence"].values()) == 3

    def test_an_answer_naming_one_of_several_guesses_agrees(
        self, files: dict[str, Path], tmp_path: Path
    ) -> None:
        test = write(
            tmp_path / "one.csv",
            ["title", "detail", "district_guess"],
            [("Q1区的学校", "Q1区教育局不管，Q2县就管", "桐溪区;柳塘县")],
        )
        result = run(test, files["streets"], files["codes"])
        assert (result["n"], result["answered"], result["accuracy_when_answered"]) == (1, 1, 1.0)

    def test_the_command_prints_json_on_its_last_line(self, files: dict[str, Path]) -> None:
        out = io.StringIO()
        call_command(
            "eval",
            "locate-text",
            "--test",
            str(files["test"]),
            "--streets",
            str(files["streets"]),
            "--codes",
            str(files["codes"]),
            stdout=out,
        )
        result = json.loads(out.getvalue().strip().splitlines()[-1])
        assert {"n", "answered", "accuracy_when_answered"} <= set(result)
        assert result["n"] == 4


class TestPlaces:
    def test_districts_get_their_codes_and_the_city_its_letter(
        self, files: dict[str, Path]
    ) -> None:
        places = {p.code: p for p in read_places(files["streets"], files["codes"])}
        assert places["990102"].aliases == ("Q1",)
        assert places["9901"].aliases == ("Q市",)
        assert places["990102001"].path == "/9901/990102/990102001/"
        assert (places["990103001"].rank, places["990103001"].level) == (2, "street")


class TestInputErrors:
    def test_a_missing_file(self, files: dict[str, Path], tmp_path: Path) -> None:
        with pytest.raises(InputError, match="no such file"):
            run(tmp_path / "nope.csv", files["streets"], files["codes"])

    def test_a_missing_column(self, files: dict[str, Path], tmp_path: Path) -> None:
        test = write(tmp_path / "t.csv", ["title", "detail"], [("a", "b")])
        with pytest.raises(InputError, match=r"missing column.*district_guess"):
            run(test, files["streets"], files["codes"])

    def test_an_unknown_district_in_the_guess(self, files: dict[str, Path], tmp_path: Path) -> None:
        test = write(
            tmp_path / "t.csv", ["title", "detail", "district_guess"], [("a", "b", "北区")]
        )
        with pytest.raises(InputError, match=r"t\.csv, line 2: district_guess names 北区"):
            run(test, files["streets"], files["codes"])

    def test_an_empty_test_file(self, files: dict[str, Path], tmp_path: Path) -> None:
        test = write(tmp_path / "t.csv", ["title", "detail", "district_guess"], [])
        with pytest.raises(InputError, match="no rows"):
            run(test, files["streets"], files["codes"])

    def test_a_code_for_no_district(self, files: dict[str, Path], tmp_path: Path) -> None:
        codes = write(tmp_path / "c.csv", ["anon_code", "adcode"], [("Q7", "990199")])
        with pytest.raises(InputError, match="990199 are not districts"):
            run(files["test"], files["streets"], codes)

    def test_a_street_without_its_parent(self, files: dict[str, Path], tmp_path: Path) -> None:
        rows = [*STREETS, ("990104001", "990104", "3", "x", "x", "x", "x", "孤街道")]
        streets = write(
            tmp_path / "s.csv",
            ["id", "pid", "deep", "name", "pinyin_prefix", "pinyin", "ext_id", "ext_name"],
            rows,
        )
        with pytest.raises(InputError, match=r"s\.csv, line 7: parent '990104'"):
            run(files["test"], streets, files["codes"])

    def test_the_command_reports_input_errors_without_a_traceback(
        self, files: dict[str, Path], tmp_path: Path
    ) -> None:
        with pytest.raises(CommandError, match="no such file"):
            call_command(
                "eval",
                "locate-text",
                "--test",
                str(tmp_path / "nope.csv"),
                "--streets",
                str(files["streets"]),
                "--codes",
                str(files["codes"]),
            )
