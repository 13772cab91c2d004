"""Personal data residents type into free text: phone numbers, identity numbers, e-mails.

:func:`scrub` masks them so that text can be shown to people who must not read them (the
public, analysts, API keys): "call 13812345678" → "call 138****5678"; an identity number keeps
its first three and last two characters; "zhang.san@example.com" → "z***@***". Shared by the
layers above (participation's public pages, mediation's masked views).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Mainland identity numbers: 18 characters (17 digits and a check digit or X), or the old
# 15-digit form. Not preceded or followed by another digit.
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8}|\d{6})(\d{3}[0-9Xx]|\d{3})(?![0-9A-Za-z])")
# Mobile numbers (1[3-9]x, 11 digits), optionally with +86/0086 and spaces or dashes.
_MOBILE = re.compile(
    r"(?<![0-9])((?:\+?86|0086)[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![0-9])"
)
# Fixed lines: an area code 0xx or 0xxx, then 7-8 digits.
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})[\s-]?(\d{3,4})[\s-]?(\d{4})(?![0-9])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


def _id_mask(m: re.Match[str]) -> str:
    whole = m.group(0)
    return whole[:3] + "*" * (len(whole) - 5) + whole[-2:]


def _mobile_mask(m: re.Match[str]) -> str:
    return f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}"


def _landline_mask(m: re.Match[str]) -> str:
    return f"{m.group(1)}-****{m.group(3)}"


def _email_mask(m: re.Match[str]) -> str:
    return f"{m.group(1)}***@***"


def scrub(text: str) -> str:
    """``text`` with phone numbers, identity numbers and e-mail addresses masked.

    "call 13812345678" → "call 138****5678"; an identity number keeps its first three and
    last two characters; "zhang.san@example.com" → "z***@***"."""
    if not text:
        return text or ""
    text = _EMAIL.sub(_email_mask, text)
    text = _ID.sub(_id_mask, text)
    text = _MOBILE.sub(_mobile_mask, text)
    return _LANDLINE.sub(_landline_mask, text)


# -- Anonymisation: removing personal data for good (retention) ------------------------------
#
# scrub() masks for display and keeps a hint (the first digits of a phone); anonymise() is for
# records kept only for statistics: nothing of a phone, identity number or e-mail is left, the
# names of the people a record is about become neutral labels ("Applicant 1"), and room, door
# and house numbers, vehicle plates and long digit runs (bank cards, account numbers) go too.

PHONE_MARK = "[phone]"
ID_MARK = "[ID number]"
EMAIL_MARK = "[e-mail]"
NUMBER_MARK = "[number]"
PLATE_MARK = "[plate]"

# Vehicle plates: a province character, a letter, then 5 (6 for new-energy) letters or digits.
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]"
    r"[\s·]?[A-HJ-NP-Z0-9]{5,6}(?![0-9A-Za-z])"
)
# Bank cards (12 digits or more, maybe in groups), then any other run of 9 or more digits
# (account and membership numbers).
_CARD = re.compile(
    r"(?<![0-9A-Za-z-])\d{4}(?P<sep>[ -])\d{4}(?:(?P=sep)\d{4}){1,2}(?:(?P=sep)\d{1,3})?"
    r"(?![0-9A-Za-z])"
)
_LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{9,}(?![0-9A-Za-z])")
# North American numbers: (617) 555-1234, 617-555-1234, 617.555.1234, +1 617 555 1234.
_NANP = re.compile(r"(?<![0-9])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?![0-9])")
# Chinese building, unit, floor, room and door numbers: "3栋2单元501室", "12号楼", "5层".
_ZH_DOOR = re.compile(
    r"[0-9０-９A-Za-z一二三四五六七八九十百零〇-]+\s*(栋|幢|号楼|座|单元|层|楼|室|户|号)"
)
# English flat, apartment, room, unit and house numbers: "Apt 5B", "Room 501", "No. 12".
_EN_DOOR = re.compile(
    r"\b(apt|apartment|flat|room|rm|unit|suite|no)\.?\s*#?\s*\d+[A-Za-z]?\b", re.IGNORECASE
)
_EN_HOUSE = re.compile(
    r"\b\d+[A-Za-z]?(?=\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:St|Street|Rd|Road|Ave|Avenue|Ln|Lane|Way|Dr|Drive|Blvd|Boulevard|Pl|Place|Ct|Court|"
    r"Terrace|Sq|Square)\b)"
)
_EN_HOUSE_AFTER = re.compile(
    r"\b(St|Street|Rd|Road|Ave|Avenue|Ln|Lane|Way|Dr|Drive|Blvd|Boulevard|Pl|Place|Ct|Court)"
    r"\.?\s+\d+[A-Za-z]?\b"
)
# How people are called in Chinese by their surname: 张先生, 王女士, 老李, 小刘.
_ZH_HONORIFICS = ("先生", "女士", "小姐", "师傅", "阿姨", "大爷", "大妈", "老师", "医生", "经理")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _name_patterns(name: str) -> list[str]:
    """Spellings of ``name`` that point at its bearer, longest first."""
    name = " ".join((name or "").split())
    if len(name) < 2:
        return []
    forms = {name}
    if _CJK.search(name):
        if 2 <= len(name) <= 4 and all(_CJK.match(c) for c in name):
            surname = name[0]
            forms.update(surname + h for h in _ZH_HONORIFICS)
            forms.update({"老" + surname, "小" + surname})
            if len(name) >= 3:
                forms.add(name[1:])  # the given name alone
    else:
        # Each word of a Latin name; two-letter ones (Li, Wu, Ma) only as capitalised words.
        forms.update(part for part in name.split(" ") if len(part) >= 2)
    return sorted(forms, key=len, reverse=True)


def _as_written(label: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement that puts ``label`` in as it is (no group references)."""
    return lambda _m: label


