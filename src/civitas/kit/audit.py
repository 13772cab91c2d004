"""The tamper-evident audit chain.

``record()`` appends an entry inside the caller's transaction: the head row is locked,
so concurrent writers append one after another and the chain never forks.
``verify()`` walks the chain and reports the first entry that was altered, removed or inserted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from civitas.kit import clock
from civitas.kit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _key() -> bytes:
    configured = getattr(settings, "CIVITAS_AUDIT_KEY", "")
    if configured:
        return configured.encode()
    return hashlib.sha256(b"civitas-audit:" + settings.SECRET_KEY.encode()).digest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, cls=DjangoJSONEncoder)


def compute_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    summary: Any,
    reason: str,
    prev_hash: str,
) -> str:
    payload = _canonical(
        [seq, at.isoformat(), actor, action, object_type, object_id, summary, reason, prev_hash]
    )
    return hmac.new(_key(), payload.encode(), hashlib.sha256).hexdigest()


def actor_label(actor: Any) -> str:
    """A stable text for whoever acted: a user, an API key, or the system."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    label = getattr(actor, "audit_label", None)
    if callable(label):
        return str(label())
    pk = getattr(actor, "pk", None)
    return f"{type(actor).__name__.lower()}:{pk}"


def record(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: Any,
    before: Any = None,
    after: Any = None,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Must run inside a transaction (the entry point owns it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside transaction.atomic()")
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    if extra:
        summary.update(extra)
    # Round-trip through JSON so the hash covers exactly what the database stores.
    summary = json.loads(_canonical(summary))
    at = clock.now()
    seq = head.last_seq + 1
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": actor_label(actor)[:120],
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "summary": summary,
        "reason": reason or "",
        "prev_hash": head.last_hash,
    }
    entry = AuditEntry.objects.create(**fields, entry_hash=compute_hash(**fields))
    head.last_seq, head.last_hash = seq, entry.entry_hash
    head.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def _entries(batch: int = 2000, using: str = "default") -> Iterator[AuditEntry]:
    last = 0
    while True:
        chunk = list(AuditEntry.objects.using(using).filter(seq__gt=last).order_by("seq")[:batch])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(using: str = "default") -> VerifyResult:
    """Walk the chain (of the database ``using``: a restored copy is checked the same way)."""
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    for entry in _entries(using=using):
        if entry.seq != expected_seq:
            kind = "removed" if entry.seq > expected_seq else "inserted or renumbered"
            return VerifyResult(
                False,
                checked,
                expected_seq,
                f"entry #{expected_seq} is missing (next is #{entry.seq}): an entry was {kind}",
            )
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False,
                checked,
                entry.seq,
                f"entry #{entry.seq} does not link to entry #{entry.seq - 1}: "
                "an entry was inserted or replaced",
            )
        recomputed = compute_hash(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            summary=entry.summary,
            reason=entry.reason,
            prev_hash=entry.prev_hash,
        )
        if not hmac.compare_digest(recomputed, entry.entry_hash):
            return VerifyResult(
                False, checked, entry.seq, f"entry #{entry.seq} was altered after it was written"
            )
        prev_hash, expected_seq, checked = entry.entry_hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.using(using).filter(id=1).first()
    last_seq = head.last_seq if head else 0
    last_hash = head.last_hash if head else GENESIS
    if last_seq != checked or last_hash != prev_hash:
        return VerifyResult(
            False,
            checked,
            checked + 1 if last_seq > checked else last_seq,
            f"the chain ends at #{checked} but its head records #{last_seq}: "
            "entries were removed from the end or the head was altered",
        )
    return VerifyResult(True, checked)
