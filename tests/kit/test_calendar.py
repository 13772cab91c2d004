"""Business calendars: working days, holidays and make-up days, the services and commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from civitas.kit import calendar, holidays_cn
from civitas.kit.durations import Duration, parse
from civitas.kit.errors import InvalidInput, NotFound
from civitas.kit.models import AuditEntry, CalendarDay

SH = "Asia/Shanghai"
NY = "America/New_York"


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    calendar.invalidate()
    yield
    calendar.invalidate()


@pytest.fixture
def cn(db: Any) -> str:
    """Calendar CN with China's 2025 and 2026 days, loaded through the command."""
    call_command("calendar", "add-cn", "2025", calendar="CN")
    call_command("calendar", "add-cn", "2026", calendar="CN")
    return "CN"


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0, tz: str = SH) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(tz))


def add(start: datetime, text: str, cal: str = "CN", tz: str = SH) -> datetime:
    return calendar.add(start, parse(text), calendar=cal, tz=tz)


@pytest.mark.django_db
class TestWeekends:
    def test_friday_plus_one_working_day_is_monday_same_time(self) -> None:
        assert add(at(2025, 3, 7), "1wd", "PLAIN") == at(2025, 3, 10)

    def test_saturday_start_counts_from_monday(self) -> None:
        assert add(at(2025, 3, 8, 15), "1wd", "PLAIN") == at(2025, 3, 10, 15)
        assert add(at(2025, 3, 8, 15), "2wd", "PLAIN") == at(2025, 3, 11, 15)

    def test_five_working_days_is_one_week(self) -> None:
        assert add(at(2025, 3, 5), "5wd", "PLAIN") == at(2025, 3, 12)

    def test_working_days_between(self) -> None:
        # (Fri, next Fri]: Mon..Fri
        assert calendar.working_days_between(date(2025, 3, 7), date(2025, 3, 14), calendar="X") == 5


@pytest.mark.django_db
class TestChinaHolidays:
    def test_spring_festival_2025_week_is_skipped(self, cn: str) -> None:
        # Mon 27 Jan 2025 + 1 working day: 28 Jan - 4 Feb are holidays -> Wed 5 Feb
        assert add(at(2025, 1, 27, 9), "1wd") == at(2025, 2, 5, 9)

    def test_make_up_sunday_counts(self, cn: str) -> None:
        # Fri 24 Jan 2025 + 1: Sat 25 no, Sun 26 Jan is a make-up working day
        assert add(at(2025, 1, 24), "1wd") == at(2025, 1, 26)
        # Fri 7 Feb 2025 + 1: Sat 8 Feb is a make-up working day
        assert add(at(2025, 2, 7), "1wd") == at(2025, 2, 8)

    def test_spring_festival_2026(self, cn: str) -> None:
        # Fri 13 Feb 2026 + 1 -> Sat 14 Feb (make-up); + 2 -> Tue 24 Feb (15-23 off)
        assert add(at(2026, 2, 13), "1wd") == at(2026, 2, 14)
        assert add(at(2026, 2, 13), "2wd") == at(2026, 2, 24)
        # Fri 27 Feb + 1 -> Sat 28 Feb (make-up)
        assert add(at(2026, 2, 27), "1wd") == at(2026, 2, 28)

    def test_fifteen_working_days_across_national_day_2025(self, cn: str) -> None:
        # From Fri 26 Sep 2025: 28 Sep (make-up), 29, 30 Sep, [1-8 Oct off], 9, 10,
        # 11 Oct (make-up), 13-17, 20-23 Oct: the 15th working day is Thu 23 Oct.
        assert add(at(2025, 9, 26, 16, 30), "15wd") == at(2025, 10, 23, 16, 30)
        assert (
            calendar.working_days_between(date(2025, 9, 26), date(2025, 10, 23), calendar="CN")
            == 15
        )

    def test_hours_and_days_do_not_stop_for_holidays(self, cn: str) -> None:
        start = at(2025, 1, 27, 9)
        assert add(start, "24h") == at(2025, 1, 28, 9)
        assert add(start, "2d") == at(2025, 1, 29, 9)
        assert add(start, "30m") == at(2025, 1, 27, 9, 30)

    def test_without_the_calendar_the_same_dates_are_ordinary(self, cn: str) -> None:
        assert add(at(2025, 1, 27, 9), "1wd", "OTHER") == at(2025, 1, 28, 9)

    def test_what_is_a_working_day(self, cn: str) -> None:
        assert not calendar.is_working_day(date(2026, 2, 16), calendar="CN")  # Mon, holiday
        assert calendar.is_working_day(date(2026, 2, 14), calendar="CN")  # Sat, make-up
        assert not calendar.is_working_day(date(2026, 2, 21), calendar="CN")  # Sat, holiday
        assert calendar.is_working_day(date(2026, 2, 24), calendar="CN")  # Tue, ordinary


