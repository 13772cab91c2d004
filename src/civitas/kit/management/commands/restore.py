"""civitas restore PATH — check the archive, restore database and files, check the result.

    civitas restore /srv/backups/today.tar                 into DATABASE_URL (must be empty)
    civitas restore today.tar --force                      replace what is there
    civitas restore today.tar --database-url postgresql://…/civitas_check   a test restore

Nothing is touched unless every checksum matches. Afterwards the row counts and migrations are
compared with the manifest and the audit chain is verified; each check is reported, and the
exit code is non-zero if any fails. Stop the web processes and workers first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from civitas.kit import backup

TARGET = "restore_target"


def target_alias(url: str | None) -> str:
    """The connection to restore into: DATABASE_URL, or another database named by URL."""
    if not url:
        return "default"
    parsed = dict(dj_database_url.parse(url))
    connections.settings[TARGET] = connections.configure_settings(
        {"default": dict(parsed), TARGET: parsed}
    )[TARGET]
    return TARGET


def _say(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"… {message}", file=sys.stderr)  # above the progress bar, not through it


class Command(BaseCommand):
    help = "Restore a backup archive after checking it; check the restored data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the archive written by `civitas backup`")
        parser.add_argument("--force", action="store_true", help="replace a non-empty database")
        parser.add_argument("--database-url", help="restore into this database instead")
        parser.add_argument("--media-dir", help="instead of MEDIA_ROOT")
        parser.add_argument("--model-dir", help="instead of CIVITAS_MODEL_DIR")
        parser.add_argument("--quiet", action="store_true", help="no progress")

    def handle(self, *args: Any, **options: Any) -> None:
        from tqdm import tqdm

        say = (lambda _m: None) if options["quiet"] else _say
        bar = tqdm(desc="files", unit="file", file=sys.stderr, disable=options["quiet"])
        alias = target_alias(options["database_url"])
        try:
            report = backup.restore(
                Path(options["path"]),
                alias=alias,
                media_dir=Path(options["media_dir"]) if options["media_dir"] else None,
                model_dir=Path(options["model_dir"]) if options["model_dir"] else None,
                force=options["force"],
                say=say,
                progress=bar.update,
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
            if alias == TARGET:
                connections[alias].close()
        for check in report.checks:
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name}: {check.detail}")
        m = report.manifest
        if not report.ok:
            raise CommandError(
                f"restored from {report.path}, but {sum(not c.ok for c in report.checks)} checks "
                "failed (above): do not start the application on this database"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"restored {report.path} (made {m['created_at']}): "
                f"{sum(m['row_counts'].values())} rows, {len(m['migrations'])} migrations, "
                f"audit head #{m['audit_head']['seq']}, all checks passed"
            )
        )
