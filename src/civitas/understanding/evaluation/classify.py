"""``civitas eval classify --train FILE --test FILE [--unlabelled FILE ...]``.

CSV files in the format of the Changsha messages (``title``, ``detail``, ``label_l1``; other
columns may be absent; unlabelled files need no ``label_l1``). Trains a ``TextClassifier``
on the training file (the unlabelled files widen its vocabulary), predicts ``label_l1`` for
every test row and scores the predictions; beside them, under ``baseline``, the accuracy and
macro-F1 of character 1–2-gram TF-IDF with a linear SVM trained on the same file.
Unlabelled rows whose text equals a test text are dropped first, so no test message reaches
training by that door."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from civitas.understanding.evaluation import InputError, read_rows
from civitas.understanding.textclass import TextClassifier, join_text, score, text_key

TEXT_COLUMNS = ("title", "detail")
LABEL = "label_l1"


def run(train: str, test: str, unlabelled: Sequence[str] = ()) -> dict[str, Any]:
    started = time.perf_counter()
    train_texts, train_labels = read_labelled(train)
    test_texts, test_labels = read_labelled(test)
    _progress(f"read {len(train_texts)} training and {len(test_texts)} test rows")
    held = {text_key(t) for t in test_texts}
    extra: list[str] = []
    dropped = 0
    for path in unlabelled:
        texts = read_texts(path)
        kept = [t for t in texts if text_key(t) not in held]
        dropped += len(texts) - len(kept)
        extra.extend(kept)
        _progress(f"read {len(texts)} unlabelled rows from {path}")
    if dropped:
        _progress(f"left out {dropped} unlabelled rows equal to a test row")
    _progress("training")
    model = TextClassifier().fit(train_texts, train_labels, unlabelled=extra)
    _progress(f"trained ({model.summary['calibration']}); predicting")
    predicted = model.predict(test_texts)
    scores = score(test_labels, predicted)
    base = score(test_labels, baseline(train_texts, train_labels, test_texts))
    _progress(f"done in {time.perf_counter() - started:.1f} s")
    return {
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "n_unlabelled": len(extra),
        **scores,
        "baseline": {"accuracy": base["accuracy"], "macro_f1": base["macro_f1"]},
    }


def baseline(train_texts: list[str], train_labels: list[str], test_texts: list[str]) -> list[str]:
    """The issue's baseline for comparison: character 1–2-gram TF-IDF and a linear SVM."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if len(set(train_labels)) < 2:
        return [train_labels[0]] * len(test_texts)
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 2)), LinearSVC(random_state=0)
    )
    model.fit(train_texts, train_labels)
    return [str(p) for p in model.predict(test_texts)]


def read_labelled(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts (title and detail joined) and labels; every row needs a label and some text."""
    texts: list[str] = []
    labels: list[str] = []
    for n, row in enumerate(read_rows(path, (*TEXT_COLUMNS, LABEL)), start=1):
        label = (row.get(LABEL) or "").strip()
        if not label:
            raise InputError(f"{path}, row {n}: {LABEL} is empty; every row needs a label")
        texts.append(_text(path, n, row))
        labels.append(label)
    if not texts:
        raise InputError(f"{path}: no rows after the header")
    return texts, labels


def read_texts(path: str | Path) -> list[str]:
    """Texts of an unlabelled file; rows without any text are skipped."""
    out = []
    for row in read_rows(path, TEXT_COLUMNS):
        title, detail = (row.get("title") or "").strip(), (row.get("detail") or "").strip()
        if title or detail:
            out.append(join_text(title, detail))
    if not out:
        raise InputError(f"{path}: no rows with a title or detail")
    return out


def _text(path: str | Path, n: int, row: dict[str, str]) -> str:
    title, detail = (row.get("title") or "").strip(), (row.get("detail") or "").strip()
    if not title and not detail:
        raise InputError(f"{path}, row {n}: title and detail are both empty")
    return join_text(title, detail)


def _progress(message: str) -> None:
    print(f"classify: {message}", file=sys.stderr, flush=True)