@pytest.mark.django_db
class TestSameLocalTime:
    def test_a_zone_without_daylight_saving(self) -> None:
        start = at(2025, 3, 7, 10, tz=SH)
        end = add(start, "1wd", "PLAIN", SH)
        assert end - start == timedelta(hours=72)
        assert end.astimezone(UTC) == datetime(2025, 3, 10, 2, tzinfo=UTC)

    def test_spring_forward_in_new_york_keeps_ten_o_clock(self) -> None:
        # Clocks go forward on Sun 9 Mar 2025: Fri 10:00 EST is 15:00 UTC, Mon 10:00 EDT 14:00.
        start = at(2025, 3, 7, 10, tz=NY)
        end = add(start, "1wd", "PLAIN", NY)
        assert end.astimezone(ZoneInfo(NY)).hour == 10
        assert end.astimezone(UTC) == datetime(2025, 3, 10, 14, tzinfo=UTC)
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=71)
        # hours stay elapsed time: 72h later it is 11:00 local
        assert add(start, "72h", "PLAIN", NY).astimezone(ZoneInfo(NY)).hour == 11

    def test_fall_back_in_new_york(self) -> None:
        # Clocks go back on Sun 2 Nov 2025.
        start = at(2025, 10, 31, 10, tz=NY)
        end = add(start, "1wd", "PLAIN", NY)
        assert end.astimezone(UTC) == datetime(2025, 11, 3, 15, tzinfo=UTC)
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=73)

    def test_result_keeps_the_starts_zone(self) -> None:
        start = at(2025, 3, 7, 10, tz=NY).astimezone(UTC)
        assert add(start, "1wd", "PLAIN", NY).tzinfo == UTC

    def test_naive_start_is_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            calendar.add(datetime(2025, 1, 1), Duration(1, "wd"), calendar="X", tz=SH)


