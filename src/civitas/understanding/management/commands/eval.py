"""``civitas eval classify|route|locate-text|duplicates``: measure the models on files.

Each subcommand trains on what it is given, scores on the test file and prints one JSON
object on its last line of output (progress goes to stderr before it)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from civitas.understanding.evaluation import InputError

RUNNERS = {
    "classify": "civitas.understanding.evaluation.classify.run",
    "route": "civitas.understanding.evaluation.route.run",
    "locate-text": "civitas.understanding.evaluation.locate_text.run",
    "duplicates": "civitas.understanding.evaluation.duplicates.run",
}


class Command(BaseCommand):
    help = "Evaluate classification, routing, places in text and duplicates on CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        c = sub.add_parser("classify", help="train a matter classifier and score label_l1")
        c.add_argument("--train", required=True)
        c.add_argument("--test", required=True)
        c.add_argument("--unlabelled", nargs="*", default=[])
        r = sub.add_parser("route", help="learn routing from history and score QUEUE")
        r.add_argument("--train", required=True)
        r.add_argument("--test", required=True)
        r.add_argument("--boundaries", default=None)
        t = sub.add_parser("locate-text", help="find each message's district from its text")
        t.add_argument("--test", required=True)
        t.add_argument("--streets", required=True)
        t.add_argument("--codes", required=True)
        d = sub.add_parser("duplicates", help="flag records duplicating an earlier open case")
        d.add_argument("--train", required=True)
        d.add_argument("--test", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        what = options.pop("what")
        try:
            result = import_string(RUNNERS[what])(**_only(options, what))
        except InputError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True))


def _only(options: dict[str, Any], what: str) -> dict[str, Any]:
    keys = {
        "classify": ("train", "test", "unlabelled"),
        "route": ("train", "test", "boundaries"),
        "locate-text": ("test", "streets", "codes"),
        "duplicates": ("train", "test"),
    }[what]
    return {k: options[k] for k in keys}
