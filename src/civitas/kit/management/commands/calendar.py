"""civitas calendar — business calendars (holidays and make-up working days) per city.

civitas calendar import FILE --calendar CITY   CSV rows date,kind,name (all or nothing)
civitas calendar add-cn YEAR --calendar CITY   mainland China's official days of YEAR
civitas calendar set DATE KIND --calendar CITY [--name NAME]
civitas calendar remove DATE --calendar CITY
civitas calendar list [--calendar CITY] [--year YEAR]
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civitas.kit import calendar, holidays_cn
from civitas.kit.errors import CivitasError

ACTOR = "command:calendar"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Business calendars: import, add-cn, set, remove, list"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="load a CSV file: date,kind(holiday|workday),name")
        imp.add_argument("file")
        cn = sub.add_parser("add-cn", help="load mainland China's holidays of a year")
        cn.add_argument("cn_year", metavar="YEAR", type=int)
        one = sub.add_parser("set", help="make one day a holiday or a make-up working day")
        one.add_argument("date")
        one.add_argument("kind", choices=calendar.KINDS)
        one.add_argument("--name", default="")
        rm = sub.add_parser("remove", help="return one day to the ordinary week")
        rm.add_argument("date")
        ls = sub.add_parser("list", help="list calendars, or the days of one")
        ls.add_argument("--year", type=int)
        for p in (imp, cn, one, rm):
            p.add_argument("--calendar", required=True, help="the city code")
            p.add_argument("--reason", default="", help="kept in the audit log")
        ls.add_argument("--calendar", help="the city code")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                self._list(options.get("calendar"), options.get("year"))
                return
            cal = options["calendar"]
            reason = options["reason"]
            with transaction.atomic():
                if action == "import":
                    path = Path(options["file"])
                    try:
                        text = path.read_text(encoding="utf-8-sig")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise CommandError(f"cannot read {path}: {exc}") from exc
                    days = calendar.parse_csv(text)
                    changed = calendar.load_days(
                        actor=ACTOR, calendar=cal, days=days, reason=reason or f"import {path}"
                    )
                    self.stdout.write(f"{cal}: {len(days)} day(s) read, {changed} changed")
                elif action == "add-cn":
                    try:
                        days = holidays_cn.days(options["cn_year"])
                    except LookupError as exc:
                        raise CommandError(str(exc)) from exc
                    changed = calendar.load_days(
                        actor=ACTOR,
                        calendar=cal,
                        days=days,
                        reason=reason or f"State Council holiday notice for {options['cn_year']}",
                    )
                    holidays = sum(d.kind == "holiday" for d in days)
                    self.stdout.write(
                        f"{cal}: China {options['cn_year']}: {holidays} holiday(s), "
                        f"{len(days) - holidays} make-up working day(s); {changed} changed"
                    )
                elif action == "set":
                    calendar.set_day(
                        actor=ACTOR,
                        calendar=cal,
                        day=_day(options["date"]),
                        kind=options["kind"],
                        name=options["name"],
                        reason=reason,
                    )
                    self.stdout.write(f"{cal}: {options['date']} is a {options['kind']}")
                elif action == "remove":
                    calendar.remove_day(
                        actor=ACTOR, calendar=cal, day=_day(options["date"]), reason=reason
                    )
                    self.stdout.write(f"{cal}: {options['date']} follows the ordinary week")
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _list(self, cal: str | None, year: int | None) -> None:
        if not cal:
            rows = calendar.calendars()
            if not rows:
                self.stdout.write("no calendar has exceptions yet (Monday to Friday everywhere)")
            for name, n in rows:
                self.stdout.write(f"{name}\t{n} day(s)")
            return
        for d in calendar.days_of(cal, year):
            self.stdout.write(f"{d.day.isoformat()}\t{d.day:%a}\t{d.kind}\t{d.name}")
