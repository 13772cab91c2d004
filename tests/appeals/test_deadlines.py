"""Case deadlines on the city's business calendar, and the traffic light."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from civitas.appeals import deadlines, services
from civitas.appeals.models import Request
from civitas.kit import calendar, clock, holidays_cn
from tests.appeals.conftest import fresh, submit

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    calendar.invalidate()
    yield
    calendar.invalidate()


@pytest.fixture
def china(case_city: dict[str, Any], settings: Any) -> dict[str, Any]:
    """The test city on China's official calendar, in Shanghai time."""
    settings.TIME_ZONE = "Asia/Shanghai"
    with transaction.atomic():
        for year in (2025, 2026):
            calendar.load_days(actor="test", calendar="T", days=holidays_cn.days(year))
    return case_city


@pytest.mark.django_db
class TestCaseDeadlines:
    def test_fifteen_working_days_across_the_spring_festival(self, china: dict[str, Any]) -> None:
        # Friday 13 Feb 2026, 10:00. Working days after it: Sat 14 Feb (make-up); 15-23 Feb
        # off; 24, 25, 26, 27 Feb; Sat 28 Feb (make-up); 2-6 Mar; 9, 10, 11, 12 Mar = 15.
        with clock.frozen(local(2026, 2, 13)):
            a = submit(china).appeal
        assert a.urgency == "normal" and a.dispatched_at == local(2026, 2, 13)
        assert a.resolve_due == local(2026, 3, 12)
        assert a.respond_due == local(2026, 2, 14)  # 24 hours: elapsed time

    def test_urgent_work_counts_hours_through_the_holiday(self, china: dict[str, Any]) -> None:
        with clock.frozen(local(2026, 2, 16, 8, 30)):  # Monday, a holiday
            a = submit(china, urgency="urgent").appeal
        assert a.respond_due == local(2026, 2, 16, 10, 30)
        assert a.resolve_due == local(2026, 2, 17, 8, 30)

    def test_an_ordinary_week(self, china: dict[str, Any]) -> None:
        with clock.frozen(local(2026, 3, 6, 17, 45)):  # Friday
            a = submit(china).appeal
        # 15 working days: three weeks later, same local time
        assert a.resolve_due == local(2026, 3, 27, 17, 45)

    def test_qingming_monday(self, china: dict[str, Any]) -> None:
        # Fri 20 Mar 2026: 23-27 Mar, 30 Mar-3 Apr, [Mon 6 Apr off], 7-10 Apr, 13 Apr
        with clock.frozen(local(2026, 3, 20)):
            a = submit(china).appeal
        assert a.resolve_due == local(2026, 4, 13)

    def test_an_extension_counts_working_days_from_the_deadline(
        self, china: dict[str, Any]
    ) -> None:
        c = china
        with clock.frozen(local(2026, 9, 9)):
            a = submit(c).appeal
        # from Wed 9 Sep 2026: 10, 11, 14-18, Sun 20 (make-up), 21-24, [25-27 Mid-Autumn],
        # 28, 29, 30 Sep = 15 working days
        assert a.resolve_due == local(2026, 9, 30)
        with clock.frozen(local(2026, 9, 10)), transaction.atomic():
            services.accept(actor=c["handler"], appeal=a)
            services.request_extension(actor=c["handler"], appeal=a, days=2, reason="parts")
        req = Request.objects.get(appeal=a)
        with clock.frozen(local(2026, 9, 11)), transaction.atomic():
            services.decide_request(actor=c["leader"], appeal=fresh(a), request=req, approve=True)
        # two working days after Wed 30 Sep: 1-7 Oct off, Thu 8 and Fri 9 Oct
        assert fresh(a).resolve_due == local(2026, 10, 9)

    def test_a_city_holiday_added_later_moves_new_deadlines(self, china: dict[str, Any]) -> None:
        with clock.frozen(local(2026, 3, 6)):
            before = submit(china).appeal
        with transaction.atomic():
            calendar.set_day(
                actor="test", calendar="T", day=local(2026, 3, 18).date(), kind="holiday"
            )
        with clock.frozen(local(2026, 3, 6)):
            after = submit(china, text="The lift in building 9 is broken").appeal
        assert fresh(before).resolve_due == local(2026, 3, 27)  # unchanged
        assert after.resolve_due == local(2026, 3, 30)  # one working day later


@pytest.mark.django_db
class TestLight:
    def test_green_yellow_red(self, china: dict[str, Any], settings: Any) -> None:
        settings.CIVITAS_WARN_SHARE = 0.8
        start = local(2026, 3, 2, 9)  # Monday
        with clock.frozen(start):
            a = submit(china, urgency="urgent").appeal  # 24 hours
        assert deadlines.light(a, start + timedelta(hours=19)) == "green"
        assert deadlines.light(a, start + timedelta(hours=19, minutes=12)) == "yellow"
        assert deadlines.light(a, start + timedelta(hours=24)) == "red"

    def test_a_finished_case_has_no_colour(self, china: dict[str, Any]) -> None:
        c = china
        start = local(2026, 3, 2, 9)
        with clock.frozen(start):
            a = submit(c, urgency="urgent").appeal
            with transaction.atomic():
                services.accept(actor=c["handler"], appeal=a)
            with transaction.atomic():
                services.resolve(actor=c["handler"], appeal=fresh(a), result="Fixed")
        assert deadlines.light(fresh(a), start + timedelta(days=3)) == "green"
