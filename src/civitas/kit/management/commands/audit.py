"""civitas audit verify — exit 0 when the chain is intact, 1 naming the first bad entry."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from civitas.kit import audit


class Command(BaseCommand):
    help = "Check the audit chain: civitas audit verify [--json]"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="walk the whole chain and check every link")
        verify.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit.verify()
        if options.get("json"):
            self.stdout.write(json.dumps(result.__dict__))
        elif result.ok:
            self.stdout.write(
                self.style.SUCCESS(f"audit chain intact: {result.checked} entries verified")
            )
        else:
            self.stderr.write(
                self.style.ERROR(
                    f"audit chain BROKEN at entry #{result.first_bad_seq}: {result.problem} "
                    f"({result.checked} entries before it verified)"
                )
            )
        if not result.ok:
            raise SystemExit(1)
