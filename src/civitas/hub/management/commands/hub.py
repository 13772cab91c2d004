"""civitas hub load DATASET FILE [--mode append|replace] [--as USERNAME]
civitas hub batches DATASET

Load a CSV, XLSX or JSON file into a dataset of the data-sharing hub, whole or not at all, with
a progress bar (stderr); the summary goes to stdout. A rejected file names its first problems
by row and field and where to fix them (the batch page's quarantine, or the file itself).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.kit.errors import CivitasError

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = "The data-sharing hub: load a file into a dataset, list a dataset's batches."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="check and load a CSV, XLSX or JSON file")
        load.add_argument("dataset", help="the dataset's code")
        load.add_argument("file", type=Path, help="the file (CSV, XLSX or JSON)")
        load.add_argument("--mode", choices=("append", "replace"), default="append")
        load.add_argument(
            "--as",
            dest="username",
            default="",
            help="act as this person (a data steward of the owner unit); "
            "default: the command line itself",
        )
        load.add_argument("--quiet", action="store_true", help="no progress bar")
        batches = sub.add_parser("batches", help="the dataset's batches, newest first")
        batches.add_argument("dataset", help="the dataset's code")
        batches.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "load":
                self.load(options)
            else:
                self.batches(options)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    # -- load --

    def load(self, options: dict[str, Any]) -> None:
        from django.urls import reverse
        from tqdm import tqdm

        from civitas.hub import ingest
        from civitas.hub.models import BatchStatus

        ds = _dataset(options["dataset"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        actor: Any = "command line"
        if options["username"]:
            from civitas.org.models import User

            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"no active person named {options['username']!r}")
        started = time.perf_counter()
        batch = ingest.stage_file(actor, ds, path, filename=path.name, mode=options["mode"])
        self.stderr.write(
            f"batch {batch.number} of {ds.code}: about {batch.rows_total:,} rows, mode {batch.mode}"
        )
        bar = tqdm(
            total=batch.rows_total or None,
            unit=" rows",
            unit_scale=True,
            disable=options["quiet"],
            file=self.stderr._out,
            desc="checking and loading",
        )

        def progress(done: int, total: int | None) -> None:
            bar.update(done - bar.n)

        try:
            batch = ingest.run(batch, progress=progress, actor=actor)
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        page = reverse("hub-batch", args=[batch.pk])
        if batch.status == BatchStatus.APPLIED:
            report = batch.report
            self.stdout.write(
                f"applied: {batch.rows_loaded:,} records loaded into {ds.code} "
                f"(batch {batch.number}, {batch.mode}) in {elapsed:.1f} s "
                f"({batch.rows_loaded / max(elapsed, 1e-9):,.0f} rows/s)"
            )
            if report.get("replaced") is not None and batch.mode == "replace":
                self.stdout.write(f"replaced: {report['replaced']:,} earlier records removed")
            areas = report.get("areas") or {}
            if areas:
                self.stdout.write(
                    "areas: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in areas.items())
                )
            ds.refresh_from_db()
            self.stdout.write(f"the dataset now holds {ds.record_count:,} records")
            return
        if batch.status == BatchStatus.REJECTED:
            self.stdout.write(f"rejected: nothing was loaded. {batch.message}")
            for p in batch.report.get("problems", [])[:SHOWN_PROBLEMS]:
                self.stdout.write(f"  {p['count']:>7,} × {p['field'] or '(row)'}: {p['example']}")
            first = batch.report.get("first", [])
            if first:
                self.stdout.write("the first problems:")
            for p in first[:SHOWN_PROBLEMS]:
                self.stdout.write(f"  row {p['row']}, {p['field'] or '(row)'}: {p['message']}")
            if "file" in batch.report:
                self.stdout.write(f"  the file: {batch.report['file']['message']}")
            self.stdout.write(
                f"fix the rows in the quarantine on the batch page ({page}) and run it again, "
                "or correct the file and load it again"
            )
            raise CommandError(f"batch {batch.number} rejected")
        self.stdout.write(f"{batch.get_status_display()}: {batch.message}")
        raise CommandError(f"batch {batch.number} {batch.status}")

    # -- batches --

    def batches(self, options: dict[str, Any]) -> None:
        ds = _dataset(options["dataset"])
        rows = list(ds.batches.order_by("-number")[: max(1, options["limit"])])
        if not rows:
            self.stdout.write(f"{ds.code} has no batches yet")
            return
        self.stdout.write(
            f"{'batch':>5}  {'status':<9} {'mode':<7} {'source':<6} {'rows':>10} "
            f"{'loaded':>10} {'bad':>8}  {'finished':<16}  file / by"
        )
        for b in rows:
            finished = b.finished_at.strftime("%Y-%m-%d %H:%M") if b.finished_at else "—"
            self.stdout.write(
                f"{b.number:>5}  {b.status:<9} {b.mode:<7} {b.source:<6} {b.rows_total:>10,} "
                f"{b.rows_loaded:>10,} {b.rows_bad:>8,}  {finished:<16}  "
                f"{b.filename or '(pushed)'} / {b.created_by}"
            )


def _dataset(code: str) -> Any:
    from civitas.hub.models import Dataset

    ds = Dataset.objects.filter(code=code).first()
    if ds is None:
        raise CommandError(f"no dataset {code!r} (civitas hub batches needs a dataset's code)")
    return ds
