"""A learned text classifier for appeals, in Chinese or English: title and detail in, a
label (a matter, or a level-1 category) with a calibrated confidence out.

Pure Python on scikit-learn and jieba, no database: training, cross-validation and
``civitas eval classify`` run on plain lists of texts. Nothing is loaded at import time;
jieba loads its dictionary (shipped inside its package) on the first tokenisation.

The text of an appeal is its title and detail joined by a newline (``join_text``); the first
line is read as the title. Features: TF-IDF character n-grams and jieba words, each over the
title alone and over the whole text, after removing digits and anonymised place codes such as
``A3区``; texts are cut at ``max_chars`` (1,000: cutting lost nothing in cross-validation
and bounds the time of one prediction). The model is a linear SVM with balanced class
weights; confidences come from sigmoid calibration over cross-validation folds
(``CalibratedClassifierCV``), or from a softmax of the SVM margins when some class has fewer
than two examples, and a single class is predicted with certainty.

``seeds`` (catalogue names and keywords per label) become extra training texts of low
weight. ``unlabelled`` texts always widen the vocabulary and the document frequencies; with
``self_training`` set to a probability, confident predictions on them are added as
pseudo-labelled examples (off by default: it did not help on the Changsha messages, see
docs/EVALUATION.md). A fitted classifier pickles with joblib.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

DEFAULTS: dict[str, Any] = {
    "char_ngrams": (1, 2),  # character n-gram range (Chinese characters carry meaning alone)
    "word_weight": 0.7,  # weight of the two jieba word blocks beside the character blocks
    "max_chars": 1000,  # longer texts are cut (bounds the time of one prediction); None: no cut
    "min_df": 1,  # a feature must occur in this many documents (labelled + unlabelled)
    "C": 1.0,  # SVM regularisation
    "class_weight": "balanced",
    "seed_weight": 0.5,  # weight of one seed text against one labelled text
    "seed_only_classes": False,  # may a label known only from seeds become a class?
    "self_training": None,  # None, or the confidence from which pseudo-labels are added
    "pseudo_weight": 0.5,  # weight of one pseudo-labelled text
    "calibration_folds": 3,
    "random_state": 0,
}

_NOISE = re.compile(r"[A-Za-z]\d*[市区县]|\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")
_NO_WORD = re.compile(r"[\W_]+")
_token_cache: dict[str, list[str]] | None = None


def join_text(title: str, detail: str) -> str:
    """The one text of an appeal: title, newline, detail."""
    return f"{(title or '').strip()}\n{(detail or '').strip()}"


def clean_text(text: str) -> str:
    """Lower case, without digits and anonymised codes (``A市``, ``A3区``) that name no matter."""
    return _NOISE.sub(" ", text.lower())


def clean_title(text: str) -> str:
    """The first line (the title), cleaned like the whole text."""
    return clean_text(text.split("\n", 1)[0])


def words(text: str) -> list[str]:
    """jieba's words (Chinese segmentation; Latin words as they are), without spaces and
    punctuation. Module-level so that a fitted vectoriser pickles."""
    if _token_cache is not None:
        hit = _token_cache.get(text)
        if hit is not None:
            return hit
    out = [w for w in _jieba().lcut(text) if not _NO_WORD.fullmatch(w)]
    if _token_cache is not None:
        _token_cache[text] = out
    return out


def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # silence "Building prefix dict..." on stderr
    return jieba


@contextlib.contextmanager
def token_cache() -> Iterator[None]:
    """Remember tokenisations while inside: cross-validation re-reads the same texts."""
    global _token_cache
    previous, _token_cache = _token_cache, ({} if _token_cache is None else _token_cache)
    try:
        yield
    finally:
        _token_cache = previous


def text_key(text: str) -> str:
    """Texts equal up to white space share a key (to keep test texts out of training)."""
    return _SPACE.sub("", text)


class TextClassifier:
    """Fit on labelled texts, predict labels with calibrated probabilities.

    ``classes_`` lists the labels in the column order of ``predict_proba``; ``summary``
    records what the model learned from (counts, parameters, library versions)."""

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        self.params: dict[str, Any] = {**DEFAULTS, **params}
        self.classes_: list[str] = []
        self.summary: dict[str, Any] = {}
        self._features: Any = None
        self._model: Any = None
        self._calibration = ""

    # -- training ---------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        unlabelled: Sequence[str] = (),
        seeds: Mapping[str, Sequence[str]] | None = None,
    ) -> TextClassifier:
        texts = [str(t or "") for t in texts]
        labels = [str(lab or "").strip() for lab in labels]
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if not texts:
            raise ValueError("no labelled texts to learn from")
        if not all(labels):
            raise ValueError(f"label missing for text {labels.index('') + 1}")
        p = self.params
        known = set(labels)
        seed_texts, seed_labels, ignored, ambiguous = _seed_examples(
            seeds or {}, known, bool(p["seed_only_classes"])
        )
        seen = {text_key(t) for t in texts}
        extra: list[str] = []
        for t in unlabelled:
            key = text_key(str(t or ""))
            if key and key not in seen:
                seen.add(key)
                extra.append(str(t))

        self._features = _feature_union(p)
        self._features.fit(self._cut(texts + seed_texts + extra))
        from scipy.sparse import vstack

        X = self._transform(texts + seed_texts)
        y = labels + seed_labels
        w = [1.0] * len(texts) + [float(p["seed_weight"])] * len(seed_texts)
        self._fit_model(X, y, np.asarray(w))

        n_pseudo = 0
        pseudo_counts: Counter[str] = Counter()
        if p["self_training"] is not None and extra and len(self.classes_) > 1:
            XU = self._transform(extra)
            proba = self._proba_matrix(XU)
            keep = np.flatnonzero(proba.max(axis=1) >= float(p["self_training"]))
            if len(keep):
                pseudo = [self.classes_[i] for i in proba[keep].argmax(axis=1)]
                pseudo_counts.update(pseudo)
                n_pseudo = len(keep)
                X = vstack([X, XU[keep]]).tocsr()
                y = y + pseudo
                w = w + [float(p["pseudo_weight"])] * n_pseudo
                self._fit_model(X, y, np.asarray(w))

        import jieba
        import scipy
        import sklearn

        self.summary = {
            "n_train": len(texts),
            "per_class": dict(sorted(Counter(labels).items())),
            "classes": list(self.classes_),
            "n_unlabelled": len(unlabelled),
            "n_unlabelled_used": len(extra),
            "n_pseudo_labelled": n_pseudo,
            "pseudo_per_class": dict(sorted(pseudo_counts.items())),
            "n_seed_texts": len(seed_texts),
            "seed_labels_ignored": ignored,
            "seed_texts_ambiguous": ambiguous,
            "n_features": int(X.shape[1]),
            "calibration": self._calibration,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()},
            "versions": {
                "python": platform.python_version(),
                "scikit-learn": sklearn.__version__,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "jieba": getattr(jieba, "__version__", "?"),
            },
        }
        return self

    def _fit_model(self, X: Any, y: list[str], weights: np.ndarray) -> None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import LinearSVC

        p = self.params
        counts = Counter(y)
        self.classes_ = sorted(counts)
        if len(counts) == 1:
            self._model, self._calibration = None, "single class"
            return
        svm = LinearSVC(
            C=p["C"],
            class_weight=p["class_weight"],
            max_iter=5000,
            random_state=p["random_state"],
        )
        folds = min(int(p["calibration_folds"]), min(counts.values()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=p["random_state"])
            model = CalibratedClassifierCV(svm, method="sigmoid", cv=cv)
            self._calibration = f"sigmoid, {folds}-fold"
        else:
            model, self._calibration = svm, "softmax of margins (too few examples to calibrate)"
        with _quiet_convergence():
            model.fit(X, np.asarray(y), sample_weight=weights)
        self._model = model

    # -- prediction -------------------------------------------------------------------------

    def _check(self) -> None:
        if not self.classes_:
            raise RuntimeError("the classifier is not fitted")

    def _cut(self, texts: list[str]) -> list[str]:
        limit = self.params.get("max_chars")
        return [t[:limit] for t in texts] if limit else texts

    def _transform(self, texts: list[str]) -> Any:
        """The FeatureUnion's transform without its joblib dispatch (a third of the time
        of one short text)."""
        from scipy.sparse import hstack

        texts = self._cut(texts)
        union = self._features
        weights = union.transformer_weights or {}
        blocks = []
        for name, vectoriser in union.transformer_list:
            block = vectoriser.transform(texts)
            w = weights.get(name, 1.0)
            blocks.append(block * w if w != 1.0 else block)
        return hstack(blocks, format="csr")

    def _proba_matrix(self, X: Any) -> np.ndarray:
        if self._model is None:
            return np.ones((X.shape[0], 1))
        if hasattr(self._model, "predict_proba"):
            return np.asarray(self._model.predict_proba(X))
        margins = np.asarray(self._model.decision_function(X), dtype=float)
        if margins.ndim == 1:
            margins = np.column_stack([-margins, margins])
        margins -= margins.max(axis=1, keepdims=True)
        e = np.exp(margins)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities; rows sum to 1, columns follow ``classes_``."""
        self._check()
        return self._proba_matrix(self._transform([str(t or "") for t in texts]))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text."""
        proba = self.predict_proba(texts)
        return [self.classes_[i] for i in proba.argmax(axis=1)]

    def top(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable labels of one text with their probabilities, best first."""
        row = self.predict_proba([text])[0]
        order = np.argsort(-row, kind="stable")[: max(k, 0)]
        return [(self.classes_[i], float(row[i])) for i in order]


