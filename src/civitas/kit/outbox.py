"""Notifications through an outbox.

Services ``enqueue()`` messages inside their transaction, so a rolled-back change sends
nothing. ``deliver_pending()`` (background work) hands each message to the adapter of its
channel and records the outcome; a failed message is retried with backoff, then given up.
Adapters are small classes behind one interface; the console adapter is the default for
every channel, and tests use the in-memory one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import timedelta
from typing import Any, Protocol

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.module_loading import import_string

from civitas.kit import clock, netguard
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


class HttpSmsAdapter:
    """A generic HTTP SMS gateway: POSTs ``{"to", "text", "sender"}`` as JSON to
    ``CIVITAS_SMS_URL`` with ``Authorization: Bearer CIVITAS_SMS_TOKEN`` and a timeout of
    ``CIVITAS_SMS_TIMEOUT`` seconds. Any answer other than 2xx is a failure (retried).
    Off unless CIVITAS_SMS_URL is set; gateways with another request format subclass it and
    override ``payload()``/``headers()``."""

    def __init__(self, channel: str = "sms") -> None:
        self.channel = channel
        self.url = str(getattr(settings, "CIVITAS_SMS_URL", "") or "")
        self.token = str(getattr(settings, "CIVITAS_SMS_TOKEN", "") or "")
        self.sender = str(getattr(settings, "CIVITAS_SMS_SENDER", "") or "")
        self.timeout = float(getattr(settings, "CIVITAS_SMS_TIMEOUT", 10))

    def payload(self, *, recipient: str, subject: str, body: str) -> dict[str, str]:
        return {"to": recipient, "text": body or subject, "sender": self.sender}

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise RuntimeError("SMS gateway not configured: set CIVITAS_SMS_URL (http[s]://...)")
        data = json.dumps(
            self.payload(recipient=recipient, subject=subject, body=body), ensure_ascii=False
        ).encode()
        # Through the guarded client: the gateway's address is checked at connect time
        # (an internal gateway is listed in CIVITAS_FETCH_ALLOW) and redirects are not followed.
        try:
            with netguard.client(timeout=self.timeout) as http:
                response = http.post(self.url, content=data, headers=self.headers())
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"SMS gateway did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise RuntimeError(f"SMS gateway unreachable: {exc}") from exc
        status, answer = response.status_code, response.content[:500]
        if not 200 <= status < 300:
            raise RuntimeError(f"SMS gateway answered {status}: {answer!r}")


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
    fields = {
        "channel": channel,
        "recipient": recipient[:200],
        "subject": subject[:200],
        "body": body,
        "topic": topic[:80],
        "dedupe_key": dedupe_key[:200] or None,
        "created_at": clock.now(),
        "next_attempt_at": clock.now(),
    }
    if not dedupe_key:
        return OutboxMessage.objects.create(**fields)
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin leaves the caller intact
            return OutboxMessage.objects.create(**fields)
    except IntegrityError:
        return None


def max_attempts() -> int:
    return int(getattr(settings, "CIVITAS_OUTBOX_MAX_ATTEMPTS", MAX_ATTEMPTS))


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failure: the first delay, doubled each time."""
    first = float(getattr(settings, "CIVITAS_OUTBOX_RETRY_SECONDS", 120))
    return timedelta(seconds=first * 2 ** (attempts - 1))


LEASE = timedelta(minutes=10)
BATCH = 20


def _claim(now: Any, batch: int) -> list[OutboxMessage]:
    """Take up to ``batch`` due messages: lock them (skipping rows another deliverer holds),
    count the attempt and push their next attempt past a lease, then commit. No other
    deliverer sees them again unless this one dies without recording an outcome."""
    with transaction.atomic():
        claimed = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:batch]
        )
        if claimed:
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                next_attempt_at=now + LEASE, attempts=F("attempts") + 1
            )
    for m in claimed:
        m.attempts += 1
    return claimed


def deliver_pending(limit: int = 200) -> dict[str, int]:
    """Send what is due; return how many were sent, failed (to be retried) and given up.

    Messages are claimed in short transactions and sent outside them, so a slow gateway never
    holds a database lock; two deliverers never claim the same message.
    """
    counts = {"sent": 0, "failed": 0, "given_up": 0}
    adapters: dict[str, Adapter] = {}
    done = 0
    while done < limit:
        now = clock.now()
        batch = _claim(now, min(BATCH, limit - done))
        if not batch:
            break
        for message in batch:
            done += 1
            try:
                adapter = adapters.get(message.channel) or adapter_for(message.channel)
                adapters[message.channel] = adapter
                adapter.send(
                    recipient=message.recipient, subject=message.subject, body=message.body
                )
            except Exception as exc:  # any adapter failure is recorded and retried
                error = f"{type(exc).__name__}: {exc}"[:500]
                if message.attempts >= max_attempts():
                    counts["given_up"] += 1
                    OutboxMessage.objects.filter(pk=message.pk).update(
                        state=OutboxMessage.State.FAILED, last_error=error
                    )
                else:
                    counts["failed"] += 1
                    OutboxMessage.objects.filter(pk=message.pk).update(
                        next_attempt_at=clock.now() + retry_delay(message.attempts),
                        last_error=error,
                    )
                log.warning(
                    "outbox: %s to %s failed (attempt %d): %s",
                    message.channel,
                    message.recipient,
                    message.attempts,
                    error,
                )
            else:
                counts["sent"] += 1
                OutboxMessage.objects.filter(pk=message.pk).update(
                    state=OutboxMessage.State.SENT, sent_at=clock.now(), last_error=""
                )
    return counts


def deliver() -> dict[str, int]:
    """The scheduled job: deliver everything that is due."""
    total = {"sent": 0, "failed": 0, "given_up": 0}
    while True:
        counts = deliver_pending()
        for k, v in counts.items():
            total[k] += v
        if sum(counts.values()) < 200:
            return total


def summary() -> dict[str, Any]:
    from django.db.models import Count

    return dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")))


def requeue(*, ids: list[int]) -> int:
    """Give failed messages another round of attempts (an administrator's action)."""
    return OutboxMessage.objects.filter(pk__in=ids, state=OutboxMessage.State.FAILED).update(
        state=OutboxMessage.State.PENDING, attempts=0, next_attempt_at=clock.now(), last_error=""
    )
