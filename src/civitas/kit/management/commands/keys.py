"""civitas keys — the keys that encrypt personal data at rest (see civitas.kit.crypto).

civitas keys new       print a new random key (for CIVITAS_ENCRYPTION_KEYS or the blind index)
civitas keys check     how many stored values each key opens, plaintext left, values no key opens
civitas keys rotate    re-encrypt every encrypted column under the first key, and recompute blind
                       indexes; in batches of one transaction each, safe while the site runs
                       (rows being edited are skipped and retried), and resumable (rows already
                       under the first key are left as they are)

Rotation: make a key, put it FIRST in CIVITAS_ENCRYPTION_KEYS (keep the old ones after it),
restart every process, run `civitas keys rotate`, check with `civitas keys check` that the old
keys open nothing, then remove them and restart again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import ExpressionWrapper, F
from tqdm import tqdm

from civitas.kit import audit, crypto

ACTOR = "command:keys"
RETRIES = 5


@dataclass
class Tally:
    """Counts of one model's values (never the values)."""

    rows: int = 0
    values: int = 0
    by_key: dict[int, int] = field(default_factory=dict)
    plaintext: int = 0
    undecryptable: int = 0
    stale_digests: int = 0
    rewritten: int = 0
    busy: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "values": self.values,
            "by_key": {str(k + 1): n for k, n in sorted(self.by_key.items())},
            "plaintext": self.plaintext,
            "undecryptable": self.undecryptable,
            "stale_digests": self.stale_digests,
            "rewritten": self.rewritten,
            "busy": self.busy,
        }


def _raw(target: crypto.Target) -> dict[str, Any]:
    """The stored columns as they are (tokens), without the fields' decryption."""
    out: dict[str, Any] = {
        f"raw__{name}": ExpressionWrapper(F(name), output_field=models.TextField())
        for name in target.encrypted
    }
    for index, _source, _kind in target.indexes:
        out[f"raw__{index}"] = ExpressionWrapper(F(index), output_field=models.TextField())
    return out


def _open(token: str, tally: Tally) -> tuple[str | None, int | None]:
    """(plaintext, key position) of a stored value; counts it. None, None: no key opens it."""
    if not token:
        return "", None
    tally.values += 1
    if not crypto.is_token(token):
        tally.plaintext += 1
        return token, None
    ring = crypto.keyring()
    for i, f in enumerate(ring.fernets):
        try:
            plain = f.decrypt(token.encode()).decode()
        except InvalidToken:
            continue
        tally.by_key[i] = tally.by_key.get(i, 0) + 1
        return plain, i
    tally.undecryptable += 1
    return None, None


def check(target: crypto.Target, tally: Tally, bar: Any, batch: int) -> None:
    qs = target.model._base_manager.order_by("pk").values("pk", **_raw(target))
    for row in qs.iterator(chunk_size=batch):
        tally.rows += 1
        plains = {}
        for name in target.encrypted:
            plains[name], _ = _open(row[f"raw__{name}"] or "", tally)
        for index, source, kind in target.indexes:
            plain = plains.get(source)
            if plain is not None and crypto.digest(plain, kind) != (row[f"raw__{index}"] or ""):
                tally.stale_digests += 1
        bar.update(1)


def _rotate_rows(target: crypto.Target, pks: list[Any], tally: Tally) -> list[Any]:
    """Re-encrypt the rows ``pks`` in one transaction; the ids of rows left for later (locked by
    someone else, or changed between reading and writing)."""
    base = target.model._base_manager
    left: list[Any] = []
    with transaction.atomic():
        qs = base.filter(pk__in=pks).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            # Rows being edited now are skipped, not waited for; they are retried at the end.
            qs = qs.select_for_update(skip_locked=True, of=("self",), no_key=True)
        rows = list(qs.values("pk", **_raw(target)))
        seen = {r["pk"] for r in rows}
        left += [pk for pk in pks if pk not in seen]
        ring = crypto.keyring()
        for row in rows:
            changes: dict[str, Any] = {}
            same: dict[str, Any] = {}
            plains: dict[str, str | None] = {}
            for name in target.encrypted:
                stored = row[f"raw__{name}"] or ""
                plain, key = _open(stored, tally)
                plains[name] = plain
                same[name] = crypto.Ciphertext(stored)
                if plain and key != 0:  # under an older key, or still plaintext
                    changes[name] = crypto.Ciphertext(ring.multi.encrypt(plain.encode()).decode())
            for index, source, kind in target.indexes:
                plain = plains.get(source)
                if plain is None:
                    continue
                value = crypto.digest(plain, kind)
                if value != (row[f"raw__{index}"] or ""):
                    tally.stale_digests += 1
                    changes[index] = value
            if not changes:
                continue
            # Written only if no one changed the row since it was read (a check that also holds
            # on databases without row locks).
            if base.filter(pk=row["pk"], **same).update(**changes):
                tally.rewritten += 1
            else:
                left.append(row["pk"])
    return left


