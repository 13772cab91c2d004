"""Wake-ups for idle workers through a broker (Redis pub/sub); the database stays the queue.

Tasks are rows in PostgreSQL (django-tasks-db): queued in the transaction of the change that
needs them and claimed with ``SELECT … FOR UPDATE SKIP LOCKED``. Without a broker an idle
``civitas worker`` looks for work every ``--interval`` seconds. With ``CIVITAS_BROKER_URL``
set (``redis://host:port/db``), every queued task publishes a wake-up once its transaction has
committed, and idle workers, subscribed to the channel, start at once.

The message carries nothing but "look now": a lost message (broker restarting, a worker
reconnecting) costs at most one polling interval, and a message for a task already taken
costs one empty query. Nothing is ever written twice, so nothing can disagree.

Both ends fail soft. Publishing never raises into a request and, after a failure, does not
try again for a few seconds; a listener that loses the broker logs it once, polls meanwhile
and reconnects with a growing pause.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django_tasks.signals import task_enqueued

log = logging.getLogger(__name__)

RETRY_AFTER = 5.0  # seconds a publisher leaves a failed broker alone
MAX_BACKOFF = 30.0  # longest pause between a listener's attempts to reconnect
TIMEOUT = 0.5  # socket timeouts: a dead broker must not hold up a request


def url() -> str:
    return str(getattr(settings, "CIVITAS_BROKER_URL", "") or "")


def channel() -> str:
    return str(getattr(settings, "CIVITAS_BROKER_CHANNEL", "") or "civitas:tasks")


def _client(address: str, *, timeout: float | None = TIMEOUT) -> Any:
    import redis

    return redis.Redis.from_url(
        address,
        socket_timeout=timeout,
        socket_connect_timeout=TIMEOUT,
        health_check_interval=0,
    )


class _Publisher:
    """One connection per process (made lazily, so each forked web worker has its own)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: Any = None
        self.address = ""
        self.down_until = 0.0
        self.down = False

    def publish(self, message: str = "task") -> bool:
        address = url()
        if not address:
            return False
        now = time.monotonic()
        if now < self.down_until:
            return False
        with self.lock:
            try:
                if self.client is None or self.address != address:
                    self.client, self.address = _client(address), address
                self.client.publish(channel(), message)
            except Exception as exc:  # the broker only speeds things up: never fail a request
                self.client = None
                self.down_until = now + RETRY_AFTER
                if not self.down:
                    log.warning(
                        "broker %s unreachable (%s); workers will poll until it is back",
                        _safe(address),
                        type(exc).__name__,
                    )
                self.down = True
                return False
            if self.down:
                log.info("broker %s reachable again", _safe(address))
                self.down = False
            return True


_publisher = _Publisher()


def wake() -> bool:
    """Tell idle workers to look for work now; False when there is no broker or it is down."""
    return _publisher.publish()


@receiver(task_enqueued, dispatch_uid="civitas.kit.broker.wake")
def _on_enqueued(sender: Any, **kwargs: Any) -> None:
    if url():
        # After the commit: a worker woken earlier would not see the row yet. Outside a
        # transaction this runs at once.
        transaction.on_commit(wake)


class Listener:
    """A worker's subscription. ``wait(timeout)`` returns True when woken, False when the
    timeout passed (or there is no broker); it never raises."""

    def __init__(self, address: str | None = None, name: str | None = None) -> None:
        self.address = url() if address is None else address
        self.name = name or channel()
        self.pubsub: Any = None
        self.client: Any = None
        self.down = False
        self.failures = 0
        self.next_try = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def _connect(self) -> bool:
        if self.pubsub is not None:
            return True
        if time.monotonic() < self.next_try:
            return False
        try:
            self.client = _client(self.address, timeout=None)
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self.name)
            self.pubsub = pubsub
        except Exception as exc:
            self._failed(exc)
            return False
        if self.down:
            log.warning("broker %s reachable again: wake-ups resume", _safe(self.address))
        self.down, self.failures = False, 0
        return True

    def _failed(self, exc: Exception) -> None:
        self.close()
        self.failures += 1
        pause = min(MAX_BACKOFF, 0.5 * 2 ** (self.failures - 1))
        self.next_try = time.monotonic() + pause
        if not self.down:
            log.warning(
                "broker %s unreachable (%s: %s); polling the database until it is back",
                _safe(self.address),
                type(exc).__name__,
                exc,
            )
        self.down = True

    def connect(self) -> bool:
        """Subscribe now (call before looking for work, so no wake-up falls in between)."""
        return self.enabled and self._connect()

    def wait(self, timeout: float, stop: threading.Event | None = None) -> bool:
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (stop is not None and stop.is_set()):
                return False
            step = min(left, 1.0)  # check ``stop`` at least every second
            if not self.enabled or not self._connect():
                if stop is not None:
                    stop.wait(step)
                else:
                    time.sleep(step)
                continue
            try:
                message = self.pubsub.get_message(timeout=step)
            except Exception as exc:
                self._failed(exc)
                continue
            if message is not None and message.get("type") == "message":
                self._drain()
                return True

    def _drain(self) -> None:
        """Swallow wake-ups already waiting: one round of work answers them all."""
        try:
            while self.pubsub.get_message(timeout=0) is not None:
                pass
        except Exception as exc:
            self._failed(exc)

    def close(self) -> None:
        for thing in (self.pubsub, self.client):
            try:
                if thing is not None:
                    thing.close()
            except Exception:  # noqa: S110 - closing a dead connection
                pass
        self.pubsub = self.client = None


def _safe(address: str) -> str:
    """The broker's address without a password."""
    if "@" in address:
        scheme, _, rest = address.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}"
    return address
