"""civitas backup [PATH] — one archive of the database, media and model files, verified.

    civitas backup                              var/backups/civitas-YYYYMMDD-HHMMSS.tar
    civitas backup /srv/backups/today.tar
    civitas backup --verify /srv/backups/today.tar   check an archive without restoring it

Exit 0 only when the archive was read back and every check passed (see civitas.kit.backup).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.kit import backup, clock


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"… {message}", file=sys.stderr)  # above the progress bar, not through it


class Command(BaseCommand):
    help = "Write a verified backup archive (database, media, models, manifest)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="the archive to write (a .tar file)")
        parser.add_argument("--verify", action="store_true", help="only check PATH, deeply")
        parser.add_argument("--media-dir", help="instead of MEDIA_ROOT")
        parser.add_argument("--model-dir", help="instead of CIVITAS_MODEL_DIR")
        parser.add_argument("--quiet", action="store_true", help="no progress")

    def handle(self, *args: Any, **options: Any) -> None:
        say = (lambda _m: None) if options["quiet"] else _say
        try:
            if options["verify"]:
                if not options["path"]:
                    raise CommandError("--verify needs the archive's path")
                report = backup.verify(Path(options["path"]), deep=True)
            else:
                report = self._write(options, say)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        for check in report.checks:
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name}: {check.detail}")
        m = report.manifest
        if not report.ok:
            raise CommandError(f"{report.path}: the archive does not check")
        size = report.path.stat().st_size
        self.stdout.write(
            self.style.SUCCESS(
                f"backup {report.path}: {size / 1e6:.1f} MB, {len(m['members'])} members, "
                f"{sum(m['row_counts'].values())} rows in {len(m['row_counts'])} tables, "
                f"audit head #{m['audit_head']['seq']}, {m['engine']}, made {m['created_at']}"
            )
        )

    def _write(self, options: Any, say: Any) -> backup.Report:
        from tqdm import tqdm

        path = Path(
            options["path"]
            or Path(settings.CIVITAS_VAR) / "backups" / f"civitas-{clock.now():%Y%m%d-%H%M%S}.tar"
        )
        bar = tqdm(desc="archiving", unit="file", file=sys.stderr, disable=options["quiet"])
        try:
            return backup.backup(
                path,
                media_dir=Path(options["media_dir"]) if options["media_dir"] else None,
                model_dir=Path(options["model_dir"]) if options["model_dir"] else None,
                say=say,
                progress=bar.update,
            )
        finally:
            bar.close()
