"""The outbox: queued in the transaction, delivered by background work, retried, never twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from django.db import connection, transaction
from django.test import override_settings

from civitas.kit import clock, outbox
from civitas.kit.models import OutboxMessage

T0 = datetime(2025, 3, 7, 2, 0, tzinfo=UTC)


class FailingAdapter:
    """A gateway that is down."""

    calls = 0

    def __init__(self, channel: str = "") -> None:
        self.channel = channel

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        FailingAdapter.calls += 1
        raise ConnectionError("gateway unreachable")


class SlowAdapter:
    """Records every send from any thread, slowly enough for deliverers to overlap."""

    sent: ClassVar[list[str]] = []
    lock = threading.Lock()

    def __init__(self, channel: str = "") -> None:
        self.channel = channel

    def send(self, *, recipient: str, subject: str, body: str) -> None:
        time.sleep(0.005)
        with SlowAdapter.lock:
            SlowAdapter.sent.append(recipient)


MEMORY = {"sms": "civitas.kit.outbox.MemoryAdapter", "email": "civitas.kit.outbox.MemoryAdapter"}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    outbox.MemoryAdapter.sent.clear()
    FailingAdapter.calls = 0
    SlowAdapter.sent.clear()
    yield
    outbox.MemoryAdapter.sent.clear()


def queue(n: int = 1, **kw: Any) -> None:
    with transaction.atomic():
        for i in range(n):
            outbox.enqueue(
                channel=kw.get("channel", "sms"),
                recipient=kw.get("recipient", f"1380000{i:04d}"),
                subject="Hello",
                body="Body",
                dedupe_key=kw.get("dedupe_key", ""),
            )


@pytest.mark.django_db
class TestDelivery:
    @pytest.fixture(autouse=True)
    def _memory(self, settings: Any) -> None:
        settings.CIVITAS_NOTIFY_ADAPTERS = MEMORY

    def test_queued_messages_are_sent_once(self) -> None:
        queue(3)
        assert outbox.deliver_pending() == {"sent": 3, "failed": 0, "given_up": 0}
        assert [m["recipient"] for m in outbox.MemoryAdapter.sent] == [
            "13800000000",
            "13800000001",
            "13800000002",
        ]
        assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
        assert outbox.deliver_pending() == {"sent": 0, "failed": 0, "given_up": 0}
        assert len(outbox.MemoryAdapter.sent) == 3

    def test_a_rolled_back_change_sends_nothing(self) -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.enqueue(channel="sms", recipient="1", subject="s", body="b")
            raise RuntimeError("the change failed")
        outbox.deliver_pending()
        assert outbox.MemoryAdapter.sent == []

    def test_the_same_dedupe_key_is_queued_once(self) -> None:
        queue(1, recipient="a", dedupe_key="k1")
        queue(1, recipient="a", dedupe_key="k1")
        assert OutboxMessage.objects.count() == 1

    def test_no_recipient_no_message(self) -> None:
        assert outbox.enqueue(channel="sms", recipient="", subject="s", body="b") is None

    def test_the_scheduled_job_drains_everything(self) -> None:
        queue(450)
        assert outbox.deliver() == {"sent": 450, "failed": 0, "given_up": 0}

    def test_a_message_claimed_by_a_worker_that_died_is_sent_after_the_lease(self) -> None:
        with clock.frozen(T0):
            queue(1)
            outbox._claim(T0, 10)  # claimed, then the worker died before sending
            assert outbox.deliver_pending()["sent"] == 0
        with clock.frozen(T0 + outbox.LEASE):
            assert outbox.deliver_pending()["sent"] == 1
        assert OutboxMessage.objects.get().attempts == 2


@pytest.mark.django_db
class TestRetries:
    @pytest.fixture(autouse=True)
    def _failing(self, settings: Any) -> None:
        settings.CIVITAS_NOTIFY_ADAPTERS = {"sms": "tests.kit.test_outbox.FailingAdapter"}
        settings.CIVITAS_OUTBOX_MAX_ATTEMPTS = 3
        settings.CIVITAS_OUTBOX_RETRY_SECONDS = 60

    def test_backoff_then_given_up(self) -> None:
        with clock.frozen(T0):
            queue(1)
            assert outbox.deliver_pending() == {"sent": 0, "failed": 1, "given_up": 0}
            m = OutboxMessage.objects.get()
            assert m.attempts == 1 and m.state == "pending"
            assert m.next_attempt_at == T0 + timedelta(seconds=60)
            assert "ConnectionError: gateway unreachable" in m.last_error
            assert outbox.deliver_pending()["failed"] == 0  # not due yet
        with clock.frozen(T0 + timedelta(seconds=60)):
            assert outbox.deliver_pending()["failed"] == 1
            m.refresh_from_db()
            assert m.next_attempt_at == T0 + timedelta(seconds=60 + 120)  # doubled
        with clock.frozen(T0 + timedelta(seconds=180)):
            assert outbox.deliver_pending() == {"sent": 0, "failed": 0, "given_up": 1}
        m.refresh_from_db()
        assert m.state == "failed" and m.attempts == 3
        with clock.frozen(T0 + timedelta(days=1)):
            outbox.deliver_pending()
        assert FailingAdapter.calls == 3
        assert outbox.summary() == {"failed": 1}

    def test_an_administrator_can_send_it_again(self) -> None:
        with clock.frozen(T0):
            queue(1)
            OutboxMessage.objects.update(state="failed", attempts=3)
            assert outbox.requeue(ids=list(OutboxMessage.objects.values_list("pk", flat=True)))
            m = OutboxMessage.objects.get()
            assert m.state == "pending" and m.attempts == 0


class Gateway(BaseHTTPRequestHandler):
    """A stand-in SMS gateway on localhost."""

    received: ClassVar[list[dict[str, Any]]] = []
    status = 200
    delay = 0.0

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        time.sleep(type(self).delay)
        type(self).received.append({"body": body, "auth": self.headers.get("Authorization")})
        try:
            self.send_response(type(self).status)
            self.end_headers()
            self.wfile.write(b'{"ok": true}')
        except BrokenPipeError:
            pass  # the client gave up (the timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.received, Gateway.status, Gateway.delay = [], 200, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send"
    server.shutdown()
    server.server_close()


class TestHttpSms:
    def test_posts_json_with_the_token(self, gateway: str) -> None:
        with override_settings(
            CIVITAS_SMS_URL=gateway, CIVITAS_SMS_TOKEN="tok", CIVITAS_SMS_SENDER="12345"
        ):
            outbox.HttpSmsAdapter().send(recipient="13800000000", subject="s", body="您好")
        assert Gateway.received == [
            {"body": {"to": "13800000000", "text": "您好", "sender": "12345"}, "auth": "Bearer tok"}
        ]

    def test_an_error_answer_is_a_failure(self, gateway: str) -> None:
        Gateway.status = 503
        with (
            override_settings(CIVITAS_SMS_URL=gateway),
            pytest.raises(RuntimeError, match="answered 503"),
        ):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")

    def test_a_slow_gateway_times_out(self, gateway: str) -> None:
        Gateway.delay = 1.0
        with (
            override_settings(CIVITAS_SMS_URL=gateway, CIVITAS_SMS_TIMEOUT=0.2),
            pytest.raises(TimeoutError),
        ):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")

    def test_off_unless_configured(self) -> None:
        with override_settings(CIVITAS_SMS_URL=""), pytest.raises(RuntimeError, match="not conf"):
            outbox.HttpSmsAdapter().send(recipient="1", subject="s", body="b")

    @pytest.mark.django_db
    def test_through_the_outbox(self, gateway: str) -> None:
        with override_settings(
            CIVITAS_SMS_URL=gateway,
            CIVITAS_NOTIFY_ADAPTERS={"sms": "civitas.kit.outbox.HttpSmsAdapter"},
        ):
            queue(2)
            Gateway.status = 500
            assert outbox.deliver_pending()["failed"] == 2
            Gateway.status = 200
            with clock.frozen(clock.now() + timedelta(hours=1)):
                assert outbox.deliver_pending()["sent"] == 2
        assert len(Gateway.received) == 4

    def test_console_is_the_default(self) -> None:
        assert isinstance(outbox.adapter_for("sms"), outbox.ConsoleAdapter)
        assert isinstance(outbox.adapter_for("fax"), outbox.ConsoleAdapter)


@pytest.mark.django_db(transaction=True)
class TestConcurrentDeliverers:
    def test_two_deliverers_never_send_one_message_twice(self, settings: Any) -> None:
        settings.CIVITAS_NOTIFY_ADAPTERS = {"sms": "tests.kit.test_outbox.SlowAdapter"}
        if connection.vendor != "postgresql":
            pytest.skip("concurrency is tested on PostgreSQL (SKIP LOCKED)")
        queue(60)
        errors: list[BaseException] = []
        counts: list[dict[str, int]] = []
        barrier = threading.Barrier(2)

        def deliver() -> None:
            try:
                barrier.wait()
                counts.append(outbox.deliver_pending())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sorted(SlowAdapter.sent) == sorted(set(SlowAdapter.sent))
        assert len(SlowAdapter.sent) == 60
        assert all(c["sent"] > 0 for c in counts), counts  # both took part
        assert set(OutboxMessage.objects.values_list("state", "attempts")) == {("sent", 1)}
