"""civitas riskreport --period week|month [--date YYYY-MM-DD] [--lang en|zh] --out FILE.pdf
                     [--area CODE] [--user NAME]

Writes the judgment report of the week or month containing ``--date`` (default: the latest
complete one) as a PDF. With ``--user`` it is that person's report (their areas only);
without, the console's (every area: whoever runs it holds the database anyway)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.kit.errors import CivitasError
from civitas.org.models import User
from civitas.risk import report_pdf, reports


class Command(BaseCommand):
    help = "Write a weekly or monthly judgment report as a PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=reports.KINDS, default="week")
        parser.add_argument("--date", default="", help="a day inside the period (YYYY-MM-DD)")
        parser.add_argument("--lang", choices=["en", "zh"], default="en")
        parser.add_argument("--out", required=True, help="the PDF file to write")
        parser.add_argument("--area", default="", help="jurisdiction code (default: the city)")
        parser.add_argument("--user", default="", help="write the report as this person sees it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self._actor(options["user"])
        try:
            area = reports.area_for(actor, options["area"] or None)
            if options["date"]:
                try:
                    day = date.fromisoformat(options["date"])
                except ValueError:
                    raise CommandError("--date: write the day as YYYY-MM-DD") from None
                period = reports.of(options["period"], day)
            else:
                period = reports.latest_complete(options["period"], area)
            report = reports.build(actor, period, area)
            lang = "zh-hans" if options["lang"] == "zh" else "en"
            body = report_pdf.render(report, lang)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc
        out = Path(options["out"])
        out.write_bytes(body)
        self.stdout.write(
            f"{out}: {report.area.code} {period.label}, {report.total} appeals, {len(body):,} bytes"
        )

    def _actor(self, username: str) -> User:
        if username:
            try:
                return User.objects.get(username=username)
            except User.DoesNotExist:
                raise CommandError(f"no user {username!r}") from None
        # An unsaved stand-in with the whole installation in scope; never written.
        return User(pk=-1, username="console", is_active=True, is_superuser=True)
