"""civitas appeals import-csv FILE --city CODE [--channel csv] [--dry-run] [--report FILE]

Columns: text, kind, title, matter, urgency, lat, lon, address, contact_name, contact_phone,
contact_email, external_id, received_at (ISO 8601; local time when no offset is given).
Good rows are imported (each in its own transaction); bad rows are quarantined in a report
(file, line, field, message), by default FILE.errors.csv. Re-running imports nothing twice
(external_id). Exit status 1 when rows were quarantined."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.appeals import csv_import
from civitas.appeals.models import Channel
from civitas.geo.models import Jurisdiction
from civitas.kit.errors import CivitasError

EVERY = 500


class Command(BaseCommand):
    help = "Work with appeals from the command line (bulk CSV import)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import-csv", help="import appeals from a CSV file")
        imp.add_argument("file", type=Path, help="the CSV file (UTF-8, header row)")
        imp.add_argument("--city", required=True, help="the city's code")
        imp.add_argument(
            "--channel", default=Channel.CSV, choices=Channel.values, help="default: csv"
        )
        imp.add_argument("--dry-run", action="store_true", help="check every row; import nothing")
        imp.add_argument(
            "--report", type=Path, default=None, help="problems file (default FILE.errors.csv)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._import_csv(options)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _progress(self) -> Any:
        tty = self.stderr.isatty()
        state: dict[str, Any] = {}

        def report(done: int, total: int) -> None:
            if tty:
                from tqdm import tqdm

                bar = state.get("bar")
                if bar is None:
                    bar = state["bar"] = tqdm(total=total, desc="rows", file=sys.stderr)
                bar.update(done - bar.n)
                if done >= total:
                    bar.close()
            elif done % EVERY == 0 or done == total:
                self.stderr.write(f"rows: {done}/{total}")

        return report

    def _import_csv(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no file {path}")
        city = options["city"]
        if not Jurisdiction.objects.filter(code=city, parent__isnull=True).exists():
            raise CommandError(f"no city with code {city!r}; import its city pack first")
        result = csv_import.import_csv(
            path,
            city=city,
            channel=options["channel"],
            dry_run=options["dry_run"],
            progress=self._progress(),
        )
        self.stderr.write(csv_import.summary(result, dry_run=options["dry_run"]))
        for ticket in result.tickets:
            self.stdout.write(ticket)
        if result.problems:
            report = options["report"] or csv_import.default_report(path)
            csv_import.write_report(result.problems, report)
            raise CommandError(
                f"{result.quarantined} row(s) quarantined "
                f"({len(result.problems)} problem(s)): see {report}"
            )