def _seed_examples(
    seeds: Mapping[str, Sequence[str]], known: set[str], new_classes: bool
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Seed texts and their labels. Labels without labelled texts are ignored unless
    ``new_classes``; a text seeding several labels (a catalogue's "other") is dropped, since
    it cannot tell them apart. Also returns the ignored labels and the dropped texts."""
    owners: dict[str, set[str]] = {}
    for label, names in seeds.items():
        for name in names:
            text = str(name or "").strip()
            if text:
                owners.setdefault(text, set()).add(str(label).strip())
    texts: list[str] = []
    labels: list[str] = []
    ignored: set[str] = set()
    for text, owned in owners.items():
        if len(owned) > 1:
            continue
        (label,) = owned
        if not label:
            continue
        if label not in known and not new_classes:
            ignored.add(label)
            continue
        texts.append(text)
        labels.append(label)
    ambiguous = sorted(t for t, owned in owners.items() if len(owned) > 1)
    return texts, labels, sorted(ignored), ambiguous


def _feature_union(p: Mapping[str, Any]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    def chars(pre: Any) -> Any:
        return TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(p["char_ngrams"]),
            preprocessor=pre,
            min_df=p["min_df"],
            dtype=np.float32,
        )

    def jieba_words(pre: Any) -> Any:
        return TfidfVectorizer(
            tokenizer=words,
            preprocessor=pre,
            token_pattern=None,
            lowercase=False,
            min_df=p["min_df"],
            dtype=np.float32,
        )

    ww = float(p["word_weight"])
    return FeatureUnion(
        [
            ("title_chars", chars(clean_title)),
            ("text_chars", chars(clean_text)),
            ("title_words", jieba_words(clean_title)),
            ("text_words", jieba_words(clean_text)),
        ],
        transformer_weights={
            "title_chars": 1.0,
            "text_chars": 1.0,
            "title_words": ww,
            "text_words": ww,
        },
    )


@contextlib.contextmanager
def _quiet_convergence() -> Iterator[None]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# -- scoring ---------------------------------------------------------------------------------


def score(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision, recall, F1 and support (over the labels
    that occur in either list)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true, y_pred = [str(y) for y in y_true], [str(y) for y in y_pred]
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError("nothing to score")
    labels = sorted(set(y_true) | set(y_pred))
    prec, rec, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            label: {
                "precision": round(float(prec[i]), 4),
                "recall": round(float(rec[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
    }


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    unlabelled: Sequence[str] = (),
    seeds: Mapping[str, Sequence[str]] | None = None,
    random_state: int = 0,
    params: Mapping[str, Any] | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Stratified ``folds``-fold cross-validation: the mean accuracy and macro-F1 over the
    folds, and per-class figures over the pooled predictions (each text predicted once).

    Unlabelled texts equal (up to white space) to a text of the test fold are dropped for
    that fold, so no test text reaches training. ``progress`` is called with each fold's
    scores. The figures also carry ``folds_macro_f1`` (one per fold), the pooled figures and
    ``by_confidence`` (how many predictions reach a confidence, and how often they are right)."""
    from sklearn.model_selection import StratifiedKFold

    texts, labels = list(texts), [str(lab) for lab in labels]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    predicted: list[str] = [""] * len(texts)
    confidence = np.zeros(len(texts))
    per_fold: list[dict[str, Any]] = []
    keys = [text_key(t) for t in texts]
    with token_cache():
        for train, test in splitter.split(texts, labels):
            held = {keys[i] for i in test}
            unl = [u for u in unlabelled if text_key(u) not in held]
            model = TextClassifier(**dict(params or {})).fit(
                [texts[i] for i in train],
                [labels[i] for i in train],
                unlabelled=unl,
                seeds=seeds,
            )
            proba = model.predict_proba([texts[i] for i in test])
            pred = [model.classes_[j] for j in proba.argmax(axis=1)]
            for i, lab, p in zip(test, pred, proba.max(axis=1), strict=True):
                predicted[i], confidence[i] = lab, float(p)
            fold = score([labels[i] for i in test], pred)
            per_fold.append(fold)
            if progress is not None:
                progress(fold)
    pooled = score(labels, predicted)
    return {
        "accuracy": round(float(np.mean([f["accuracy"] for f in per_fold])), 4),
        "macro_f1": round(float(np.mean([f["macro_f1"] for f in per_fold])), 4),
        "folds_macro_f1": [f["macro_f1"] for f in per_fold],
        "per_class": pooled["per_class"],
        "pooled_accuracy": pooled["accuracy"],
        "pooled_macro_f1": pooled["macro_f1"],
        "by_confidence": by_confidence(labels, predicted, confidence.tolist()),
    }


def by_confidence(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    confidence: Sequence[float],
    thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
) -> list[dict[str, float]]:
    """For each threshold: the share of texts predicted with at least that confidence and
    the accuracy on them (the rest would go to a person)."""
    right = np.asarray([t == p for t, p in zip(y_true, y_pred, strict=True)])
    conf = np.asarray(confidence, dtype=float)
    out = []
    for t in thresholds:
        sure = conf >= t
        out.append(
            {
                "threshold": t,
                "answered": round(float(sure.mean()), 4) if len(conf) else 0.0,
                "accuracy_when_answered": round(float(right[sure].mean()), 4)
                if sure.any()
                else 0.0,
            }
        )
    return out
