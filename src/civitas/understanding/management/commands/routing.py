"""civitas routing propose [--city CODE] [--min-support N] [--min-share X] [--accept ID ...]

Lists the responsibility-list entries that the city's finished cases imply and the list lacks
or contradicts; ``--accept`` writes the named ones (a new version of the entry, with its
revision and audit entry; ``--reason`` says why).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.geo.models import Jurisdiction
from civitas.kit.errors import CivitasError
from civitas.understanding import routing


class Command(BaseCommand):
    help = "Propose responsibility-list entries learned from history; accept some."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("propose", help="list (and optionally accept) proposed entries")
        p.add_argument("--city", help="city code (default: every city)")
        p.add_argument("--min-support", type=int, default=10)
        p.add_argument("--min-share", type=float, default=0.8)
        p.add_argument("--days", type=int, default=365, help="history window in days")
        p.add_argument("--accept", nargs="*", default=[], metavar="ID")
        p.add_argument("--reason", default="", help="why the accepted entries change the list")

    def handle(self, *args: Any, **o: Any) -> None:
        if not 0 < o["min_share"] <= 1:
            raise CommandError("--min-share must be within (0, 1]")
        if o["min_support"] < 1 or o["days"] < 1:
            raise CommandError("--min-support and --days must be at least 1")
        cities = [o["city"]] if o.get("city") else self._cities()
        if (
            o.get("city")
            and not Jurisdiction.objects.filter(code=o["city"], parent__isnull=True).exists()
        ):
            raise CommandError(f"no city with code {o['city']!r}")
        if o["accept"] and not o.get("city"):
            raise CommandError("name the city (--city) of the proposals to accept")
        options = {"min_support": o["min_support"], "min_share": o["min_share"], "days": o["days"]}
        try:
            for city in cities:
                found = routing.proposals(city, **options)
                if not o["accept"]:
                    self._show(city, found)
                    continue
                by_id = {p.id: p for p in found}
                unknown = [i for i in o["accept"] if i not in by_id]
                if unknown:
                    raise CommandError(
                        f"no proposal {', '.join(unknown)} for {city} with these options; "
                        "list them again (history or the list may have changed)"
                    )
                for pid in o["accept"]:
                    rule = routing.accept(by_id[pid], "cli", o["reason"])
                    self.stdout.write(f"accepted {pid}: entry {rule.pk} v{rule.version} ({rule})")
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    @staticmethod
    def _cities() -> list[str]:
        return list(
            Jurisdiction.objects.filter(parent__isnull=True)
            .order_by("code")
            .values_list("code", flat=True)
        )

    def _show(self, city: str, found: list[routing.Proposal]) -> None:
        if not found:
            self.stdout.write(f"{city}: no proposals (history agrees with the list, or is thin)")
            return
        self.stdout.write(f"{city}: {len(found)} proposal(s)")
        for p in found:
            who = p.unit or f"{p.unit_type} at {p.level}"
            where = f" within {p.jurisdiction}" if p.jurisdiction else ""
            current = f"entry {p.current_rule}" if p.current_rule else "no entry"
            self.stdout.write(
                f"  {p.id}  {p.kind:11} {p.matter} @{p.level}{where} → {who}: "
                f"{p.agree}/{p.support} ({p.share:.0%}) vs list {p.list_agree}/{p.support} "
                f"({p.list_share:.0%}), now {current}"
            )
