"""civitas synth --appeals N [--city CODE] [--seed S] [--days D] [--batch B] [--force]

Write N synthetic appeals of an imported city (the demo city by default) for measurement:
see civitas.citypacks.synth. Never on a database with real appeals (refused without --force);
synthetic rows have no audit entries and are marked (submitted by ``cli:synth``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from civitas.citypacks.demo import CITY
from civitas.citypacks.synth import BATCH, generate, load_shapes
from civitas.kit.errors import CivitasError


class Command(BaseCommand):
    help = (
        "Write N synthetic appeals (with contacts, assignments, events, ratings) of an "
        "imported city, for measurement only: COPY on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--appeals", type=int, required=True, help="how many appeals")
        parser.add_argument("--city", default=CITY, help=f"city code (default {CITY})")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--days", type=int, default=730, help="spread over the last D days (default 730)"
        )
        parser.add_argument(
            "--batch", type=int, default=BATCH, help=f"appeals per batch (default {BATCH})"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="write even when the database holds real (non-synthetic) appeals",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        shapes = load_shapes()
        self.stdout.write(f"shapes from {shapes.source}")
        bar = tqdm(total=options["appeals"], unit="appeal", unit_scale=True, disable=None)
        try:
            summary = generate(
                city=options["city"],
                appeals=options["appeals"],
                seed=options["seed"],
                days=options["days"],
                force=options["force"],
                shapes=shapes,
                batch=options["batch"],
                progress=bar.update,
            )
        except CivitasError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        self.stdout.write(summary.line())
