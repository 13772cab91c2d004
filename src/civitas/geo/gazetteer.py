"""Find jurisdictions named in free text: Chinese and English names, aliases and codes.

The gazetteer is built from plain :class:`Place` entries, so it works on files as well as on
the database (``Gazetteer.from_jurisdictions`` builds it from ``Jurisdiction`` rows;
``gazetteer()`` is the process-wide one, rebuilt when jurisdictions change).

Each hit carries a confidence. Full names score highest, then declared aliases and codes. A
Chinese name without its administrative suffix ("星沙" for "星沙街道") scores lower, and much
lower when it is also a common word ("路口" for 路口镇, "先锋" for 先锋街道; jieba's
dictionary says which words are common, and the city's own name is exempt): such a hit
counts only when its district is named too. A short form whose two ends belong to common
words on either side ("资福" in "工资福利") is no hit. A code-like alias ("A3") is a place
when an administrative suffix follows it ("A3区", "A7县"), but not before a building word
("A6栋"), and only with support before a road or river ("A1区路", an anonymised 芙蓉路 that
crosses several districts).

A hit gains confidence when one of its ancestors (other than the root, which every text of a
city tends to name) is mentioned elsewhere in the text; a name shared by several places is
shared out between them unless the text names the ancestor of just one of them (a street
name found in two districts is settled by naming the district). A name read both as a place
and as one of its ancestors (长沙 for 长沙市 and 长沙县) keeps its confidence for the
ancestor, which is right either way. A text that names a coded unit the gazetteer does not
know ("K11县") and not the root is probably about another city: its unsupported short forms
count half.

``best()`` returns the most specific answer supported by the other hits. When two branches
are named with comparable weight it answers with their lowest common ancestor (a text naming
two districts is placed in the city); a weaker contradicting branch lowers the confidence.
The figures behind these rules are in docs/EVALUATION.md ("Places in text").
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from civitas.geo.models import Jurisdiction

# Administrative suffixes, longest first; one is removed to make a short form.
ZH_SUFFIXES = ("街道办事处", "街道", "社区", "新区", "区", "县", "市", "镇", "乡", "村")

FULL, ALIAS, CODE, SHORT = 0.95, 0.9, 0.9, 0.6
# A short form that is also a common word is believed only with support (0.3 + 0.25 > 0.5).
COMMON = 0.3
# A word is common when jieba's dictionary counts it at least this often.
COMMON_FREQ = 100
# A code-like alias ("A2") that no administrative suffix follows.
BARE_CODE = 0.6
# What a mention of an ancestor (not the root) adds: to strong hits, and to weaker ones.
SUPPORT_STRONG, SUPPORT_SHORT = 0.05, 0.25
# The factor for unsupported short forms in a text about another city.
ELSEWHERE = 0.5
# best(): a rival branch carrying at least this share of the weight makes the answer contested.
CONTESTED = 0.45

_CODE_LIKE = re.compile(r"^[A-Za-z]{1,3}\d{1,3}$")
# After a code-like alias: an administrative suffix makes it a place ...
_ADMIN_AFTER = re.compile(r"(?:街道|区|县|市|镇|乡)")
# ... unless a road or river follows, named after the place and often outside it ("A1区路",
# "A9市河" where the real names were 芙蓉路 and 浏阳河; "A4区路灯管理所" is the district's);
_ROAD_AFTER = re.compile(r"(?:[东南西北中]?路(?![灯政])|河(?![东西])|大桥)")
# ... and a building or sheet word makes it something else ("A6栋", "A4纸").
_NOT_PLACE_AFTER = re.compile(r"(?:栋|幢|座|号|楼|室|层|户|单元|期|纸|型|款|#)")
# A coded administrative unit ("K11县", "B市"); "E区" without digits is a zone of an estate.
_CODED_UNIT = re.compile(
    r"(?<![A-Za-z0-9])(?:([A-Z]{1,3}\d{1,3})(?:街道|区|县|市|镇|乡)|([A-Z]{1,3})(?:市|县))"
)


def _chain(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _has_cjk(text: str) -> bool:
    return any(_is_cjk(ch) for ch in text)


@dataclass(frozen=True)
class Place:
    """One named place: what the gazetteer needs, without the database.

    ``path`` is the materialised path of codes from the root (``/430100/430102/``); ``rank`` is
    its level's rank (0 for the city). Without a path the place is a root of its own.
    """

    code: str
    name_zh: str = ""
    name_en: str = ""
    aliases: tuple[str, ...] = ()
    level: str = ""
    rank: int = 0
    path: str = ""

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", f"/{self.code}/")
        object.__setattr__(self, "aliases", tuple(str(a) for a in self.aliases))

    @property
    def chain(self) -> list[str]:
        """Codes from the root down to this place."""
        return _chain(self.path)


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
    kind: str = "name"  # name, alias, code, short; "implied" for a common ancestor from best()
    count: int = 1  # how many stretches of the text name this place


@dataclass(frozen=True)
class _Term:
    place: Place
    confidence: float
    kind: str
    text: str  # as declared: code-like aliases match in their own case only


class Gazetteer:
    def __init__(self, places: Iterable[Place]) -> None:
        self.places: dict[str, Place] = {}
        terms: dict[str, list[_Term]] = {}

        def add(term: str, p: Place, confidence: float, kind: str) -> None:
            term = term.strip()
            if len(term) < 2:
                return
            bucket = terms.setdefault(term.lower(), [])
            for i, t in enumerate(bucket):
                if t.place.code == p.code:
                    if confidence > t.confidence:
                        bucket[i] = _Term(p, confidence, kind, term)
                    return
            bucket.append(_Term(p, confidence, kind, term))

        for p in places:
            self.places[p.code] = p
            add(p.name_zh, p, FULL, "name")
            add(p.name_en, p, FULL, "name")
            for alias in p.aliases:
                add(alias, p, ALIAS, "alias")
            add(p.code, p, CODE, "code")
            short = short_form(p.name_zh)
            if short:
                # A city's own name is frequent because it is the city ("长沙"): no demotion.
                is_root = len(_chain(p.path)) == 1
                add(short, p, COMMON if common_word(short) and not is_root else SHORT, "short")
        self._terms = terms
        keys = sorted(terms, key=len, reverse=True)
        cjk = [re.escape(k) for k in keys if _has_cjk(k)]
        latin = [re.escape(k) for k in keys if not _has_cjk(k)]
        parts = []
        if cjk:
            parts.append("(?:" + "|".join(cjk) + ")")
        if latin:
            parts.append(r"(?<![A-Za-z0-9])(?:" + "|".join(latin) + r")(?![A-Za-z0-9])")
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    @classmethod
    def from_jurisdictions(cls, jurisdictions: Iterable[Jurisdiction]) -> Gazetteer:
        """From ``Jurisdiction`` rows (select their level with them)."""
        return cls(
            Place(
                code=j.code,
                name_zh=j.name_zh,
                name_en=j.name_en,
                aliases=tuple(str(a) for a in (j.aliases or [])),
                level=j.level.code,
                rank=j.level.rank,
                path=j.path,
            )
            for j in jurisdictions
        )

    # -- finding ---------------------------------------------------------------------------
    def _hits(self, text: str) -> list[Mention]:
        if not self._pattern or not text:
            return []
        hits: list[Mention] = []
        for m in self._pattern.finditer(text):
            matched, start, end = m.group(0), m.start(), m.end()
            for t in self._terms.get(matched.lower(), []):
                conf = _in_context(t, text, start, end)
                if conf <= 0:
                    continue
                p = t.place
                hits.append(
                    Mention(
                        p.code,
                        p.name_en,
                        p.name_zh,
                        p.level,
                        p.rank,
                        p.path,
                        matched,
                        start,
                        conf,
                        t.kind,
                    )
                )
        return hits

    def find(self, text: str) -> list[Mention]:
        """Every place mentioned, once each (its best mention), highest confidence first."""
        hits = self._hits(text)
        spans: dict[tuple[int, str], list[Mention]] = {}
        for h in hits:
            spans.setdefault((h.start, h.matched), []).append(h)

        def anchored(h: Mention, span: tuple[int, str]) -> bool:
            """Is a strict ancestor of h, other than the root, named at another span?"""
            chain = _chain(h.path)[1:-1]
            return any(
                o.code in chain for key, group in spans.items() if key != span for o in group
            )

        # A text naming an unknown coded unit and not our root may be about another city.
        root_named = any(h.kind != "short" and h.path.count("/") == 2 for h in hits)
        elsewhere = not root_named and self._names_unknown_unit(text)
        out: list[Mention] = []
        for span, group in spans.items():
            supported = [h for h in group if anchored(h, span)]
            readings = supported if supported and len(group) > 1 else group
            n = len(readings)
            for h in readings:
                conf = h.confidence
                if h in supported:
                    bonus = SUPPORT_STRONG if conf >= ALIAS else SUPPORT_SHORT
                    conf = min(0.99, conf + bonus)
                elif elsewhere and h.kind == "short":
                    conf = conf * ELSEWHERE
                # The broadest reading of a nested name is right whichever place was meant.
                broadest = all(o.path.startswith(h.path) for o in readings)
                if n > 1 and not broadest:
                    conf = conf / n
                out.append(replace(h, confidence=round(conf, 3)))
        best: dict[str, Mention] = {}
        counts: dict[str, int] = {}
        for h in out:
            counts[h.code] = counts.get(h.code, 0) + 1
            if h.code not in best or h.confidence > best[h.code].confidence:
                best[h.code] = h
        found = [replace(m, count=counts[m.code]) for m in best.values()]
        return sorted(found, key=lambda m: (-m.confidence, -m.rank, m.start))

    def _names_unknown_unit(self, text: str) -> bool:
        """Does the text name a code-like unit the gazetteer does not know ("K11县", "B市")?"""
        for m in _CODED_UNIT.finditer(text):
            code = m.group(1) or m.group(2)
            unit = m.group(0)
            known = [t for t in self._terms.get(code.lower(), []) if t.text == code]
            if not known and unit.lower() not in self._terms:
                return True
        return False

    def best(self, text: str, min_confidence: float = 0.5) -> Mention | None:
        """The most specific place consistent with the other mentions, or None.

        Each candidate is weighed by the mentions on its own chain (itself and its ancestors,
        one per stretch of text). When another branch weighs at least ``CONTESTED`` of the
        two together, the answer is their lowest common ancestor; a lighter rival lowers the
        answer's confidence by its share.
        """
        mentions = [m for m in self.find(text) if m.confidence >= min_confidence]
        if not mentions:
            return None

        def weight(m: Mention, exclude: frozenset[str] = frozenset()) -> float:
            chain = set(_chain(m.path)) - exclude
            per_span: dict[tuple[int, str], float] = {}
            for o in mentions:
                if o.code in chain:
                    key = (o.start, o.matched)
                    value = o.confidence * (1 + math.log(o.count))
                    per_span[key] = max(per_span.get(key, 0.0), value)
            return sum(per_span.values())

        answer = max(mentions, key=lambda m: (weight(m), m.confidence, m.rank))
        rivals = [
            m
            for m in mentions
            if not m.path.startswith(answer.path) and not answer.path.startswith(m.path)
        ]
        if not rivals:
            return answer
        chain = _chain(answer.path)

        def common(m: Mention) -> list[str]:
            other = _chain(m.path)
            n = 0
            while n < min(len(chain), len(other)) and chain[n] == other[n]:
                n += 1
            return chain[:n]

        def contest(m: Mention) -> tuple[float, float]:
            shared = frozenset(common(m))
            return weight(answer, shared), weight(m, shared)

        rival = max(rivals, key=lambda m: (contest(m)[1], m.confidence))
        own, theirs = contest(rival)
        share = theirs / (own + theirs) if own + theirs else 0.0
        lowered = round(answer.confidence * (1 - share), 3)
        if share < CONTESTED and lowered >= min_confidence:
            return replace(answer, confidence=lowered)
        ancestors = common(rival)
        if not ancestors or ancestors[-1] not in self.places:
            return None
        lca = self.places[ancestors[-1]]
        named = next((m for m in mentions if m.code == lca.code), None)
        conf = max(answer.confidence, rival.confidence, named.confidence if named else 0.0)
        first = min(answer, rival, key=lambda m: m.start)
        return Mention(
            lca.code,
            lca.name_en,
            lca.name_zh,
            lca.level,
            lca.rank,
            lca.path,
            named.matched if named else first.matched,
            named.start if named else first.start,
            round(conf, 3),
            named.kind if named else "implied",
        )


def short_form(name_zh: str) -> str:
    """The Chinese name without its administrative suffix, if at least two characters remain."""
    for suffix in ZH_SUFFIXES:
        if name_zh.endswith(suffix) and len(name_zh) - len(suffix) >= 2:
            return name_zh[: -len(suffix)]
    return ""


def common_word(word: str) -> bool:
    """Is the word frequent in general Chinese (jieba's dictionary), not only as a place?"""
    return (_frequencies().get(word) or 0) >= COMMON_FREQ


_jieba_lock = threading.Lock()


@functools.cache
def _frequencies() -> dict[str, int]:
    """jieba's word counts, loaded on first use (never at import)."""
    import jieba

    with _jieba_lock:
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
    return jieba.dt.FREQ


def _straddles_words(text: str, start: int, end: int) -> bool:
    """Do both ends of the hit belong to common words around it ("资福" in "工资福利")?"""
    if start == 0 or end >= len(text):
        return False
    return common_word(text[start - 1 : start + 1]) and common_word(text[end - 1 : end + 1])


def _in_context(term: _Term, text: str, start: int, end: int) -> float:
    """The term's confidence at this place in the text; 0 when it is not a place here."""
    after = text[end : end + 6]
    if term.kind == "alias" and _CODE_LIKE.match(term.text):
        if text[start:end] != term.text:
            return 0.0  # "a4" is not the district A4
        suffix = _ADMIN_AFTER.match(after)
        if suffix:
            return COMMON if _ROAD_AFTER.match(after, suffix.end()) else term.confidence
        if _NOT_PLACE_AFTER.match(after):
            return 0.0
        return min(term.confidence, BARE_CODE)
    if term.kind == "short" and _straddles_words(text, start, end):
        return 0.0
    return term.confidence


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], Gazetteer] | None = None


def gazetteer() -> Gazetteer:
    """The process-wide gazetteer, rebuilt when jurisdictions change."""
    global _cached
    from civitas.geo.locate import BoundaryIndex
    from civitas.geo.models import Jurisdiction

    version = BoundaryIndex._db_version()
    with _lock:
        if _cached is None or _cached[0] != version:
            rows = Jurisdiction.objects.select_related("level")
            _cached = (version, Gazetteer.from_jurisdictions(rows))
        return _cached[1]
