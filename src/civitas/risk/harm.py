"""Imminent harm flagged at intake: self-harm, violence and threats, gathering crowds, and
safety hazards happening now (fire, gas, collapse), in Chinese and English.

A lexicon of phrases, not single words: "死" or "fire" alone say nothing ("笑死了", "fire lane",
"消防通道"). Each phrase may carry an exclusion of what comes right before or after it (跳楼**价**
is a sale, 火灾**隐患** a risk to remove rather than a fire, **防止**人员聚集 a precaution), and a
hit is dropped when a negation governs it: a negator just before it in the same clause
("没有人聚集", "不会跳楼", "not threatening", "no smell of gas"). "受不了" is not a negation of what
follows ("我受不了了不想活了" stays flagged).

``harm_step`` is a triage step (``CIVITAS_TRIAGE_STEPS``): it sets the appeal's urgency to
urgent and notes the finding on the received event; once the appeal has its key, the receiver
in ``civitas.risk.apps`` stores the HARM alert (``alerts.record_harm``) in the same transaction,
with its audit entry. Measured in docs/EVALUATION.md ("Imminent harm").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SELF_HARM = "self_harm"
VIOLENCE = "violence"
THREAT = "threat"
CROWD = "crowd"
HAZARD = "hazard"
CLASSES = (SELF_HARM, VIOLENCE, THREAT, CROWD, HAZARD)

_CLAUSE = r"，。！？；：,.!?;:\n"
# A Chinese negator ending at most two characters before the term, in the same clause; "不了"
# (受不了, 活不了) is an inability, not a negation.
_ZH_NEGATION = re.compile(
    r"(并没有|没有|并非|不是|不会|不要|不用|不再|不存在|并未|未曾|从未|无人|没人|没|未|别|勿|"
    r"防止|预防|避免|以免|杜绝|禁止|严禁|防范|谨防|不)(?!了)"
    rf"[^{_CLAUSE}]{{0,2}}$"
)
_EN_NEGATION = re.compile(
    r"\b(not|no|never|nobody|none|without|don't|dont|didn't|didnt|won't|wont|isn't|isnt|"
    r"wasn't|aren't|weren't|haven't|hasn't|cannot|can't|prevent|preventing|avoid)\b"
    r"(\s+\S+){0,2}\s*$",
    re.IGNORECASE,
)
_PEOPLE = (
    r"(群众|村民|业主|居民|工人|民工|农民工|家长|员工|学生|人员|多人|众人|一群人|很多人|大批人|"
    r"[几数上近]?[十百千]+[名个]?人|[0-9一二三四五六七八九十两]+[十百]?[多余]?[名个]?人)"
)


@dataclass(frozen=True)
class Term:
    cls: str
    pattern: re.Pattern[str]
    before_not: re.Pattern[str] | None = None  # excluded when the text before matches
    after_not: re.Pattern[str] | None = None  # excluded when the text after matches
    weight: float = 1.0


def _zh(cls: str, pattern: str, before: str = "", after: str = "", weight: float = 1.0) -> Term:
    return Term(
        cls,
        re.compile(pattern),
        re.compile(f"(?:{before})$") if before else None,
        re.compile(f"^(?:{after})") if after else None,
        weight,
    )


def _en(cls: str, pattern: str, before: str = "", after: str = "", weight: float = 1.0) -> Term:
    return Term(
        cls,
        re.compile(rf"(?<![A-Za-z])(?:{pattern})(?![A-Za-z])", re.IGNORECASE),
        re.compile(f"(?:{before})$", re.IGNORECASE) if before else None,
        re.compile(f"^(?:{after})", re.IGNORECASE) if after else None,
        weight,
    )


_LATENT = rf"[^{_CLAUSE}]{{0,3}}(隐患|风险|危险性|演练|预案|宣传|知识|培训|检查|应急)"
# A fire or an explosion in a condition ("一旦发生火灾", "容易引起爆炸") is a hazard to remove,
# not one happening now; a collapse in a year gone by ("2008年垮塌") is history.
_IF = (
    rf"(一旦|一但|如果|假如|万一|倘若|要是|若|如|试想|可能|容易|极易|易|随时|会|将|担心|害怕|怕|"
    rf"生怕|等到|非得等|以免|防止|引起|引发|导致|看到|报道)[^{_CLAUSE}]{{0,8}}"
)
# English conditions and questions ("if someone is trapped, call 119", "is anyone trapped?").
_EN_IF = (
    r"\b(if|in case( of)?|should|whether|when(ever)?|risk of|danger of|prevent)\b"
    r"[^,.;:!?]{0,40}"
)
_EN_ASK = r"[^.!\n]{0,20}\?"
_PAST = rf"((19|20)[0-9]{{2}}年|曾经|曾|以前|去年|前年|多年前|几年前|年前)[^{_CLAUSE}]{{0,10}}"

LEXICON: tuple[Term, ...] = (
    # -- self-harm, suicide ---------------------------------------------------------------------
    _zh(SELF_HARM, r"不想活了?|活不下去了?|没法活了|不活了"),
    _zh(SELF_HARM, r"自杀|轻生|寻短见|寻死|一死了之|以死相逼|死给你们看|死给他们看|结束(自己的)?生命"),  # noqa: E501
    _zh(SELF_HARM, r"跳楼|跳河|跳江|跳桥|跳湖|喝农药|服毒|割腕|上吊", before="一哭二闹三", after="价|甩卖|大甩卖|优惠|机"),  # noqa: E501
    _zh(SELF_HARM, r"我?想死|只有死路一条|死路一条", after="的心|的噪|了都"),
    _en(SELF_HARM, r"kill(ing)? myself|end(ing)? my (own )?life|take my (own )?life|suicid(e|al)"),
    _en(SELF_HARM, r"(want|going) to die|hurt(ing)? myself|self[- ]harm|jump(ing)? off (the |a )?(roof|bridge|building)"),  # noqa: E501
    _en(SELF_HARM, r"no reason to live|can't go on|cannot go on"),
    # -- violence -------------------------------------------------------------------------------
    _zh(VIOLENCE, r"杀了(他|她|你|他们|你们)|杀人(?!者|犯|案)|砍人|砍死|捅死|捅人|弄死|同归于尽|报复社会"),  # noqa: E501
    _zh(VIOLENCE, r"打死", after="也|都"),
    _zh(VIOLENCE, r"持刀|拿刀|动刀|挥刀|拿着刀|泼汽油|浇汽油|纵火|放火烧|炸了(他|你|这)"),
    _zh(VIOLENCE, r"殴打|打人|被打伤|打伤|围殴|群殴|家暴|家庭暴力|暴力(讨债|催收|拆迁|执法)"),
    _en(VIOLENCE, r"kill (him|her|you|them|us|everyone)|stab(bed|bing)?|pulled a knife|with a knife|"  # noqa: E501
        r"gun ?shots?|shots fired|gunfire|shooting"),
    _en(VIOLENCE, r"beat(ing|en)? (me|him|her|them|us|up)|assault(ed|ing)?|attack(ed|ing) (me|him|her|us|people)"),  # noqa: E501
    _en(VIOLENCE, r"domestic (violence|abuse)"),
    # -- threats --------------------------------------------------------------------------------
    _zh(THREAT, r"(扬言|恐吓|威胁|声称|放话)[^，。！？；]{0,6}(打死|打断|杀(?!鸡|价)|弄死|搞死|砍|捅|报复|炸|烧|放火|泼|收拾你|废了)"),  # noqa: E501
    _zh(THREAT, r"威胁(我|他|她|我们|他们|要|说|称|家人)|人身威胁|死亡威胁|要杀(?!鸡|价)"),
    _zh(THREAT, r"讨个说法.{0,6}(拼命|拼了)|跟他们拼了|跟他拼了"),
    _en(THREAT, r"threat(en|ens|ened|ening)? (me|us|him|her|them|to|my|our|residents|neighbours|neighbors)|"  # noqa: E501
        r"death threats?|threatening"),
    # -- gathering crowds -----------------------------------------------------------------------
    _zh(CROWD, _PEOPLE + r"[^，。！？；]{0,6}(聚集(?!场所|地|区|赌博|打牌|打麻将)|围堵|堵路|堵门|堵住|静坐|围攻)", before="避免|防止|减少|禁止|严禁|不得"),  # noqa: E501
    _zh(CROWD, r"聚集(了)?[几数上近]?[十百千]+[多余]?[名个]?人"),
    _zh(CROWD, r"聚众", after="赌博|打牌|打麻将|吸毒|淫乱"),
    _zh(CROWD, r"拉横幅|打横幅|集体上访|群体性事件|群体事件|围堵政府|堵塞交通|冲击政府|打砸"),
    _en(CROWD, r"crowds? (is |are |has |have )?(gathering|gathered|forming)|(angry )?mob|riot(ing|s)?|"  # noqa: E501
        r"protesters?|(people|residents|workers|crowd) (are |were )?blocking the (road|street|gate)|sit-in"),  # noqa: E501
    # -- safety hazards happening now ----------------------------------------------------------
    _zh(HAZARD, r"(煤气|燃气|天然气|液化气)(泄漏|泄露|外泄)|漏气|煤气味|燃气味|天然气味",
        before=_IF, after=_LATENT),
    _zh(HAZARD, r"着火了?|起火了?|失火|发生火灾|火势", before=_IF + "|防", after=_LATENT + "|事故"),
    _zh(HAZARD, r"爆炸", before=_IF + "|信息|知识", after="性|隐患|风险|事故|场|声|般"),
    _zh(HAZARD, r"(倒塌|坍塌|塌陷|塌方|垮塌|要塌|塌了)", before=_PAST, after=_LATENT),
    _zh(HAZARD, r"有人触电|触电了|有人被困|被困了|困在里面|出不来了", before=_IF + "|" + _PAST, after=_LATENT),  # noqa: E501
    _en(HAZARD, r"gas leak(ing)?|smell(s|ing)? (of )?gas|leaking gas", before=_EN_IF, after=_EN_ASK),  # noqa: E501
    _en(HAZARD, r"on fire|fire (is )?(spreading|burning|broke out)|(house|building|flat|apartment) fire|"  # noqa: E501
        r"flames|smoke (is )?(pouring|coming)|explosion|exploded", before=_EN_IF, after=_EN_ASK),
    _en(HAZARD, r"collaps(e|ed|ing)|caving in|electrocuted|live wires? down", before=_EN_IF),
    _en(HAZARD, r"(people|someone|somebody|a person|a child|children|kids|we|they|he|she|i|residents)"  # noqa: E501
        r"( is| are|'re|'s| am|'m)? (still )?(trapped|stuck inside)", before=_EN_IF, after=_EN_ASK),
)  # fmt: skip


@dataclass(frozen=True)
class Hit:
    cls: str
    term: str
    start: int
    weight: float


@dataclass
class Assessment:
    hits: list[Hit] = field(default_factory=list)
    language: str = "zh"

    @property
    def classes(self) -> list[str]:
        return [c for c in CLASSES if any(h.cls == c for h in self.hits)]

    @property
    def score(self) -> float:
        return round(sum(h.weight for h in self.hits), 3)

    def as_notes(self) -> dict[str, Any]:
        return {"classes": self.classes, "terms": [h.term for h in self.hits]}


def _negated(before: str, english: bool) -> bool:
    if english:
        clause = re.split(r"[,.;:!?\n]", before)[-1]
        return bool(_EN_NEGATION.search(clause[-60:]))
    return bool(_ZH_NEGATION.search(before[-8:]))


def assess(text: str) -> Assessment | None:
    """The harm phrases in ``text`` that are neither negated nor excluded by their context;
    None when there are none."""
    if not text:
        return None
    language = "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
    hits: list[Hit] = []
    for term in LEXICON:
        english = term.pattern.flags & re.IGNORECASE
        for m in term.pattern.finditer(text):
            before, after = text[max(0, m.start() - 24) : m.start()], text[m.end() : m.end() + 8]
            if term.before_not is not None and term.before_not.search(before):
                continue
            if term.after_not is not None and term.after_not.search(after):
                continue
            if _negated(text[max(0, m.start() - 60) : m.start()], bool(english)):
                continue
            hits.append(Hit(term.cls, m.group(0), m.start(), term.weight))
    if not hits:
        return None
    hits.sort(key=lambda h: h.start)
    return Assessment(hits, language)


def harm_step(appeal: Any) -> None:
    """Triage step: flag imminent harm, make the appeal urgent, note why on the received
    event; the alert is stored once the appeal is saved (see ``civitas.risk.apps``)."""
    from civitas.matters.models import Urgency

    found = assess(f"{appeal.title}\n{appeal.text}")
    if found is None:
        return
    appeal.urgency = Urgency.URGENT
    appeal.harm_assessment = found
    notes = dict(getattr(appeal, "triage_notes", {}) or {})
    notes["harm"] = found.as_notes()
    appeal.triage_notes = notes


def on_appeal_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """post_save receiver: store the HARM alert of an appeal flagged by ``harm_step``."""
    found = getattr(instance, "harm_assessment", None)
    if found is None or kwargs.get("raw"):
        return
    from civitas.risk import alerts

    alerts.record_harm(instance, found)
    instance.harm_assessment = None
