"""Today is the city's day, not UTC's."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.test import override_settings

from civitas.kit import clock


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_today_follows_the_city_time_zone() -> None:
    with clock.frozen(datetime(2026, 11, 27, 15, 59, tzinfo=UTC)):
        assert clock.today() == date(2026, 11, 27)
    with clock.frozen(datetime(2026, 11, 27, 16, 1, tzinfo=UTC)):  # 00:01 in Shanghai
        assert clock.today() == date(2026, 11, 28)
