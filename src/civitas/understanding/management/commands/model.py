"""civitas model train|list|activate|rollback — the learned models of each city.

civitas model train --city CODE [--kind classifier|router] [--keep-active]
civitas model list [--city CODE] [--kind KIND]
civitas model activate --city CODE --version N [--kind KIND]
civitas model rollback --city CODE [--kind KIND]
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from civitas.kit.errors import CivitasError
from civitas.understanding import store
from civitas.understanding.models import ModelKind, ModelVersion

TRAINERS: dict[str, str] = {
    ModelKind.CLASSIFIER.value: "civitas.understanding.classifier.train",
    ModelKind.ROUTER.value: "civitas.understanding.routing.train",
}


class Command(BaseCommand):
    help = "Train, list, activate and roll back the learned models of a city."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        kinds = {"choices": ModelKind.values, "default": ModelKind.CLASSIFIER}
        t = sub.add_parser("train", help="train a new version from the city's appeals")
        t.add_argument("--city", required=True)
        t.add_argument("--kind", **kinds)  # type: ignore[arg-type]
        t.add_argument(
            "--keep-active", action="store_true", help="store the new version without activating it"
        )
        ls = sub.add_parser("list", help="list the versions with their scores")
        ls.add_argument("--city")
        ls.add_argument("--kind", choices=ModelKind.values)
        a = sub.add_parser("activate", help="make a stored version the active one")
        a.add_argument("--city", required=True)
        a.add_argument("--kind", **kinds)  # type: ignore[arg-type]
        a.add_argument("--version", type=int, required=True)
        r = sub.add_parser("rollback", help="activate the version before the active one")
        r.add_argument("--city", required=True)
        r.add_argument("--kind", **kinds)  # type: ignore[arg-type]

    def handle(self, *args: Any, **o: Any) -> None:
        try:
            getattr(self, "_" + o["action"])(o)
        except (CivitasError, store.ModelUnavailable) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc

    def _train(self, o: dict[str, Any]) -> None:
        self.stderr.write(f"training the {o['kind']} of {o['city']}...")
        train = import_string(TRAINERS[o["kind"]])
        mv = train(city=o["city"], by="cli", activate=False if o["keep_active"] else None)
        self._show(mv)

    def _list(self, o: dict[str, Any]) -> None:
        qs = ModelVersion.objects.all()
        if o.get("city"):
            qs = qs.filter(city=o["city"])
        if o.get("kind"):
            qs = qs.filter(kind=o["kind"])
        rows = list(qs)
        if not rows:
            self.stdout.write("no models yet: train one with `civitas model train --city CODE`")
        for mv in rows:
            self._show(mv)

    def _activate(self, o: dict[str, Any]) -> None:
        self._show(store.activate(kind=o["kind"], city=o["city"], version=o["version"], by="cli"))

    def _rollback(self, o: dict[str, Any]) -> None:
        self._show(store.rollback(kind=o["kind"], city=o["city"], by="cli"))

    def _show(self, mv: ModelVersion) -> None:
        scores = {k: v for k, v in (mv.scores or {}).items() if k != "per_class"}
        n = (mv.summary or {}).get("n_train")
        self.stdout.write(
            f"{'*' if mv.active else ' '} {mv.label:32} trained {mv.created_at:%Y-%m-%d %H:%M} "
            f"on {n} by {mv.created_by}  {json.dumps(scores, ensure_ascii=False)}"
        )
