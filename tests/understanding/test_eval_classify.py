"""``civitas eval classify`` on small generated CSV files: the JSON it prints, the unlabelled
files, and the clear errors for unusable files."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

WORDS = {
    "交通运输": ["公交车", "红绿灯", "道路拥堵", "停车位", "地铁站", "出租车"],
    "教育文体": ["学校", "老师", "学生", "补课费", "幼儿园", "体育馆"],
    "环境保护": ["噪音", "污水", "垃圾焚烧", "油烟", "空气污染", "河道"],
}
FILLER = ["A市", "A3区", "小区", "附近", "请求", "有关部门", "尽快处理", "反映", "居民", "问题"]


def messages(per_class: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for label, words in WORDS.items():
        for i in range(per_class):
            title = rng.choice(FILLER) + rng.choice(words) + rng.choice(FILLER)
            detail = "".join(
                rng.choice(words) if rng.random() < 0.4 else rng.choice(FILLER) for _ in range(12)
            )
            out.append(
                {
                    "message_id": f"{seed}-{label}-{i}",
                    "title": title,
                    "detail": detail,
                    "label_l1": label,
                }
            )
    return out


def write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(rows[0])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8")))
    else:
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("eval", "classify", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_trains_predicts_and_prints_the_scores_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write(tmp_path / "train.csv.gz", messages(10, seed=1))
    test_rows = messages(5, seed=2)
    test = write(tmp_path / "test.csv", test_rows, ["title", "detail", "label_l1"])
    result = run("--train", str(train), "--test", str(test))
    assert set(result) == {
        "n_train",
        "n_test",
        "n_unlabelled",
        "accuracy",
        "macro_f1",
        "per_class",
        "baseline",
    }
    assert set(result["baseline"]) == {"accuracy", "macro_f1"}
    assert (result["n_train"], result["n_test"], result["n_unlabelled"]) == (30, 15, 0)
    assert result["accuracy"] >= 0.9 and result["macro_f1"] >= 0.9
    assert set(result["per_class"]) == set(WORDS)
    assert result["per_class"]["教育文体"]["support"] == 5
    assert set(result["per_class"]["教育文体"]) == {"precision", "recall", "f1", "support"}
    assert "classify: training" in capsys.readouterr().err


def test_unlabelled_files_are_used_without_the_test_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write(tmp_path / "train.csv", messages(6, seed=3))
    test_rows = messages(4, seed=4)
    test = write(tmp_path / "test.csv", test_rows)
    others = messages(10, seed=5)
    u1 = write(tmp_path / "u1.csv", others, ["message_id", "title", "detail"])
    u2 = write(
        tmp_path / "u2.csv", [*test_rows[:3], {"title": "", "detail": ""}], ["title", "detail"]
    )
    result = run("--train", str(train), "--test", str(test), "--unlabelled", str(u1), str(u2))
    assert result["n_unlabelled"] == 30  # u2 holds only test messages and an empty row
    assert "left out 3 unlabelled rows equal to a test row" in capsys.readouterr().err
    assert result["accuracy"] >= 0.9


def test_a_test_label_unknown_to_training_scores_zero_for_that_label(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", messages(6, seed=6))
    test = write(
        tmp_path / "test.csv",
        [
            *messages(2, seed=7),
            {"title": "低保申请", "detail": "低保", "label_l1": "民政"},
        ],
    )
    result = run("--train", str(train), "--test", str(test))
    assert result["per_class"]["民政"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", messages(3, seed=8), ["title", "detail"])
    test = write(tmp_path / "test.csv", messages(2, seed=9))
    with pytest.raises(CommandError, match=r"train\.csv: missing column\(s\) label_l1"):
        run("--train", str(train), "--test", str(test))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    test = write(tmp_path / "test.csv", messages(2, seed=10))
    with pytest.raises(CommandError, match=r"nowhere\.csv: no such file"):
        run("--train", str(tmp_path / "nowhere.csv"), "--test", str(test))
    train = write(tmp_path / "train.csv", messages(3, seed=11))
    with pytest.raises(CommandError, match=r"gone\.csv: no such file"):
        run("--train", str(train), "--test", str(test), "--unlabelled", str(tmp_path / "gone.csv"))


def test_an_empty_label_names_the_row(tmp_path: Path) -> None:
    rows = messages(3, seed=12)
    rows[2]["label_l1"] = " "
    train = write(tmp_path / "train.csv", rows)
    test = write(tmp_path / "test.csv", messages(2, seed=13))
    with pytest.raises(CommandError, match=r"train\.csv, row 3: label_l1 is empty"):
        run("--train", str(train), "--test", str(test))


def test_empty_files_are_refused(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", messages(3, seed=14))
    header_only = tmp_path / "test.csv"
    header_only.write_text("title,detail,label_l1\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"test\.csv: no rows after the header"):
        run("--train", str(train), "--test", str(header_only))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match=r"empty\.csv: missing column"):
        run("--train", str(train), "--test", str(empty))


def test_a_row_without_text_names_the_row(tmp_path: Path) -> None:
    rows = messages(2, seed=15)
    rows[1]["title"] = rows[1]["detail"] = ""
    train = write(tmp_path / "train.csv", messages(3, seed=16))
    test = write(tmp_path / "test.csv", rows)
    with pytest.raises(CommandError, match=r"test\.csv, row 2: title and detail are both empty"):
        run("--train", str(train), "--test", str(test))
