"""Notifications through an outbox.

Services ``enqueue()`` messages inside their transaction, so a rolled-back change sends
nothing. ``deliver_pending()`` (background work) hands each message to the adapter of its
channel and records the outcome; a failed message is retried with backoff, then given up.
Adapters are small classes behind one interface; the console adapter is the default for
every channel, and tests use the in-memory one.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from civitas.kit import clock
from civitas.kit.models import OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class Adapter(Protocol):
    def send(self, *, recipient: str, subject: str, body: str) -> None: ...


class ConsoleAdapter:
    """Writes each message to standard output (the default: nothing leaves the machine)."""

    def __init__(self, channel: str = "") -> None:
        self.channel = channel

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        sys.stdout.write(f"[{self.channel} to {recipient}] {subject}\n{body}\n\n")


class MemoryAdapter:
    """Keeps messages in memory; tests read ``MemoryAdapter.sent``."""

    sent: list[dict[str, str]] = []

    def __init__(self, channel: str = "") -> None:
        self.channel = channel

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        MemoryAdapter.sent.append(
            {"channel": self.channel, "recipient": recipient, "subject": subject, "body": body}
        )


class EmailAdapter:
    """Sends through Django's e-mail backend (configure EMAIL_* settings)."""

    def __init__(self, channel: str = "email") -> None:
        self.channel = channel

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        from django.core.mail import send_mail

        send_mail(subject, body, None, [recipient], fail_silently=False)


def adapter_for(channel: str) -> Adapter:
    path = getattr(settings, "CIVITAS_NOTIFY_ADAPTERS", {}).get(
        channel, "civitas.kit.outbox.ConsoleAdapter"
    )
    adapter: Adapter = import_string(path)(channel)
    return adapter


def enqueue(
    *, channel: str, recipient: str, subject: str, body: str, topic: str = "", dedupe_key: str = ""
) -> OutboxMessage | None:
    """Queue a message in the caller's transaction (same dedupe_key: queued once)."""
    if not recipient:
        return None
    if dedupe_key and OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    return OutboxMessage.objects.create(
        channel=channel,
        recipient=recipient,
        subject=subject[:200],
        body=body,
        topic=topic,
        dedupe_key=dedupe_key or None,
        created_at=clock.now(),
        next_attempt_at=clock.now(),
    )


def deliver_pending(limit: int = 200) -> dict[str, int]:
    """Send what is due. Each message is claimed under a row lock, so two workers never send
    the same message twice."""
    counts = {"sent": 0, "failed": 0}
    now = clock.now()
    for _ in range(limit):
        with transaction.atomic():
            qs = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
                .order_by("id")
            )
            message = qs.first()
            if message is None:
                break
            try:
                adapter_for(message.channel).send(
                    recipient=message.recipient, subject=message.subject, body=message.body
                )
            except Exception as exc:  # any adapter failure is recorded and retried
                message.attempts += 1
                message.last_error = str(exc)[:500]
                if message.attempts >= MAX_ATTEMPTS:
                    message.state = OutboxMessage.State.FAILED
                else:
                    message.next_attempt_at = now + timedelta(minutes=2**message.attempts)
                counts["failed"] += 1
                log.warning("outbox: %s to %s failed: %s", message.channel, message.recipient, exc)
            else:
                message.state = OutboxMessage.State.SENT
                message.sent_at = clock.now()
                message.attempts += 1
                counts["sent"] += 1
            message.save()
    return counts


def summary() -> dict[str, Any]:
    from django.db.models import Count

    return dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")))
