"""Mainland China's public holidays and make-up working days (调休上班), as published each
year by the General Office of the State Council (国务院办公厅关于部分节假日安排的通知).

Written in code from the notices: 2025 — 国办发明电〔2024〕12号 (12 November 2024);
2026 — the notice of 4 November 2025. Every day of each holiday period is listed as a holiday
(weekend days included, for the name); make-up working days are weekend days worked.
"""

from __future__ import annotations

from datetime import date, timedelta

from civitas.kit.calendar import DayIn

# (first day, last day, English name, Chinese name), then make-up working days.
_PERIODS: dict[int, list[tuple[str, str, str, str]]] = {
    2025: [
        ("2025-01-01", "2025-01-01", "New Year's Day", "元旦"),
        ("2025-01-28", "2025-02-04", "Spring Festival", "春节"),
        ("2025-04-04", "2025-04-06", "Qingming Festival", "清明节"),
        ("2025-05-01", "2025-05-05", "Labour Day", "劳动节"),
        ("2025-05-31", "2025-06-02", "Dragon Boat Festival", "端午节"),
        ("2025-10-01", "2025-10-08", "National Day and Mid-Autumn Festival", "国庆节、中秋节"),
    ],
    2026: [
        ("2026-01-01", "2026-01-03", "New Year's Day", "元旦"),
        ("2026-02-15", "2026-02-23", "Spring Festival", "春节"),
        ("2026-04-04", "2026-04-06", "Qingming Festival", "清明节"),
        ("2026-05-01", "2026-05-05", "Labour Day", "劳动节"),
        ("2026-06-19", "2026-06-21", "Dragon Boat Festival", "端午节"),
        ("2026-09-25", "2026-09-27", "Mid-Autumn Festival", "中秋节"),
        ("2026-10-01", "2026-10-07", "National Day", "国庆节"),
    ],
}
_MAKEUP: dict[int, list[tuple[str, str, str]]] = {
    2025: [
        ("2025-01-26", "Spring Festival", "春节"),
        ("2025-02-08", "Spring Festival", "春节"),
        ("2025-04-27", "Labour Day", "劳动节"),
        ("2025-09-28", "National Day", "国庆节"),
        ("2025-10-11", "National Day", "国庆节"),
    ],
    2026: [
        ("2026-01-04", "New Year's Day", "元旦"),
        ("2026-02-14", "Spring Festival", "春节"),
        ("2026-02-28", "Spring Festival", "春节"),
        ("2026-05-09", "Labour Day", "劳动节"),
        ("2026-09-20", "National Day", "国庆节"),
        ("2026-10-10", "National Day", "国庆节"),
    ],
}

YEARS = tuple(sorted(_PERIODS))


def days(year: int) -> list[DayIn]:
    """The exceptions of ``year``; LookupError for a year not written here yet."""
    if year not in _PERIODS:
        raise LookupError(
            f"China's holidays for {year} are not in Civitas yet (known: "
            f"{', '.join(map(str, YEARS))}); import them from a CSV file "
            "(civitas calendar import FILE --calendar CITY)"
        )
    out = []
    for first, last, en, zh in _PERIODS[year]:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            out.append(DayIn(day, "holiday", f"{zh} {en}"))
            day += timedelta(days=1)
    for when, en, zh in _MAKEUP[year]:
        out.append(DayIn(date.fromisoformat(when), "workday", f"{zh}调休上班 {en} make-up day"))
    return sorted(out, key=lambda d: d.day)
