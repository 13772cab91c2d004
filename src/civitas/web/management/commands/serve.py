"""civitas serve — the production server: gunicorn with several worker processes.

Workers default to 2 × cores + 1 gthread processes. Each is replaced after ``--max-requests``
requests (with jitter, so they do not all restart together), and a request running longer than
``--timeout`` seconds gets its worker killed and replaced. ``kill -HUP`` on the master reloads
the code gracefully (new workers start, old ones finish their requests); ``kill -TERM`` stops
after the requests in flight, within ``--graceful-timeout`` seconds.

Metrics from all workers add up: the command points ``PROMETHEUS_MULTIPROC_DIR`` at a folder
(a new temporary one unless set), empties it at start, and removes a temporary one at exit.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


def prepare_metrics_dir() -> tuple[Path, bool]:
    """The multiprocess metrics folder, emptied; and whether it is ours to remove at exit."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if given:
        path, temporary = Path(given), False
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # counts of an earlier run would add to this one's
            stale.unlink()
    else:
        path, temporary = Path(tempfile.mkdtemp(prefix="civitas-metrics-")), True
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported before the folder was set: choose the mode again
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return path, temporary


def run_gunicorn(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int = 4,
    timeout: int = 60,
    graceful_timeout: int = 30,
    max_requests: int = 2000,
    forwarded_allow_ips: str = "127.0.0.1",
    pidfile: str | None = None,
) -> None:
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    from civitas.kit import logctx
    from civitas.wsgi import application

    class ServerLog(Logger):
        """gunicorn's own lines (workers booting, timeouts) in the format of Civitas's."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            formatter: logging.Formatter = (
                logctx.JsonFormatter()
                if settings.CIVITAS_LOG_FORMAT == "json"
                else logctx.TextFormatter()
            )
            for handler in self.error_log.handlers:
                handler.setFormatter(formatter)

    def child_exit(server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        from civitas.web.ops import metrics

        multiprocess.mark_process_dead(worker.pid)
        try:
            metrics.merge_dead_worker(worker.pid)
        except Exception:  # never take the master down over metrics
            server.log.exception("metrics: could not merge the files of worker %s", worker.pid)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": timeout,
                "graceful_timeout": graceful_timeout,
                "keepalive": 5,
                "max_requests": max_requests,
                "max_requests_jitter": max(1, max_requests // 10) if max_requests else 0,
                # Civitas writes its own access line (route pattern, no query string, request
                # id): gunicorn's would repeat it with the raw path.
                "accesslog": None,
                "errorlog": "-",
                "forwarded_allow_ips": forwarded_allow_ips,
                "pidfile": pidfile,
                "child_exit": child_exit,
                "logger_class": ServerLog,
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Server().run()


class Command(BaseCommand):
    help = "Run the production web server (gunicorn, gthread workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        # String defaults from the environment go through type=int like typed values, so a
        # bad CIVITAS_WEB_* value is reported as such ("invalid int value"), not a traceback.
        env = os.environ.get
        parser.add_argument("--host", default=env("CIVITAS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env("PORT", "8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=env("CIVITAS_WEB_WORKERS", "0"),
            help="worker processes (default 2 × cores + 1, or CIVITAS_WEB_WORKERS)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=env("CIVITAS_WEB_THREADS", "4"),
            help="threads per worker (default 4)",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=env("CIVITAS_WEB_TIMEOUT", "60"),
            help="seconds before a stuck worker is killed and replaced (default 60)",
        )
        parser.add_argument(
            "--graceful-timeout",
            type=int,
            default=env("CIVITAS_WEB_GRACEFUL_TIMEOUT", "30"),
            help="seconds to finish requests in flight on stop or reload (default 30)",
        )
        parser.add_argument(
            "--max-requests",
            type=int,
            default=env("CIVITAS_WEB_MAX_REQUESTS", "2000"),
            help="requests before a worker is replaced, 0 never (default 2000, ±10%%)",
        )
        parser.add_argument(
            "--forwarded-allow-ips",
            default=env("CIVITAS_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            help="proxies trusted for X-Forwarded-Proto (default 127.0.0.1)",
        )
        parser.add_argument("--pid", default=env("CIVITAS_PIDFILE") or None, help="pid file")
        parser.add_argument("--no-collectstatic", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command

        options["workers"] = options["workers"] or default_workers()
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be 1 or more")
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        metrics_dir, temporary = prepare_metrics_dir()
        self.stdout.write(
            f"Civitas serving on http://{options['host']}:{options['port']} "
            f"with {options['workers']} workers × {options['threads']} threads "
            f"(metrics in {metrics_dir})"
        )
        if options["workers"] > 1 and not settings.CIVITAS_CACHE_URL:
            self.stdout.write(
                self.style.WARNING(
                    f"Rate limits (Open311) are counted by each of the {options['workers']} "
                    "workers apart, so they allow that many times more; set CIVITAS_CACHE_URL="
                    "redis://HOST:6379/0 to count them together."
                )
            )
        self.stdout.flush()
        master = os.getpid()
        try:
            run_gunicorn(
                host=options["host"],
                port=options["port"],
                workers=options["workers"],
                threads=options["threads"],
                timeout=options["timeout"],
                graceful_timeout=options["graceful_timeout"],
                max_requests=options["max_requests"],
                forwarded_allow_ips=options["forwarded_allow_ips"],
                pidfile=options["pid"],
            )
        finally:
            # gunicorn's workers are forks that leave through here too: only the master cleans.
            if temporary and os.getpid() == master:
                shutil.rmtree(metrics_dir, ignore_errors=True)
