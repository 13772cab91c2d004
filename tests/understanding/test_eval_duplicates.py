"""``civitas eval duplicates`` on tiny generated Boston-format files: the ground-truth rule,
the replay (what counts as an earlier open case), the command's JSON and its errors."""

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

from civitas.understanding.evaluation import duplicates as ev

COLUMNS = [
    "CASE_ENQUIRY_ID",
    "OPEN_DT",
    "CLOSED_DT",
    "CASE_STATUS",
    "CLOSURE_REASON",
    "CASE_TITLE",
    "REASON",
    "TYPE",
    "Location",
    "precinct",
    "ward",
    "LATITUDE",
    "LONGITUDE",
    "Source",
]
M = 1 / 111_195  # one metre in degrees of latitude
START = datetime(2015, 1, 5, 8, 0)
RESOLVED = "Case Closed Case Resolved"
DUPLICATE = "Case Closed Duplicate of Existing Case"


def when(at: datetime | None) -> str:
    return at.strftime(ev.DATE_FORMAT) if at else ""


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(
        self,
        at: datetime,
        closed: datetime | None,
        reason: str,
        lat: float | None,
        address: str,
        type_: str = "Graffiti Removal",
        lon: float = -71.06,
    ) -> None:
        self.rows.append(
            {
                "CASE_ENQUIRY_ID": str(101001000000 + len(self.rows)),
                "OPEN_DT": when(at),
                "CLOSED_DT": when(closed),
                "CASE_STATUS": "Closed" if closed else "Open",
                "CLOSURE_REASON": reason if closed else "",
                "CASE_TITLE": type_,
                "REASON": "Graffiti" if type_ == "Graffiti Removal" else "Street Lights",
                "TYPE": type_,
                "Location": address,
                "precinct": "503.0",
                "ward": "Ward 5",
                "LATITUDE": "" if lat is None else f"{lat:.6f}",
                "LONGITUDE": "" if lat is None else f"{lon:.6f}",
                "Source": "Citizens Connect App",
            }
        )

    def places(self, first_day: int, n: int) -> Rows:
        """At n places 1 km apart: a case; on even places a second report at the same address
        two hours later (closed as a duplicate); everywhere a different problem 250 m away."""
        for i in range(n):
            day = START + timedelta(days=first_day + i)
            lat = 42.30 + 0.01 * i
            self.add(day, day + timedelta(days=3), RESOLVED, lat, f"{i} Elm St  Boston  MA")
            if i % 2 == 0:
                at = day + timedelta(hours=2)
                self.add(at, at + timedelta(hours=1), DUPLICATE, lat, f"{i} Elm St  Boston  MA")
            at = day + timedelta(hours=3)
            self.add(at, at + timedelta(hours=5), RESOLVED, lat + 250 * M, f"{i} Oak St  Boston")
        return self

    def write(self, path: Path, columns: list[str] = COLUMNS) -> Path:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "wt", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows)
        return path


def run_command(train: Path, test: Path) -> dict[str, Any]:
    out = io.StringIO()
    call_command("eval", "duplicates", "--train", str(train), "--test", str(test), stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "note",
    [
        "Case Closed Duplicate of Existing Case",
        "Case Closed Case Noted  This request exists already; please follow case # 101001234567",
        "Case Closed Case Invalid dupilcate",
        "Case Closed Duplicate of Existing Case dupe",
        "Case Closed Case Resolved DUP",
        "Case Closed Case Noted case already in the system.",
    ],
)
def test_duplicate_wordings(note: str) -> None:
    assert ev.is_duplicate(note)


@pytest.mark.parametrize(
    "note",
    ["", RESOLVED, "Case Closed Case Resolved  already delivered", "Case Closed pickedup"],
)
def test_not_duplicate_wordings(note: str) -> None:
    assert not ev.is_duplicate(note)


def test_earlier_open_cases_only_and_never_the_records_own_closing(tmp_path: Path) -> None:
    rows = Rows()
    rows.add(START, START + timedelta(hours=1), RESOLVED, 42.3, "1 Elm St")  # closed in time
    rows.add(START + timedelta(hours=2), None, DUPLICATE, 42.3, "1 Elm St")
    rows.add(START + timedelta(hours=3), START + timedelta(minutes=1), DUPLICATE, 42.3, "1 Elm St")
    records = ev.read(str(rows.write(tmp_path / "t.csv")), test=True)
    ev.replay(records, ev.matter_rates([]))
    first, second, third = records
    assert first.pairs == [] and second.pairs == []  # the first closed before the second came
    # The third's own (odd) closing time is not looked at; the second is still open.
    assert len(third.pairs) == 1 and third.pairs[0].same_address
    assert third.label and not second.label and not first.label