def anonymise(
    text: str, names: dict[str, str] | None = None, exact: dict[str, str] | None = None
) -> str:
    """``text`` with personal data removed for good.

    ``names`` maps the names of the people concerned to the labels that replace them
    (``{"张三": "Applicant 1"}``); a Chinese name is also found as surname and honorific
    ("张先生") or 老/小 and surname, a Latin one by each of its words (two-letter words
    only as written, capitalised). ``exact`` maps phrases (addresses) replaced only as a
    whole. Phones, identity numbers and e-mails become "[phone]", "[ID number]", "[e-mail]";
    plates, long digit runs and room, door and house numbers go too. Idempotent."""
    if not text:
        return text or ""
    for phrase, label in sorted((exact or {}).items(), key=lambda kv: len(kv[0]), reverse=True):
        if phrase.strip():
            text = re.sub(re.escape(phrase.strip()), _as_written(label), text, flags=re.I)
    text = _EMAIL.sub(EMAIL_MARK, text)
    text = _ID.sub(ID_MARK, text)
    text = _CARD.sub(NUMBER_MARK, text)
    text = _MOBILE.sub(PHONE_MARK, text)
    text = _LANDLINE.sub(PHONE_MARK, text)
    text = _NANP.sub(PHONE_MARK, text)
    text = _PLATE.sub(PLATE_MARK, text)
    text = _LONG_DIGITS.sub(NUMBER_MARK, text)
    for name, label in sorted((names or {}).items(), key=lambda kv: len(kv[0]), reverse=True):
        for form in _name_patterns(name):
            if _CJK.search(form):
                text = text.replace(form, label)
            else:
                flags = re.I if len(form) > 2 else 0
                pattern = rf"(?<!\w){re.escape(form)}(?!\w)"
                text = re.sub(pattern, _as_written(label), text, flags=flags)
    text = _ZH_DOOR.sub(lambda m: "*" + m.group(1), text)
    text = _EN_DOOR.sub(lambda m: m.group(1) + " *", text)
    text = _EN_HOUSE_AFTER.sub(lambda m: m.group(1) + " *", text)
    return _EN_HOUSE.sub("*", text)


def anonymise_data(
    value: object, names: dict[str, str] | None = None, exact: dict[str, str] | None = None
) -> object:
    """:func:`anonymise` applied to every string inside JSON-like data (keys are kept)."""
    if isinstance(value, str):
        return anonymise(value, names, exact)
    if isinstance(value, dict):
        return {k: anonymise_data(v, names, exact) for k, v in value.items()}
    if isinstance(value, list):
        return [anonymise_data(v, names, exact) for v in value]
    return value
