"""civitas worker — background work: the scheduler and the queued tasks, in one process.

Each round: claim the periodic jobs whose period nobody has claimed yet (the deadline check
and outbox delivery every minute, auto-closing every hour, roll-ups and pruning every day),
requeue the tasks of workers that stopped answering, then run every task that is ready in the
database queue. Run one worker, or several on one or more machines: a period is claimed once
and a task is run once at a time (again only if its worker was lost).

Between rounds an idle worker waits ``--interval`` seconds, or less: with CIVITAS_BROKER_URL
set it starts as soon as a task is queued anywhere (see civitas.kit.broker).
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connection

from civitas.kit import broker, scheduler, tasks


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
        parser.add_argument(
            "--list", action="store_true", help="list the jobs, workers and task queue, then exit"
        )
        parser.add_argument("--worker-id", default="", help="a name unique in the pool")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            self._list()
            return
        worker_id = tasks.new_worker_id(options["worker_id"] or scheduler.worker_name())
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            self.stdout.write(f"{signal.strsignal(signum)}: stopping after this round")
            stop.set()

        if not options["once"]:
            signal.signal(signal.SIGINT, _stop)
            signal.signal(signal.SIGTERM, _stop)
            names = ", ".join(f"{j.name} ({j.period}s)" for j in scheduler.jobs())
            via = f"; woken by {broker._safe(broker.url())}" if broker.url() else ""
            self.stdout.write(f"Civitas worker {worker_id}: {names}{via}")
        heart = tasks.Heartbeat(worker_id).start()
        listener = broker.Listener()
        listener.connect()  # subscribed before the first look, so no wake-up is missed
        last_sweep = 0.0
        failing = False
        try:
            while True:
                close_old_connections()
                try:
                    claimed = [] if options["no_scheduler"] else scheduler.tick(worker=worker_id)
                    swept = {"requeued": 0, "given_up": 0}
                    if time.monotonic() - last_sweep >= tasks.beat_seconds():
                        swept = tasks.requeue_stale()
                        last_sweep = time.monotonic()
                    ran = tasks.run_ready(worker_id=worker_id)
                    heart.count(ran)
                except Exception as exc:  # keep the worker alive: the database may be restarting
                    if not failing or options["verbosity"] > 1:
                        self.stderr.write(f"worker round failed: {type(exc).__name__}: {exc}")
                    failing = True
                    connection.close()
                    claimed, ran, swept = [], 0, {"requeued": 0, "given_up": 0}
                    if options["once"]:
                        raise
                else:
                    if failing:
                        self.stderr.write("worker rounds succeed again")
                    failing = False
                if claimed or ran or any(swept.values()) or options["verbosity"] > 1:
                    stamp = time.strftime("%H:%M:%S")
                    extra = "".join(f"; {k} {v}" for k, v in swept.items() if v)
                    self.stdout.write(
                        f"{stamp} queued {', '.join(claimed) or '-'}; ran {ran} task(s){extra}"
                    )
                if options["once"] or stop.is_set():
                    break
                if not ran:
                    listener.wait(options["interval"], stop)
                if stop.is_set():
                    break
        finally:
            listener.close()
            heart.stop()

    def _list(self) -> None:
        for row in scheduler.status():
            last = row["last_period"].isoformat() if row["last_period"] else "never"
            state = {True: "ok", False: "FAILED", None: "-"}[row["ok"]]
            self.stdout.write(
                f"{row['name']}\tevery {row['period']}s\t{row['target']}\tlast {last} {state}"
                + (f"\t{row['outcome'][:80]}" if row["outcome"] else "")
            )
        seen = tasks.overview()
        self.stdout.write("")
        self.stdout.write(f"Workers (lease {tasks.lease_seconds():g}s):")
        for w in seen["workers"] or [{"worker_id": "none in the last day"}]:
            if "state" in w:
                self.stdout.write(
                    f"  {w['worker_id']}\t{w['state']}\tseen {w['seen_at']:%Y-%m-%d %H:%M:%S}"
                    f"\tran {w['tasks_run']}"
                )
            else:
                self.stdout.write(f"  {w['worker_id']}")
        counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted(seen["tasks"].items()))
        self.stdout.write(f"Tasks: {counts or 'none'}")
        for r in seen["running"]:
            self.stdout.write(
                f"  running {r['id']} {r['task']} on {r['worker']} (attempt {r['attempt']})"
            )
        for f in seen["failed"]:
            when = f"{f['finished_at']:%Y-%m-%d %H:%M}" if f["finished_at"] else "-"
            self.stdout.write(
                f"  failed {f['id']} {f['task']} {when} after {f['attempts']} attempt(s): "
                f"{f['error']}"
            )
