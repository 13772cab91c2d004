"""The classification figures of docs/EVALUATION.md: 5-fold stratified cross-validation on
the 395 labelled Changsha messages, the baseline and the TextClassifier on identical folds.

    .venv/bin/python bench/classify_cv.py [--data ../shared/data] [--ablation] [--repeats N]
    .venv/bin/python bench/classify_cv.py --write-split DIR


Folds: ``StratifiedKFold(5, shuffle=True, random_state=0)`` over the rows in file order
(``--repeats 3`` adds random states 1 and 2 and reports their mean as well). Baseline:
character 1–2-gram TF-IDF and a linear SVM on title + detail (scikit-learn defaults).
The TextClassifier learns from the training folds, the unlabelled messages of
``messages_with_votes.csv`` and ``messages_with_replies.csv`` (rows whose message_id is in the
labelled file are dropped, and in each fold rows whose text equals a test text), and the
taxonomy's level-2 and level-3 names as seeds of their level-1 label.
``--ablation`` also runs it without the unlabelled messages, without seeds, with neither,
and with self-training. Progress goes to stderr; each configuration prints one JSON line.

``--write-split DIR`` instead writes a stratified 80/20 split of the labelled file
(``train.csv``, ``test.csv``; scikit-learn's ``train_test_split``, random_state 0) for
``civitas eval classify``, outside the repository.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

import _common as c
import numpy as np

FOLDS = 5


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def load(data: Path) -> dict[str, Any]:
    from civitas.understanding.textclass import join_text

    d = data / "changsha"
    labelled = rows(d / "messages_labelled.csv")
    ids = {r["message_id"] for r in labelled}
    others = rows(d / "messages_with_votes.csv") + rows(d / "messages_with_replies.csv")
    return {
        "texts": [join_text(r["title"], r["detail"]) for r in labelled],
        "labels": [r["label_l1"] for r in labelled],
        "unlabelled": [
            join_text(r["title"], r["detail"]) for r in others if r["message_id"] not in ids
        ],
        "seeds": taxonomy_seeds(d / "taxonomy_3level.csv"),
    }


def taxonomy_seeds(path: Path) -> dict[str, list[str]]:
    """Level-2 and level-3 names of the taxonomy, each once, under their level-1 label."""
    seeds: dict[str, list[str]] = {}
    for r in rows(path):
        names = seeds.setdefault(r["level1"], [])
        for name in (r["level3"], r["level2"]):
            if name and name not in names:
                names.append(name)
    return seeds


def baseline(texts: list[str], labels: list[str], random_state: int) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    from civitas.understanding.textclass import score

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=random_state)
    predicted = [""] * len(texts)
    per_fold = []
    for train, test in folds.split(texts, labels):
        model = make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 2)), LinearSVC(random_state=0)
        )
        model.fit([texts[i] for i in train], [labels[i] for i in train])
        pred = list(model.predict([texts[i] for i in test]))
        for i, lab in zip(test, pred, strict=True):
            predicted[i] = lab
        per_fold.append(score([labels[i] for i in test], pred))
    return {
        "accuracy": round(float(np.mean([f["accuracy"] for f in per_fold])), 4),
        "macro_f1": round(float(np.mean([f["macro_f1"] for f in per_fold])), 4),
        "folds_macro_f1": [f["macro_f1"] for f in per_fold],
        "per_class": score(labels, predicted)["per_class"],
    }


def write_split(data: Path, out: Path) -> None:
    from sklearn.model_selection import train_test_split

    source = data / "changsha" / "messages_labelled.csv"
    with source.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        labelled = list(reader)
    train, test = train_test_split(
        labelled,
        test_size=0.2,
        random_state=0,
        stratify=[r["label_l1"] for r in labelled],
    )
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", train), ("test.csv", test)):
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(part)
        print(f"{out / name}: {len(part)} rows", file=sys.stderr)


def main() -> None:
    argv = sys.argv[1:]
    if "--write-split" in argv:
        write_split(c.data_dir(), Path(argv[argv.index("--write-split") + 1]))
        return
    repeats = int(argv[argv.index("--repeats") + 1]) if "--repeats" in argv else 1
    data = c.data_dir()
    c.require(data / "changsha" / "messages_labelled.csv")
    from civitas.understanding.textclass import cross_validate, token_cache

    d = load(data)
    configs: dict[str, dict[str, Any]] = {
        "textclass": {"unlabelled": d["unlabelled"], "seeds": d["seeds"]},
    }
    if "--ablation" in argv:
        configs.update(
            {
                "textclass, no unlabelled": {"seeds": d["seeds"]},
                "textclass, no seeds": {"unlabelled": d["unlabelled"]},
                "textclass, labelled only": {},
                "textclass, self-training 0.9": {
                    "unlabelled": d["unlabelled"],
                    "seeds": d["seeds"],
                    "params": {"self_training": 0.9},
                },
                "textclass, self-training 0.7": {
                    "unlabelled": d["unlabelled"],
                    "seeds": d["seeds"],
                    "params": {"self_training": 0.7},
                },
            }
        )
    common = {
        "n": len(d["texts"]),
        "n_unlabelled": len(d["unlabelled"]),
        "n_seed_texts": sum(len(v) for v in d["seeds"].values()),
    }
    states = list(range(repeats))
    runs = {"baseline": lambda rs: baseline(d["texts"], d["labels"], rs)}
    for name, kwargs in configs.items():
        runs[name] = lambda rs, kw=kwargs: cross_validate(  # type: ignore[misc]
            d["texts"], d["labels"], folds=FOLDS, random_state=rs, progress=_fold, **kw
        )
    with token_cache():
        for name, fn in runs.items():
            results = []
            for rs in states:
                print(f"{name}, random_state={rs}", file=sys.stderr, flush=True)
                started = time.perf_counter()
                results.append(fn(rs))
                print(f"  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            figures = {"config": name, **common, **results[0]}
            if repeats > 1:
                figures["mean_over_random_states"] = {
                    "random_states": states,
                    "macro_f1": round(float(np.mean([r["macro_f1"] for r in results])), 4),
                    "accuracy": round(float(np.mean([r["accuracy"] for r in results])), 4),
                }
            c.emit("classify_cv", figures)


def _fold(fold: dict[str, Any]) -> None:
    print(f"  fold macro-F1 {fold['macro_f1']:.4f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