@pytest.mark.django_db
class TestServices:
    def test_set_day_is_audited_and_seen_at_once(self) -> None:
        assert calendar.is_working_day(date(2025, 3, 12), calendar="T")
        with transaction.atomic():
            changed = calendar.set_day(
                actor="test", calendar="T", day=date(2025, 3, 12), kind="holiday", name="Fair"
            )
        assert changed
        assert not calendar.is_working_day(date(2025, 3, 12), calendar="T")
        entry = AuditEntry.objects.get(action="calendar.set_day")
        assert entry.object_id == "T:2025-03-12"
        assert entry.summary["after"] == {"kind": "holiday", "name": "Fair"}

    def test_setting_the_same_day_again_changes_nothing(self) -> None:
        with transaction.atomic():
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 12), kind="holiday")
        with transaction.atomic():
            again = calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 12), kind="holiday")
        assert not again
        assert AuditEntry.objects.filter(action="calendar.set_day").count() == 1

    def test_changing_a_day_records_before_and_after(self) -> None:
        with transaction.atomic():
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 15), kind="holiday")
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 15), kind="workday")
        assert calendar.is_working_day(date(2025, 3, 15), calendar="T")
        last = AuditEntry.objects.filter(action="calendar.set_day").last()
        assert last is not None and last.summary["before"]["kind"] == "holiday"
        assert CalendarDay.objects.filter(calendar="T").count() == 1

    def test_remove_day_returns_it_to_the_ordinary_week(self) -> None:
        with transaction.atomic():
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 12), kind="holiday")
        with transaction.atomic():
            calendar.remove_day(actor="t", calendar="T", day=date(2025, 3, 12), reason="moved")
        assert calendar.is_working_day(date(2025, 3, 12), calendar="T")
        assert AuditEntry.objects.get(action="calendar.remove_day").reason == "moved"
        with pytest.raises(NotFound), transaction.atomic():
            calendar.remove_day(actor="t", calendar="T", day=date(2025, 3, 12))

    def test_make_up_day_must_be_a_weekend(self) -> None:
        with pytest.raises(InvalidInput, match="weekend"), transaction.atomic():
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 12), kind="workday")

    def test_unknown_kind_is_refused(self) -> None:
        with pytest.raises(InvalidInput) as caught, transaction.atomic():
            calendar.set_day(actor="t", calendar="T", day=date(2025, 3, 12), kind="party")
        assert caught.value.details == {"field": "kind"}

    def test_other_processes_notice_a_change(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert calendar.is_working_day(date(2025, 3, 12), calendar="T")  # cached now
        # another process writes (nothing invalidates this process's cache)
        CalendarDay.objects.create(calendar="T", day=date(2025, 3, 12), kind="holiday")
        assert calendar.is_working_day(date(2025, 3, 12), calendar="T")  # still cached
        monkeypatch.setattr(calendar, "RECHECK_SECONDS", 0.0)
        assert not calendar.is_working_day(date(2025, 3, 12), calendar="T")


class TestCsv:
    def test_every_problem_is_named_by_line_and_field(self) -> None:
        text = (
            "date,kind,name\n"
            "2026-12-24,holiday,Christmas Eve\n"
            "2026-12-28,workday,\n"
            "24/12/2026,holiday,x\n"
            "2026-12-24,holiday,again\n"
            "2026-12-25,party,y\n"
            "2026-12-26\n"
        )
        with pytest.raises(InvalidInput) as caught:
            calendar.parse_csv(text)
        problems = caught.value.details["problems"]
        assert problems == [
            "line 3, field kind: 2026-12-28 is a Monday, a working day already: a make-up "
            "working day falls on a weekend",
            "line 4, field date: '24/12/2026' is not a date (YYYY-MM-DD)",
            "line 5, field date: 2026-12-24 already appears on line 2",
            "line 6, field kind: kind must be holiday or workday, not 'party'",
            "line 7: expected date,kind,name (1 fields found)",
        ]

    def test_header_comments_blank_lines_and_bom(self) -> None:
        days = calendar.parse_csv("\ufeffdate,kind,name\n# local days\n\n2026-12-26,workday\n")
        assert days == [calendar.DayIn(date(2026, 12, 26), "workday", "")]


@pytest.mark.django_db
class TestCommands:
    def test_import_is_all_or_nothing(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.csv"
        bad.write_text("2026-12-24,holiday,Eve\n2026-12-25,holday,Day\n", encoding="utf-8")
        with pytest.raises(CommandError, match=r"line 2, field kind"):
            call_command("calendar", "import", str(bad), calendar="T")
        assert not CalendarDay.objects.exists()

    def test_import_then_again_is_idempotent(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        good = tmp_path / "good.csv"
        good.write_text("date,kind,name\n2026-12-24,holiday,Eve\n2026-12-26,workday,\n")
        call_command("calendar", "import", str(good), calendar="T")
        call_command("calendar", "import", str(good), calendar="T")
        out = capsys.readouterr().out
        assert "T: 2 day(s) read, 2 changed" in out
        assert "T: 2 day(s) read, 0 changed" in out
        assert not calendar.is_working_day(date(2026, 12, 24), calendar="T")
        assert calendar.is_working_day(date(2026, 12, 26), calendar="T")

    def test_missing_file(self) -> None:
        with pytest.raises(CommandError, match="cannot read"):
            call_command("calendar", "import", "/nonexistent/cal.csv", calendar="T")

    def test_add_cn_loads_the_state_council_days(
        self, cn: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        days = {d.day: d.kind for d in CalendarDay.objects.filter(calendar="CN")}
        for n in range(15, 24):  # Spring Festival 2026: 15-23 February
            assert days[date(2026, 2, n)] == "holiday"
        assert days[date(2026, 2, 14)] == days[date(2026, 2, 28)] == "workday"
        workdays = sorted(d for d, k in days.items() if k == "workday")
        assert workdays == [
            date(2025, 1, 26),
            date(2025, 2, 8),
            date(2025, 4, 27),
            date(2025, 9, 28),
            date(2025, 10, 11),
            date(2026, 1, 4),
            date(2026, 2, 14),
            date(2026, 2, 28),
            date(2026, 5, 9),
            date(2026, 9, 20),
            date(2026, 10, 10),
        ]
        assert all(d.weekday() >= 5 for d in workdays)
        # days off per year: 2025 has 28 holiday days listed, 2026 has 33
        assert sum(k == "holiday" and d.year == 2025 for d, k in days.items()) == 28
        assert sum(k == "holiday" and d.year == 2026 for d, k in days.items()) == 33
        call_command("calendar", "add-cn", "2026", calendar="CN")
        assert "6 make-up working day(s); 0 changed" in capsys.readouterr().out

    def test_add_cn_unknown_year(self) -> None:
        with pytest.raises(CommandError, match="2031"):
            call_command("calendar", "add-cn", "2031", calendar="CN")
        with pytest.raises(LookupError):
            holidays_cn.days(2024)

    def test_set_remove_and_list(self, capsys: pytest.CaptureFixture[str]) -> None:
        call_command("calendar", "set", "2026-12-24", "holiday", calendar="T", name="Eve")
        call_command("calendar", "list")
        call_command("calendar", "list", calendar="T", year=2026)
        out = capsys.readouterr().out
        assert "T\t1 day(s)" in out
        assert "2026-12-24\tThu\tholiday\tEve" in out
        call_command("calendar", "remove", "2026-12-24", calendar="T")
        with pytest.raises(CommandError, match="not an exception"):
            call_command("calendar", "remove", "2026-12-24", calendar="T")
        with pytest.raises(CommandError, match="weekend"):
            call_command("calendar", "set", "2026-12-23", "workday", calendar="T")


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def root(self, settings: Any) -> Any:
        from django.test import Client

        from tests.factories import UserFactory

        client = Client()
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        return client

    def test_add_change_and_delete_go_through_the_services(self, root: Any) -> None:
        from django.urls import reverse

        add = reverse("admin:kit_calendarday_add")
        form = {"calendar": "T", "day": "2026-12-24", "kind": "holiday", "name": "Eve"}
        assert root.post(add, {**form, "reason": "city decree"}).status_code == 302
        entry = AuditEntry.objects.get(action="calendar.set_day")
        assert entry.actor.endswith(":root") and entry.reason == "city decree"
        assert not calendar.is_working_day(date(2026, 12, 24), calendar="T")
        # a make-up working day on a weekday is refused on the form
        bad = root.post(add, {**form, "day": "2026-12-23", "kind": "workday"})
        assert bad.status_code == 200 and "falls on a weekend" in bad.content.decode()
        day = CalendarDay.objects.get(calendar="T")
        change = reverse("admin:kit_calendarday_change", args=[day.pk])
        assert root.post(change, {"kind": "holiday", "name": "Christmas Eve"}).status_code == 302
        assert CalendarDay.objects.get(calendar="T").name == "Christmas Eve"
        day = CalendarDay.objects.get(calendar="T")
        delete = reverse("admin:kit_calendarday_delete", args=[day.pk])
        assert root.post(delete, {"post": "yes"}).status_code == 302
        assert not CalendarDay.objects.exists()
        assert AuditEntry.objects.filter(action="calendar.remove_day").count() == 1

    @pytest.mark.parametrize("model", ["calendarday", "outboxmessage", "scheduledrun"])
    def test_changelists_render(self, root: Any, model: str) -> None:
        from django.urls import reverse

        assert root.get(reverse(f"admin:kit_{model}_changelist")).status_code == 200
