"""civitas apikey create NAME [--scope S ...] [--unit CODE] [--expires-days N]
civitas apikey revoke PREFIX [--reason TEXT]
civitas apikey list"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from civitas.kit import clock
from civitas.kit.errors import CivitasError
from civitas.org import services
from civitas.org.access import API_KEY_SCOPES
from civitas.org.models import ApiKey, Unit

ACTOR = "cli"


class Command(BaseCommand):
    help = "Create, revoke and list API keys for machine clients."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a key; the key is the last line printed")
        create.add_argument("name")
        create.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=sorted(API_KEY_SCOPES),
            help="repeat for several (default: reference:read)",
        )
        create.add_argument("--unit", help="code of the unit the key acts for")
        create.add_argument("--expires-days", type=int, default=None)
        revoke = sub.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", default="")
        sub.add_parser("list", help="list keys (never their secrets)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except CivitasError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, options: dict[str, Any]) -> None:
        unit = None
        if options.get("unit"):
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(
                    f"no unit with code {options['unit']!r}; "
                    "list units with: civitas shell or the admin"
                )
        expires = None
        if options.get("expires_days"):
            expires = clock.now() + timedelta(days=options["expires_days"])
        with transaction.atomic():
            key, clear = services.create_api_key(
                actor=ACTOR,
                name=options["name"],
                scopes=options.get("scopes") or ["reference:read"],
                unit=unit,
                expires_at=expires,
            )
        self.stderr.write(
            f"API key {key.name!r} created (prefix {key.prefix}, scopes "
            f"{', '.join(key.scopes)}). Store it now: it is not shown again."
        )
        self.stdout.write(clear)

    def _revoke(self, options: dict[str, Any]) -> None:
        key = ApiKey.objects.filter(prefix=options["prefix"]).first()
        if key is None:
            raise CommandError(f"no API key with prefix {options['prefix']!r}")
        with transaction.atomic():
            services.revoke_api_key(actor=ACTOR, key=key, reason=options["reason"])
        self.stdout.write(f"revoked {key}")

    def _list(self, options: dict[str, Any]) -> None:
        for key in ApiKey.objects.select_related("unit"):
            state = "revoked" if key.revoked_at else "active"
            self.stdout.write(
                f"{key.prefix}\t{state}\t{key.name}\t{','.join(key.scopes)}\t"
                f"{key.unit.code if key.unit else '-'}"
            )
