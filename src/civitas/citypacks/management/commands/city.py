"""civitas city import PACK [--reason TEXT]
civitas city check PACK
civitas city export DIR [--city CODE]
civitas city build {boston,changsha,demo} [--data DIR] --out PACK
civitas city locate FILE --lat COL --lon COL [--out FILE]   (without --out: to stdout)"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import transaction

from civitas.kit.errors import CivitasError

ACTOR = "cli"
BUILDER_NAMES = ("boston", "changsha", "demo")


class _Bars:
    """Progress of long stages on stderr: tqdm bars on a terminal, one line per stage otherwise."""

    def __init__(self, stderr: OutputWrapper) -> None:
        self.stderr = stderr
        self.tty = stderr.isatty()
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            from tqdm import tqdm

            bar = self.bars.get(stage)
            if bar is None:
                bar = self.bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
        elif done >= total:
            self.stderr.write(f"{stage}: {total}")

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class Command(BaseCommand):
    help = "Import, check, export and build city packs; locate the rows of a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="check a city pack and load it, all or nothing")
        imp.add_argument("pack", type=Path, help="the pack folder (holding manifest.json)")
        imp.add_argument("--reason", default="", help="why (recorded in the audit trail)")
        check = sub.add_parser("check", help="check a city pack without importing it")
        check.add_argument("pack", type=Path)
        export = sub.add_parser("export", help="write an installed city as a city pack")
        export.add_argument("dir", type=Path, help="a new or empty folder, or an earlier pack")
        export.add_argument("--city", help="the city's code (needed when several are installed)")
        build = sub.add_parser("build", help="build a city pack from a city's public data")
        build.add_argument("name", choices=BUILDER_NAMES)
        build.add_argument("--data", type=Path, default=None, help="the data folder to read")
        build.add_argument("--out", type=Path, required=True, help="the pack folder to write")
        locate = sub.add_parser("locate", help="add the jurisdictions of each row's point")
        locate.add_argument("file", type=Path, help="a CSV file (may be gzipped)")
        locate.add_argument("--lat", required=True, help="the latitude column")
        locate.add_argument("--lon", required=True, help="the longitude column")
        locate.add_argument(
            "--out",
            type=Path,
            default=None,
            help="the CSV file to write (default: standard output)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from civitas.citypacks.pack import PackInvalid

        try:
            getattr(self, f"_{options['action']}")(options)
        except PackInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            by_file = Counter(p.file for p in exc.problems)
            where = ", ".join(f"{n} in {f}" for f, n in sorted(by_file.items()))
            n = len(exc.problems)
            raise CommandError(
                f"the pack has {n} problem{'s' if n != 1 else ''} ({where}); nothing was "
                "imported: fix them and run the command again"
            ) from exc
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _say(self, message: str) -> None:
        self.stderr.write(message)

    def _import(self, options: dict[str, Any]) -> None:
        from civitas.citypacks.importer import import_pack

        bars = _Bars(self.stderr)
        try:
            with transaction.atomic():
                report = import_pack(
                    options["pack"], actor=ACTOR, progress=bars, reason=options["reason"]
                )
        finally:
            bars.close()
        self.stdout.write(report.summary())
        self.stdout.write(self.style.SUCCESS(f"imported {report.city} from {options['pack']}"))

    def _check(self, options: dict[str, Any]) -> None:
        from civitas.citypacks.pack import read_pack

        bars = _Bars(self.stderr)
        try:
            pack = read_pack(options["pack"], progress=bars)
        finally:
            bars.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"{options['pack']}: city {pack.city} is ready to import: "
                f"{len(pack.jurisdictions)} jurisdictions, {len(pack.units)} units, "
                f"{len(pack.matters)} matters, {len(pack.responsibilities)} responsibilities"
            )
        )

    def _export(self, options: dict[str, Any]) -> None:
        from civitas.citypacks.exporter import cities, export_city

        city = options.get("city")
        if not city:
            installed = cities()
            if not installed:
                raise CommandError("no city is installed: import one with civitas city import")
            if len(installed) > 1:
                raise CommandError(
                    f"several cities are installed ({', '.join(installed)}): choose one "
                    "with --city CODE"
                )
            city = installed[0]
        out = export_city(city, options["dir"])
        self.stdout.write(self.style.SUCCESS(f"exported {city} to {out}"))

    def _build(self, options: dict[str, Any]) -> None:
        from civitas.citypacks.builders import BUILDERS

        name, out, data = options["name"], options["out"], options["data"]
        if data is not None and not data.is_dir():
            raise CommandError(f"--data {data}: no such folder")
        try:
            BUILDERS[name](data, out, progress=self._say)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"building the {name} pack failed: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"wrote the {name} pack to {out}; load it with: civitas city import {out}"
            )
        )

    def _locate(self, options: dict[str, Any]) -> None:
        from civitas.citypacks.locate_csv import locate_csv

        src: Path = options["file"]
        if not src.is_file():
            raise CommandError(f"{src}: no such file")
        out: Path | None = options["out"]
        try:
            stats = locate_csv(src, out, options["lat"], options["lon"], progress=self._say)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{src}: {exc}") from exc
        # Without --out the located rows go to stdout: the summary goes to stderr.
        summary = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in (stats or {}).items())
        self.stderr.write(f"{src} -> {out or 'stdout'}; {summary}")
