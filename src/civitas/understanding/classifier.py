"""The learned matter classifier in the product: training from confirmed appeals, the triage step.

Training data for a city:
- **labelled**: appeals whose matter a person confirmed — chosen by the resident or by staff
  (a dispatcher's correction sets ``matter_method="staff"``), or a case a unit handled to the end
  without anyone changing its matter (closed, not a duplicate);
- **seeds**: each leaf matter's names and keywords in both languages, with its parents' names;
- **unlabelled**: recent appeals nobody confirmed, for self-training.

Prediction runs as a triage step. Without a model, or when the model file is missing or damaged,
the catalogue's keyword rules classify instead and the problem is logged; intake never fails
because of a model.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from civitas.appeals import triage
from civitas.appeals.models import Appeal, Event, Status
from civitas.kit import clock
from civitas.matters.models import Matter
from civitas.understanding import store
from civitas.understanding.models import ModelKind, ModelVersion

log = logging.getLogger(__name__)

KIND = ModelKind.CLASSIFIER
CONFIRMED_METHODS = ("resident", "staff")
MAX_UNLABELLED = 5000
CV_MIN_PER_CLASS = 2


def text_of(title: str, text: str) -> str:
    """The classifier's input, the same in training and prediction. An appeal without a
    title lends its text's first line to the title block (most appeals have none; the
    catalogue's seed texts are titles alone)."""
    from civitas.understanding.textclass import join_text

    return join_text(title.strip() or text.strip().split("\n", 1)[0][:200], text)


def appeal_text(appeal: Appeal) -> str:
    return text_of(appeal.title, appeal.text)


def confirmed_q() -> Q:
    handled = Q(status=Status.CLOSED, duplicate_of__isnull=True, resolved_at__isnull=False)
    return Q(matter__isnull=False) & (Q(matter_method__in=CONFIRMED_METHODS) | handled)


def seeds(city: str) -> dict[str, list[str]]:
    matters = list(Matter.objects.filter(catalogue=city))
    by_code = {m.code: m for m in matters}
    leaves = Matter.objects.filter(catalogue=city, active=True, children__isnull=True)
    out: dict[str, list[str]] = {}
    for m in leaves:
        texts = [m.name_zh, m.name_en, *[str(k) for k in m.keywords or []]]
        # Parents' names only beside the leaf's own: alone they would teach nothing but
        # confusion, being shared by all the leaves below them.
        parents = [by_code[c] for c in m.path.strip("/").split("/")[:-1] if c in by_code]
        texts.append(" ".join([*(p.name_zh for p in parents), m.name_zh]))
        texts.append(" ".join([*(p.name_en for p in parents), m.name_en]))
        out[m.code] = [t for t in texts if t and t.strip()]
    return out


def confirmed(city: str) -> Any:
    """The appeals of a city that train the classifier (matters still in the catalogue)."""
    return Appeal.objects.filter(confirmed_q(), city=city, matter__active=True)


def training_data(city: str) -> dict[str, Any]:
    labelled = list(
        confirmed(city)
        .values_list("title", "text", "matter__code", "matter_method")
        .order_by("received_at")
    )
    unlabelled = list(
        Appeal.objects.filter(city=city)
        .exclude(confirmed_q())
        .order_by("-received_at")
        .values_list("title", "text")[:MAX_UNLABELLED]
    )
    corrections = Event.objects.filter(appeal__city=city, action="reclassify").count()
    return {
        "texts": [text_of(t, x) for t, x, _c, _m in labelled],
        "labels": [c for _t, _x, c, _m in labelled],
        "unlabelled": [text_of(t, x) for t, x in unlabelled],
        "seeds": seeds(city),
        "methods": dict(Counter(m or "handled" for _t, _x, _c, m in labelled)),
        "corrections": corrections,
    }


