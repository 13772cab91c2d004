"""Find jurisdictions named in free text: Chinese and English names, aliases and codes.

Each hit carries a confidence. Full names and declared aliases score high; a Chinese name
with its administrative suffix removed ("芙蓉" for "芙蓉区") scores lower, because short
forms also occur in street and shop names. ``best()`` returns the most specific hit whose
ancestors do not contradict the other hits.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from civitas.geo.models import Jurisdiction

ZH_SUFFIXES = ("街道办事处", "街道", "社区", "新区", "区", "县", "市", "镇", "乡", "村")

FULL, ALIAS, CODE, SHORT = 0.95, 0.9, 0.9, 0.6


@dataclass(frozen=True)
class Mention:
    code: str
    name_en: str
    name_zh: str
    level: str
    rank: int
    path: str
    matched: str
    start: int
    confidence: float


@dataclass(frozen=True)
class _Term:
    code: str
    name_en: str
    name_zh: str
    level: str
    rank: int
    path: str
    confidence: float


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


class Gazetteer:
    def __init__(self, jurisdictions: list[Jurisdiction]) -> None:
        terms: dict[str, list[_Term]] = {}

        def add(term: str, j: Jurisdiction, confidence: float) -> None:
            term = term.strip()
            if len(term) < 2:
                return
            key = term.lower()
            bucket = terms.setdefault(key, [])
            if any(t.code == j.code for t in bucket):
                return
            bucket.append(
                _Term(j.code, j.name_en, j.name_zh, j.level.code, j.level.rank, j.path, confidence)
            )

        for j in jurisdictions:
            add(j.name_zh, j, FULL)
            add(j.name_en, j, FULL)
            for alias in j.aliases or []:
                add(str(alias), j, ALIAS)
            add(j.code, j, CODE)
            for suffix in ZH_SUFFIXES:
                if j.name_zh.endswith(suffix) and len(j.name_zh) - len(suffix) >= 2:
                    add(j.name_zh[: -len(suffix)], j, SHORT)
                    break
        self._terms = terms
        keys = sorted(terms, key=len, reverse=True)
        cjk = [re.escape(k) for k in keys if _is_cjk(k)]
        latin = [re.escape(k) for k in keys if not _is_cjk(k)]
        parts = []
        if cjk:
            parts.append("(?:" + "|".join(cjk) + ")")
        if latin:
            parts.append(r"(?<![A-Za-z0-9])(?:" + "|".join(latin) + r")(?![A-Za-z0-9])")
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def find(self, text: str) -> list[Mention]:
        """Every mention, longest match first at each position, highest confidence first."""
        if not self._pattern or not text:
            return []
        mentions: list[Mention] = []
        for m in self._pattern.finditer(text):
            for t in self._terms.get(m.group(0).lower(), []):
                mentions.append(
                    Mention(
                        t.code,
                        t.name_en,
                        t.name_zh,
                        t.level,
                        t.rank,
                        t.path,
                        m.group(0),
                        m.start(),
                        t.confidence,
                    )
                )
        return self._rescore(mentions)

    @staticmethod
    def _rescore(mentions: list[Mention]) -> list[Mention]:
        """Raise hits supported by a mention of an ancestor; lower ambiguous short names."""
        by_path = {m.path for m in mentions}
        per_term: dict[tuple[int, str], int] = {}
        for m in mentions:
            per_term[(m.start, m.matched)] = per_term.get((m.start, m.matched), 0) + 1
        out = []
        for m in mentions:
            conf = m.confidence
            if any(m.path.startswith(p) and p != m.path for p in by_path):
                conf = min(0.99, conf + 0.05 if conf >= ALIAS else conf + 0.25)
            ambiguity = per_term[(m.start, m.matched)]
            if ambiguity > 1:
                conf = conf / ambiguity
            out.append(Mention(**{**m.__dict__, "confidence": round(conf, 3)}))
        best: dict[str, Mention] = {}
        for m in out:
            if m.code not in best or m.confidence > best[m.code].confidence:
                best[m.code] = m
        return sorted(best.values(), key=lambda m: (-m.confidence, -m.rank, m.start))

    def best(self, text: str, min_confidence: float = 0.5) -> Mention | None:
        """The most specific mention consistent with the others (no contradicting branch)."""
        mentions = [m for m in self.find(text) if m.confidence >= min_confidence]
        if not mentions:
            return None
        top = max(m.confidence for m in mentions)
        candidates = [m for m in mentions if m.confidence >= top - 0.35]

        def support(m: Mention) -> float:
            return sum(o.confidence for o in candidates if m.path.startswith(o.path))

        return max(candidates, key=lambda m: (support(m), m.rank, m.confidence))


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], Gazetteer] | None = None


def gazetteer() -> Gazetteer:
    """The process-wide gazetteer, rebuilt when jurisdictions change."""
    global _cached
    from civitas.geo.locate import BoundaryIndex

    version = BoundaryIndex._db_version()
    with _lock:
        if _cached is None or _cached[0] != version:
            rows = list(Jurisdiction.objects.select_related("level"))
            _cached = (version, Gazetteer(rows))
        return _cached[1]
