"""civitas retention — anonymise closed appeals and disputes past their retention period.

    civitas retention --dry-run                  what would be anonymised, nothing changes
    civitas retention                            anonymise (what the daily jobs do)
    civitas retention --before 2023-01-01        cases closed before that day instead
    civitas retention --only appeals             one kind only
    civitas retention --hold appeal:T-20230101-0001 --reason "court case (2024) 123" --user admin
    civitas retention --release dispute:T-TJ-2023-0004 --reason "judgment final" --user admin

The periods are CIVITAS_RETENTION_APPEALS_DAYS and CIVITAS_RETENTION_DISPUTES_DAYS (0: never);
``--before`` names the day explicitly (open cases and cases on legal hold are never touched).
It lives in the top layer because it drives appeals and mediation together.
"""

from __future__ import annotations

import sys
from argparse import ArgumentTypeError
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from civitas.appeals import retention as appeal_retention
from civitas.appeals.models import Appeal
from civitas.kit.errors import CivitasError
from civitas.mediation import retention as dispute_retention
from civitas.mediation.models import Dispute
from civitas.org.models import User


def _batch(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ArgumentTypeError(f"{value!r}: give the rows per transaction as a whole number ≥ 1")
    return n


def _day(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--before {value!r}: give a day as YYYY-MM-DD") from None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


class Command(BaseCommand):
    help = "Anonymise closed appeals and disputes past their retention period; legal holds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
        parser.add_argument(
            "--before", metavar="YYYY-MM-DD", help="cases closed before this day (local time)"
        )
        parser.add_argument("--only", choices=["appeals", "disputes"], help="one kind only")
        parser.add_argument("--batch", type=_batch, default=None, help="rows per transaction")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
        hold = parser.add_mutually_exclusive_group()
        hold.add_argument("--hold", metavar="KIND:CODE", help="appeal:TICKET or dispute:CODE")
        hold.add_argument("--release", metavar="KIND:CODE", help="lift a legal hold")
        parser.add_argument("--reason", default="", help="why the hold is set or lifted")
        parser.add_argument("--user", default="", help="the administrator setting the hold")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hold"] or options["release"]:
            self._hold(options)
            return
        before = _day(options["before"]) if options["before"] else None
        kinds = [options["only"]] if options["only"] else ["appeals", "disputes"]
        runners = {"appeals": appeal_retention.run, "disputes": dispute_retention.run}
        summaries = []
        for kind in kinds:
            summaries.append(str(self._run(kind, runners[kind], before, options)))
        for line in summaries:
            self.stdout.write(line)
        verb = "dry run, nothing changed" if options["dry_run"] else "done"
        self.stdout.write(self.style.SUCCESS(f"retention: {verb}"))

    def _run(self, kind: str, runner: Any, before: datetime | None, options: Any) -> Any:
        from tqdm import tqdm

        bar = tqdm(desc=kind, unit="case", file=sys.stderr, disable=options["quiet"])

        def total(n: int) -> None:
            bar.total = n
            bar.refresh()

        try:
            return runner(
                before=before,
                dry_run=options["dry_run"],
                batch_size=options["batch"],
                progress=bar.update,
                on_total=total,
            )
        except CivitasError as exc:
            raise CommandError(f"{kind}: {exc}") from None
        finally:
            bar.close()

    def _hold(self, options: Any) -> None:
        target = options["hold"] or options["release"]
        kind, _, code = target.partition(":")
        if kind not in {"appeal", "dispute"} or not code:
            raise CommandError(f"{target!r}: write appeal:TICKET or dispute:CODE")
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError("--user: name the administrator who sets or lifts the hold")
        hold = bool(options["hold"])
        try:
            if kind == "appeal":
                appeal = Appeal.objects.filter(ticket=code).first()
                if appeal is None:
                    raise CommandError(f"no appeal with ticket {code}")
                appeal_retention.set_legal_hold(
                    actor=user, appeal=appeal, hold=hold, reason=options["reason"]
                )
            else:
                dispute = Dispute.objects.filter(code=code).first()
                if dispute is None:
                    raise CommandError(f"no dispute with code {code}")
                dispute_retention.set_legal_hold(
                    actor=user, dispute=dispute, hold=hold, reason=options["reason"]
                )
        except CivitasError as exc:
            raise CommandError(str(exc)) from None
        state = "on legal hold" if hold else "no longer on legal hold"
        self.stdout.write(self.style.SUCCESS(f"{kind} {code} is {state}"))
