"""Triage: locate, classify by the catalogue's keywords, set urgency.

Each step is a plain function ``step(appeal) -> None`` that fills fields of an appeal being
received. The steps run in the order of ``settings.CIVITAS_TRIAGE_STEPS`` (dotted paths); the
settings put the learned classifier (which falls back to the keyword rules here) and the
duplicate finder of ``civitas.understanding`` in the chain.
"""

from __future__ import annotations

import re
import threading

from django.conf import settings
from django.db.models import Max
from django.utils.module_loading import import_string

from civitas.appeals.models import Appeal, LocateMethod
from civitas.geo.gazetteer import gazetteer
from civitas.geo.locate import locate
from civitas.geo.models import Jurisdiction
from civitas.matters.models import Matter, Urgency

DEFAULT_STEPS = [
    "civitas.appeals.triage.locate_step",
    "civitas.appeals.triage.keyword_classifier",
    "civitas.appeals.triage.urgency_step",
]

URGENT_WORDS = (
    "fire",
    "smoke",
    "gas leak",
    "flood",
    "collapse",
    "injured",
    "bleeding",
    "trapped",
    "electrocut",
    "explosion",
    "burst",
    "着火",
    "火灾",
    "冒烟",
    "燃气泄漏",
    "煤气泄漏",
    "漏气",
    "倒塌",
    "受伤",
    "流血",
    "被困",
    "触电",
    "爆炸",
    "爆管",
    "淹水",
    "内涝",
)


def steps() -> list[str]:
    return list(getattr(settings, "CIVITAS_TRIAGE_STEPS", DEFAULT_STEPS))


def run(appeal: Appeal) -> None:
    for path in steps():
        import_string(path)(appeal)


def _set_place(appeal: Appeal, j: Jurisdiction | None, method: str, confidence: float) -> None:
    appeal.jurisdiction = j
    appeal.jurisdiction_path = j.path if j else f"/{appeal.city}/"
    appeal.locate_method = method if j else LocateMethod.NONE
    appeal.locate_confidence = confidence if j else None


def locate_step(appeal: Appeal) -> None:
    """A place given by code or set by a dispatcher stands; otherwise coordinates first, then
    the address, then the text, through the gazetteer."""
    if appeal.jurisdiction_id and appeal.locate_method in (
        LocateMethod.MANUAL,
        LocateMethod.ADDRESS,
    ):
        return
    if appeal.lat is not None and appeal.lon is not None:
        hit = locate(appeal.lat, appeal.lon)
        if hit is not None and hit.jurisdiction.path.startswith(f"/{appeal.city}/"):
            j = Jurisdiction.objects.get(pk=hit.jurisdiction.id)
            _set_place(appeal, j, LocateMethod.POINT, 1.0)
            return
    g = gazetteer()
    for text, method in (
        (appeal.address, LocateMethod.ADDRESS),
        (f"{appeal.title} {appeal.text}", LocateMethod.TEXT),
    ):
        if not text.strip():
            continue
        best = g.best(text)
        if best is not None and best.path.startswith(f"/{appeal.city}/"):
            j = Jurisdiction.objects.get(code=best.code)
            _set_place(appeal, j, method, best.confidence)
            return
    _set_place(appeal, None, LocateMethod.NONE, 0.0)


class _KeywordIndex:
    def __init__(self, catalogue: str) -> None:
        self.entries: list[tuple[int, re.Pattern[str], int]] = []
        leaves = Matter.objects.filter(catalogue=catalogue, active=True, children__isnull=True)
        for m in leaves:
            for kw in m.keywords or []:
                kw = str(kw).strip()
                if len(kw) < 2:
                    continue
                if any("\u4e00" <= ch <= "\u9fff" for ch in kw):
                    pattern = re.compile(re.escape(kw))
                else:
                    pattern = re.compile(rf"(?<![A-Za-z]){re.escape(kw)}", re.IGNORECASE)
                self.entries.append((m.pk, pattern, len(kw)))

    def scores(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for pk, pattern, weight in self.entries:
            if pattern.search(text):
                out[pk] = out.get(pk, 0.0) + weight
        return out


_index_lock = threading.Lock()
_indexes: dict[str, tuple[object, _KeywordIndex]] = {}


def _keyword_index(catalogue: str) -> _KeywordIndex:
    version = Matter.objects.filter(catalogue=catalogue).aggregate(v=Max("updated_at"))["v"]
    with _index_lock:
        cached = _indexes.get(catalogue)
        if cached is None or cached[0] != version:
            cached = (version, _KeywordIndex(catalogue))
            _indexes[catalogue] = cached
        return cached[1]


def keyword_classifier(appeal: Appeal) -> None:
    """The catalogue's keyword rules: the leaf whose keywords cover most of the text wins.

    Confidence is the winner's share of all matched weight, so a text matching two matters
    equally scores 0.5 and goes to a person."""
    if appeal.matter_id and appeal.matter_method in ("resident", "staff"):
        return
    scores = _keyword_index(appeal.city).scores(f"{appeal.title}\n{appeal.text}")
    if not scores:
        return
    best = max(scores, key=lambda k: (scores[k], -k))
    appeal.matter = Matter.objects.get(pk=best)
    appeal.matter_confidence = round(scores[best] / sum(scores.values()), 3)
    appeal.matter_method = "keywords"


def urgency_step(appeal: Appeal) -> None:
    if appeal.matter is not None and appeal.urgency == Urgency.NORMAL:
        appeal.urgency = appeal.matter.urgency_default
    text = f"{appeal.title} {appeal.text}".lower()
    if any(word in text for word in URGENT_WORDS):
        appeal.urgency = Urgency.URGENT
