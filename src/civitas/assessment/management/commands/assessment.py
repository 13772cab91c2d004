"""civitas assessment refresh [--full | --since YYYY-MM-DD]
civitas assessment show --user NAME [--period YYYY-MM] [--group streets|departments]
                        [--city CODE]"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civitas.assessment import services
from civitas.kit.errors import CivitasError


class Command(BaseCommand):
    help = "Keep the assessment roll-ups up to date, and print a ranking."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        refresh = sub.add_parser("refresh", help="recount the days touched since the last run")
        how = refresh.add_mutually_exclusive_group()
        how.add_argument("--full", action="store_true", help="recount every day")
        how.add_argument("--since", help="recount the days of cases changed since this date")
        show = sub.add_parser("show", help="print a ranking as a person sees it")
        show.add_argument("--user", required=True, help="user name whose view to print")
        show.add_argument("--period", default="")
        show.add_argument("--group", default="streets", choices=["streets", "departments"])
        show.add_argument("--city", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _refresh(self, options: dict[str, Any]) -> None:
        since = None
        if options.get("since"):
            try:
                since = datetime.fromisoformat(options["since"])
            except ValueError:
                raise CommandError("--since takes a date: YYYY-MM-DD") from None
            if since.tzinfo is None:
                since = since.replace(tzinfo=services.zone())
        with transaction.atomic():
            done = services.rebuild() if options["full"] else services.refresh(since=since)
        self.stdout.write(
            f"recounted {done.days} day(s): {done.rows} row(s) in {done.seconds:.2f} s "
            f"(events up to #{done.event_mark})"
        )

    def _show(self, options: dict[str, Any]) -> None:
        from civitas.assessment import selectors
        from civitas.org.models import User

        actor = User.objects.filter(username=options["user"]).first()
        if actor is None:
            raise CommandError(f"no user {options['user']!r}")
        t = selectors.table(
            actor,
            group=options["group"],
            period=options["period"] or None,
            city=options["city"] or None,
        )
        head = f"{t.city} {t.group} {t.period.label} (change against {t.previous.label})"
        self.stdout.write(head)
        for ln in t.lines:
            rank = "-" if ln.rank is None else str(ln.rank)
            score = "-" if ln.score is None else f"{ln.score:6.2f}"
            self.stdout.write(
                f"{rank:>4} {score:>7} {ln.counts['dispatched']:>7}  {ln.unit.code}  {ln.unit.name}"
            )
