"""civitas demo [--host 127.0.0.1] [--port 8000] [--workers N] [--no-serve] [--reimport]
             [--no-appeals]

One command from a fresh checkout to a running demo: migrate the database (SQLite under var/
by default), build the Harbour City pack into var/demo-pack, import it, create one demo
sign-in per role and an Open311 API key (printed; kept in var/demo-open311-key.txt),
load four departments' shared datasets into the hub with grants between them once
(civitas.citypacks.demo.hub), seed about 300 appeals of the last 60 days once
(civitas.citypacks.demo.appeals), collect static files, and serve with gunicorn (see
``civitas serve``).

The demo sign-ins have public passwords: never point this command at a real database.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civitas.citypacks.demo import CITY, build_pack, create_demo_users
from civitas.kit.errors import CivitasError

ACTOR = "cli:demo"
IMPORT_REASON = "demo city pack"


def pack_digest(pack: Path) -> str:
    """A fingerprint of the pack's files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in pack.rglob("*") if p.is_file()):
        digest.update(path.relative_to(pack).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def already_imported(digest: str) -> bool:
    """Was this very pack the last one imported for the demo city (and is the city there)?"""
    from civitas.geo.models import Jurisdiction
    from civitas.kit.models import AuditEntry

    last = (
        AuditEntry.objects.filter(action="citypack.import", object_id=CITY)
        .order_by("-seq")
        .only("reason")
        .first()
    )
    return (
        last is not None
        and last.reason == f"{IMPORT_REASON} {digest}"
        and Jurisdiction.objects.filter(code=CITY).exists()
    )


def login_table(logins: list[tuple[str, str, str, str]]) -> list[str]:
    header = ("username", "password", "role", "unit")
    rows = [header, *[(u, p, r, unit or "-") for u, p, r, unit in logins]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, build and import the Harbour City pack, create demo sign-ins "
        "(public passwords: demo only), collect static files and serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CIVITAS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="gunicorn worker processes (default 2; SQLite likes few)",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="prepare everything, print the sign-ins, and stop",
        )
        parser.add_argument(
            "--reimport",
            action="store_true",
            help="import the pack even when this very pack was imported last",
        )
        parser.add_argument(
            "--no-appeals",
            action="store_true",
            help="do not seed the ~300 demo appeals (seeded once, then kept)",
        )
        parser.add_argument(
            "--pack",
            type=Path,
            default=None,
            help="where to write the pack (default: var/demo-pack)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._run(options)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(text))

    def _run(self, options: dict[str, Any]) -> None:
        database = settings.DATABASES["default"]
        self._step(
            f"1/7 migrating the database ({database['ENGINE'].rsplit('.', 1)[-1]}: "
            f"{database['NAME']})"
        )
        call_command("migrate", interactive=False, verbosity=0)

        pack: Path = options["pack"] or Path(settings.CIVITAS_VAR) / "demo-pack"
        self._step(f"2/7 building the demo city pack in {pack}")
        build_pack(None, pack, progress=lambda message: self.stdout.write(f"  {message}"))

        digest = pack_digest(pack)
        if not options["reimport"] and already_imported(digest):
            self._step(f"3/7 importing: skipped, {CITY} already holds this pack ({digest})")
        else:
            self._step(f"3/7 importing the pack ({digest})")
            self._import(pack, digest)

        self._step("4/7 creating the demo sign-ins")
        with transaction.atomic():
            logins = create_demo_users(actor=ACTOR)
        for line in login_table(logins):
            self.stdout.write(f"  {line}")
        self.stdout.write(
            "  These passwords are public: use them only on this demo, never on real data."
        )
        self._open311(options)
        self._hub()
        self._seed_appeals(skip=options["no_appeals"])
        self._participation()

        self._step(f"6/7 collecting static files into {settings.STATIC_ROOT}")
        call_command("collectstatic", interactive=False, verbosity=0)

        url = f"http://{options['host']}:{options['port']}/"
        if options["no_serve"]:
            self._step(
                f"7/7 ready (not serving): run `civitas demo` or `civitas serve`, "
                f"then open {url} and sign in as one of the users above"
            )
            return
        self._step(f"7/7 serving {url} with a background worker (Ctrl+C stops both)")
        # Deadline checks, notifications and roll-ups run in `civitas worker` beside the server.
        worker = subprocess.Popen([sys.executable, "-m", "civitas", "worker"])
        try:
            call_command(
                "serve",
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                no_collectstatic=True,
            )
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()

    def _open311(self, options: dict[str, Any]) -> None:
        """Service definitions for a few matters and an API key for Open311 apps."""
        from civitas.citypacks.demo.open311 import setup

        base = f"http://{options['host']}:{options['port']}/open311/v2"
        for line in setup(actor=ACTOR, var_dir=Path(settings.CIVITAS_VAR), base_url=base):
            self.stdout.write(f"  {line}")

    def _hub(self) -> None:
        """Four departments' shared datasets loaded through the hub, and grants between them
        (once)."""
        from civitas.citypacks.demo import hub

        done = hub.setup(progress=lambda message: self.stdout.write(f"  hub: {message}"))
        if not any(done.values()):
            self.stdout.write("  hub: skipped, the demo's shared datasets and grants are there")
        for line in hub.GUIDE:
            self.stdout.write(f"  hub: {line}")

    def _participation(self) -> None:
        """Mediation committees and disputes, organisations and tasks, a consultation and
        suggestions (once)."""
        from civitas.citypacks.demo import consultations, mediation, participation, suggestions

        for name, part in (
            ("mediation", mediation),
            ("participation", participation),
            ("consultations", consultations),
            ("suggestions", suggestions),
        ):
            lines = part.setup(
                progress=lambda message, n=name: self.stdout.write(f"  {n}: {message}")
            )
            for line in lines:
                self.stdout.write(f"  {name}: {line}")

    def _import(self, pack: Path, digest: str) -> None:
        from civitas.citypacks.importer import import_pack

        def progress(stage: str, done: int, total: int) -> None:
            if done >= total:
                self.stdout.write(f"  {stage}: {total}")

        with transaction.atomic():
            report = import_pack(
                pack, actor=ACTOR, progress=progress, reason=f"{IMPORT_REASON} {digest}"
            )
        for line in report.summary().splitlines():
            self.stdout.write(f"  {line}")

    def _seed_appeals(self, *, skip: bool) -> None:
        from civitas.citypacks.demo.appeals import seed

        if skip:
            self._step("5/7 demo appeals: skipped (--no-appeals)")
            return
        self._step("5/7 seeding demo appeals (the last 60 days, through the real services)")
        made = seed(progress=lambda message: self.stdout.write(f"  {message}"))
        if not made:
            self.stdout.write("  skipped: the demo city already holds its demo appeals")
        else:
            self.stdout.write(
                f"  {sum(made.values())} appeals: "
                + ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in made.most_common())
            )
        self._train_models()
        self._risks()

    def _risks(self) -> None:
        """Plant a few risks among the demo appeals (once) and run the live detectors on them,
        so that the demo opens with alerts."""
        from civitas.citypacks.demo import risk

        made = risk.plant(progress=lambda message: self.stdout.write(f"  planted: {message}"))
        if not made:
            return
        for line in risk.detect():
            self.stdout.write(f"  detectors {line}")

    def _train_models(self) -> None:
        """A first classifier and router learned from the demo city's appeals (once)."""
        from civitas.understanding import classifier, routing, store

        for kind, train in ((classifier.KIND, classifier.train), (routing.KIND, routing.train)):
            if store.active(kind, CITY) is not None:
                continue
            try:
                mv = train(city=CITY, by=ACTOR)
            except CivitasError as exc:
                self.stdout.write(f"  {kind} not trained: {exc.message}")
                continue
            scores = {k: v for k, v in (mv.scores or {}).items() if isinstance(v, float)}
            self.stdout.write(
                f"  trained {mv.label} on {mv.summary.get('n_train')} cases"
                + "".join(f", {k} {v:.2f}" for k, v in scores.items())
            )
