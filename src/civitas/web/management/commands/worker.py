"""civitas worker — background work: the scheduler and the queued tasks, in one process.

Each round: claim the periodic jobs whose period nobody has claimed yet (the deadline check
and outbox delivery every minute, auto-closing every hour, roll-ups and pruning every day),
then run every task that is ready in the database queue. Run one worker, or several on one
or more machines: a period is claimed once and a task is run once.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from civitas.kit import scheduler, tasks


class Command(BaseCommand):
    help = "Run the scheduler and the background tasks (--once: one round, then exit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="seconds between rounds when there is nothing to do (default 5)",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="only run queued tasks (when another process runs the scheduler)",
        )
        parser.add_argument("--list", action="store_true", help="list the jobs and exit")
        parser.add_argument("--worker-id", default="", help="a name unique in the pool")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        worker_id = options["worker_id"] or scheduler.worker_name()
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            self.stdout.write(f"{signal.strsignal(signum)}: stopping after this round")
            stop.set()

        if not options["once"]:
            signal.signal(signal.SIGINT, _stop)
            signal.signal(signal.SIGTERM, _stop)
            names = ", ".join(f"{j.name} ({j.period}s)" for j in scheduler.jobs())
            self.stdout.write(f"Civitas worker {worker_id}: {names}")
        while True:
            close_old_connections()
            try:
                claimed = [] if options["no_scheduler"] else scheduler.tick(worker=worker_id)
                ran = tasks.run_ready(worker_id=worker_id)
            except Exception as exc:  # keep the worker alive: the database may be restarting
                self.stderr.write(f"worker round failed: {type(exc).__name__}: {exc}")
                claimed, ran = [], 0
                if options["once"]:
                    raise
            if claimed or ran or options["verbosity"] > 1:
                stamp = time.strftime("%H:%M:%S")
                self.stdout.write(f"{stamp} queued {', '.join(claimed) or '-'}; ran {ran} task(s)")
            if options["once"] or stop.is_set():
                break
            if not ran:
                stop.wait(options["interval"])
            if stop.is_set():
                break

    def _list(self) -> None:
        for row in scheduler.status():
            last = row["last_period"].isoformat() if row["last_period"] else "never"
            state = {True: "ok", False: "FAILED", None: "-"}[row["ok"]]
            self.stdout.write(
                f"{row['name']}\tevery {row['period']}s\t{row['target']}\tlast {last} {state}"
                + (f"\t{row['outcome'][:80]}" if row["outcome"] else "")
            )
