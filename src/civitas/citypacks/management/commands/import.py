"""civitas import boston311 FILE [--limit N] [--batch N] [--report CSV]

Replay a real city's service requests as appeals (see civitas.citypacks.boston311). The city's
pack must be imported first. Progress goes to stderr; the summary to stdout; rows that cannot
be read are written to the quarantine report (line, case id, field, problem).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.kit.errors import CivitasError

SOURCES = ("boston311",)


class Command(BaseCommand):
    help = "Import a real city's history as appeals: civitas import boston311 FILE."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", choices=SOURCES, help="which city's records")
        parser.add_argument("file", type=Path, help="the records (CSV, may be gzipped)")
        parser.add_argument("--limit", type=int, default=None, help="read at most N rows")
        parser.add_argument("--batch", type=int, default=2000, help="rows per transaction")
        parser.add_argument(
            "--report",
            type=Path,
            default=None,
            help="where to write the quarantined rows "
            "(default: CIVITAS_VAR/boston311-quarantine.csv, written only when there are some)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from civitas.citypacks import boston311

        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        started = time.perf_counter()

        def progress(report: boston311.Report) -> None:
            rate = report.read / max(time.perf_counter() - started, 1e-9)
            self.stderr.write(
                f"  read {report.read}, created {report.created}, skipped {report.already}, "
                f"quarantined {report.quarantined_rows} ({rate:,.0f} rows/s)"
            )

        try:
            report = boston311.replay(
                options["file"], limit=options["limit"], batch=options["batch"], progress=progress
            )
        except CivitasError as exc:
            raise CommandError(exc.message) from exc
        elapsed = time.perf_counter() - started
        for line in report.summary().splitlines():
            self.stdout.write(line)
        self.stdout.write(f"time: {elapsed:.1f} s ({report.read / max(elapsed, 1e-9):,.0f} rows/s)")
        if report.quarantined:
            path = options["report"] or Path(settings.CIVITAS_VAR) / "boston311-quarantine.csv"
            report.write_quarantine(path)
            self.stderr.write(f"quarantined rows written to {path}; the first ones:")
            for p in report.quarantined[:10]:
                self.stderr.write(f"  line {p.line} ({p.case or 'no id'}) {p.field}: {p.message}")