def test_city_hall_means_no_location(tmp_path: Path) -> None:
    rows = Rows()
    rows.add(START, None, RESOLVED, 42.3594, "", lon=-71.0587)
    rows.add(START + timedelta(hours=1), None, DUPLICATE, 42.3594, "", lon=-71.0587)
    records = ev.read(str(rows.write(tmp_path / "t.csv")), test=True)
    assert records[0].case.lat is None and records[0].case.area == "p503"
    ev.replay(records, ev.matter_rates([]))
    # Without a point the same precinct still makes a candidate, known as such.
    assert records[1].pairs[0].metres is None and records[1].pairs[0].same_area


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_the_command_learns_on_train_and_scores_test(tmp_path: Path, suffix: str) -> None:
    train = Rows().places(0, 40).write(tmp_path / f"train{suffix}")
    test = Rows().places(60, 10)
    # Two duplicates nobody could find: no location at all, and an original closed before.
    day = START + timedelta(days=80)
    test.add(day, day + timedelta(hours=1), DUPLICATE, None, "")
    test.add(day, day + timedelta(hours=1), RESOLVED, 42.2, "9 Pine St")
    test.add(day + timedelta(hours=2), day + timedelta(hours=3), DUPLICATE, 42.2, "9 Pine St")
    result = run_command(train, test.write(tmp_path / f"test{suffix}"))
    assert result["n_test"] == 10 + 5 + 10 + 3
    assert result["n_test_duplicates"] == 5 + 2
    assert result["precision"] == 1.0
    assert result["recall"] == round(5 / 7, 4)
    assert result["f1"] == pytest.approx(2 * (5 / 7) / (1 + 5 / 7), abs=1e-4)
    # The old rule also flags each different problem 250 m away.
    assert result["baseline"]["precision"] == round(5 / 15, 4)
    assert result["baseline"]["recall"] == round(5 / 7, 4)
    assert result["model"]["weights"]["same_address"] > 0
    assert set(result["rule"]) >= {"precision", "recall", "f1", "weights", "threshold"}


def test_errors_name_the_file_row_and_field(tmp_path: Path) -> None:
    good = Rows().places(0, 4).write(tmp_path / "good.csv")
    with pytest.raises(CommandError, match=r"nowhere\.csv: no such file"):
        run_command(good, tmp_path / "nowhere.csv")
    no_closed = (
        Rows().places(0, 2).write(tmp_path / "cols.csv", [c for c in COLUMNS if c != "CLOSED_DT"])
    )
    with pytest.raises(CommandError, match=r"cols\.csv: missing column\(s\) CLOSED_DT"):
        run_command(good, no_closed)
    bad_date = Rows().places(0, 2)
    bad_date.rows[1]["OPEN_DT"] = "5th of January"
    with pytest.raises(CommandError, match=r"dates\.csv, row 2: OPEN_DT '5th of January'"):
        run_command(good, bad_date.write(tmp_path / "dates.csv"))
    bad_point = Rows().places(0, 2)
    bad_point.rows[0]["LATITUDE"] = "north"
    with pytest.raises(CommandError, match=r"points\.csv, row 1: LATITUDE 'north' is not a number"):
        run_command(good, bad_point.write(tmp_path / "points.csv"))
    no_type = Rows().places(0, 2)
    no_type.rows[2]["TYPE"] = ""
    with pytest.raises(CommandError, match=r"types\.csv, row 3: TYPE is empty"):
        run_command(good, no_type.write(tmp_path / "types.csv"))
    empty = Rows().write(tmp_path / "empty.csv")
    with pytest.raises(CommandError, match=r"empty\.csv: no records"):
        run_command(good, empty)


def test_training_needs_both_kinds_of_record(tmp_path: Path) -> None:
    rows = Rows().places(0, 6)
    for r in rows.rows:
        r["CLOSURE_REASON"] = RESOLVED
    train = rows.write(tmp_path / "train.csv")
    with pytest.raises(CommandError, match="some marked duplicate in CLOSURE_REASON"):
        run_command(train, Rows().places(10, 2).write(tmp_path / "test.csv"))


def test_threshold_maximises_f1_between_scores() -> None:
    labels = [True, True, False, True, False, False]
    scores = [0.9, 0.8, 0.7, 0.6, 0.2, 0.1]
    # Flagging the top two: F1 0.8; the top four: F1 0.857 (best); all: 0.667.
    assert ev.best_threshold(labels, scores) == pytest.approx(0.4)
    assert ev.best_threshold([False, False], [0.5, 0.1]) == 1.0
    assert ev.scores_f1([True, False, True], [True, True, False]) == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
    }
