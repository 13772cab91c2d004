"""civitas serve — the production server: gunicorn with several worker processes."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def run_gunicorn(*, host: str, port: int, workers: int, threads: int = 4) -> None:
    from gunicorn.app.base import BaseApplication

    from civitas.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 60,
                "graceful_timeout": 20,
                "accesslog": "-",
                "forwarded_allow_ips": "127.0.0.1",
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Server().run()


class Command(BaseCommand):
    help = "Run the production web server (gunicorn, gthread workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CIVITAS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1) * 2))
        parser.add_argument("--no-collectstatic", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command

        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(
            f"Civitas serving on http://{options['host']}:{options['port']} "
            f"with {options['workers']} workers"
        )
        if options["workers"] > 1 and not settings.CIVITAS_CACHE_URL:
            self.stdout.write(
                self.style.WARNING(
                    f"Rate limits (Open311) are counted by each of the {options['workers']} "
                    "workers apart, so they allow that many times more; set CIVITAS_CACHE_URL="
                    "redis://HOST:6379/0 to count them together."
                )
            )
        run_gunicorn(host=options["host"], port=options["port"], workers=options["workers"])