def train(*, city: str, by: Any, activate: bool | None = None) -> ModelVersion:
    """Train on the city's confirmed appeals, score by cross-validation, store a new version.

    ``activate=None`` activates the new version unless it scores clearly worse than the
    active one (macro-F1 lower by more than 0.02); the new version is kept either way."""
    from civitas.kit.errors import InvalidInput
    from civitas.understanding import textclass

    data = training_data(city)
    if not data["seeds"]:
        raise InvalidInput(
            _("the catalogue of %(city)s has no active matters to learn; import its city pack")
            % {"city": city}
        )
    if data["texts"]:
        # Every leaf of the catalogue is a class, also one nobody has confirmed yet: its
        # names and keywords are its only examples until appeals arrive.
        clf = textclass.TextClassifier(seed_only_classes=True).fit(
            data["texts"], data["labels"], unlabelled=data["unlabelled"], seeds=data["seeds"]
        )
    else:  # a new city: the catalogue's names and keywords are all there is to learn from
        pairs = [(text, code) for code, texts in data["seeds"].items() for text in texts]
        clf = textclass.TextClassifier().fit([t for t, _c in pairs], [c for _t, c in pairs])
    counts = Counter(data["labels"])
    scores: dict[str, Any] = {}
    cv_labels = [label for label in data["labels"] if counts[label] >= CV_MIN_PER_CLASS]
    if len(set(cv_labels)) >= 2:
        keep = [i for i, label in enumerate(data["labels"]) if counts[label] >= CV_MIN_PER_CLASS]
        folds = max(2, min(5, min(counts[data["labels"][i]] for i in keep)))
        cv = textclass.cross_validate(
            [data["texts"][i] for i in keep],
            [data["labels"][i] for i in keep],
            folds=folds,
            seeds=data["seeds"],
        )
        scores = {
            "protocol": f"{folds}-fold cross-validation on confirmed appeals",
            "accuracy": round(cv["accuracy"], 4),
            "macro_f1": round(cv["macro_f1"], 4),
            "per_class": cv["per_class"],
        }
    summary = {
        "n_train": len(data["texts"]),
        "n_unlabelled": len(data["unlabelled"]),
        "n_classes": len(counts),
        "n_seed_matters": len(data["seeds"]),
        "confirmed_by": data["methods"],
        "corrections": data["corrections"],
        "per_class": dict(counts.most_common()),
        "trained_at": clock.now().isoformat(),
        "model": getattr(clf, "summary", {}),
    }
    return store.save(
        kind=KIND,
        city=city,
        obj=clf,
        summary=summary,
        scores=scores,
        by=by,
        activate=activate,
        metric="macro_f1",
    )


def min_confidence() -> float:
    return float(getattr(settings, "CIVITAS_TRIAGE_MIN_CONFIDENCE", 0.6))


def classify_step(appeal: Appeal) -> None:
    """Triage step: the active model's matter with its confidence, else the keyword rules.

    When the model is unsure (below ``CIVITAS_TRIAGE_MIN_CONFIDENCE``) and the keyword rules
    are sure of a matter, the rules' answer stands: a young model learned mostly from the
    catalogue should not send to a person what the keywords settle."""
    if appeal.matter_id and appeal.matter_method in CONFIRMED_METHODS:
        return
    try:
        loaded = store.load(KIND, appeal.city)
    except store.ModelUnavailable as exc:
        log.error("classifier unavailable, keyword rules used: %s", exc)
        loaded = None
    if loaded is None:
        triage.keyword_classifier(appeal)
        return
    mv, clf = loaded
    ranked = clf.top(appeal_text(appeal), k=3)
    leaves = {
        m.code: m
        for m in Matter.objects.filter(
            catalogue=appeal.city, active=True, code__in=[code for code, _p in ranked]
        )
    }
    usable = [(code, p) for code, p in ranked if code in leaves]
    if not usable:
        triage.keyword_classifier(appeal)
        return
    code, p = usable[0]
    notes = {"model": mv.label, "alternatives": [[c, round(float(q), 3)] for c, q in usable[1:]]}
    if p < min_confidence():
        triage.keyword_classifier(appeal)
        if (
            appeal.matter_method == "keywords"
            and (appeal.matter_confidence or 0) >= min_confidence()
        ):
            appeal.triage_notes = {**notes, "model_said": [code, round(float(p), 3)]}  # type: ignore[attr-defined]
            return
    appeal.matter = leaves[code]
    appeal.matter_confidence = round(float(p), 3)
    appeal.matter_method = "model"
    appeal.matter_model = mv.label
    appeal.triage_notes = notes  # type: ignore[attr-defined]