def rotate(target: crypto.Target, tally: Tally, bar: Any, batch: int) -> None:
    base = target.model._base_manager
    last: Any = None
    busy: list[Any] = []
    while True:
        qs = base.order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        pks = list(qs.values_list("pk", flat=True)[:batch])
        if not pks:
            break
        last = pks[-1]
        left = _rotate_rows(target, pks, tally)
        tally.rows += len(pks) - len(left)
        busy += left
        bar.update(len(pks))
    for attempt in range(RETRIES):
        if not busy:
            break
        time.sleep(0.2 * (attempt + 1))
        again: list[Any] = []
        for i in range(0, len(busy), batch):
            chunk = busy[i : i + batch]
            left = _rotate_rows(target, chunk, tally)
            tally.rows += len(chunk) - len(left)
            again += left
        busy = again
    tally.busy = len(busy)


class Command(BaseCommand):
    help = "Encryption keys of personal data: new, check, rotate"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("new", help="print a new random key")
        new.add_argument("--count", type=int, default=1)
        for name, text in (
            ("check", "count stored values by the key that opens them"),
            ("rotate", "re-encrypt everything under the first key"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--batch", type=int, default=0, help="rows per transaction")
            p.add_argument("--model", default="", help="only this model (app_label.Model)")
            p.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "new":
            for _ in range(max(1, options["count"])):
                self.stdout.write(crypto.new_key())
            return
        from django.conf import settings

        batch = options["batch"] or getattr(settings, "CIVITAS_ENCRYPTION_BATCH", 500)
        if batch <= 0:
            raise CommandError("--batch must be positive")
        found = crypto.targets()
        if options["model"]:
            found = [t for t in found if t.label.lower() == options["model"].lower()]
            if not found:
                raise CommandError(
                    f"{options['model']} has no encrypted fields; models that have: "
                    + ", ".join(t.label for t in crypto.targets())
                )
        ring = crypto.keyring()
        tallies: dict[str, Tally] = {}
        total = sum(t.model._base_manager.count() for t in found)
        work = check if action == "check" else rotate
        with tqdm(
            total=total, unit="row", desc=action, disable=options["no_progress"], leave=False
        ) as bar:
            for target in found:
                tally = tallies[target.label] = Tally()
                work(target, tally, bar, batch)
        rotating = action == "rotate"
        for label, tally in tallies.items():
            keys = ", ".join(f"key {k + 1}: {n}" for k, n in sorted(tally.by_key.items()))
            self.stdout.write(
                f"{label}: {tally.rows} rows, {tally.values} values ({keys or 'no tokens'}); "
                f"plaintext {tally.plaintext}, undecryptable {tally.undecryptable}, "
                f"stale digests {tally.stale_digests}"
                + (f", rewritten {tally.rewritten}, busy {tally.busy}" if rotating else "")
            )
        sums = Tally()
        for tally in tallies.values():
            sums.rows += tally.rows
            sums.values += tally.values
            sums.plaintext += tally.plaintext
            sums.undecryptable += tally.undecryptable
            sums.stale_digests += tally.stale_digests
            sums.rewritten += tally.rewritten
            sums.busy += tally.busy
            for k, n in tally.by_key.items():
                sums.by_key[k] = sums.by_key.get(k, 0) + n
        old = sum(n for k, n in sums.by_key.items() if k > 0)
        if action == "rotate":
            with transaction.atomic():
                audit.record(
                    actor=ACTOR,
                    action="keys.rotate",
                    object_type="encryption",
                    object_id=crypto.key_id(ring.keys[0]),
                    extra={
                        "keys": len(ring.keys),
                        "models": {label: t.as_dict() for label, t in tallies.items()},
                    },
                )
            self.stdout.write(
                f"Rotated: {sums.rewritten} rows rewritten under key 1 "
                f"({crypto.key_id(ring.keys[0])}) of {sums.rows} seen; {sums.busy} rows busy "
                f"(run again), {sums.undecryptable} values no key opens."
            )
        else:
            self.stdout.write(
                f"{sums.values} values: {sums.by_key.get(0, 0)} under key 1 "
                f"({crypto.key_id(ring.keys[0])}), {old} under older keys, {sums.plaintext} "
                f"plaintext, {sums.undecryptable} that no key opens; "
                f"{sums.stale_digests} stale digests."
            )
        if sums.undecryptable:
            raise CommandError(
                f"{sums.undecryptable} stored values cannot be decrypted with any key in "
                "CIVITAS_ENCRYPTION_KEYS: put back the key that was removed (last in the list)."
            )
        if action == "rotate" and sums.busy:
            raise CommandError(
                f"{sums.busy} rows were being edited: run `civitas keys rotate` again."
            )
        if action == "check" and (old or sums.plaintext or sums.stale_digests):
            self.stdout.write("Run `civitas keys rotate` to bring them under key 1.")
