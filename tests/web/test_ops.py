"""Health, readiness, metrics, request ids and structured logs (in process)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db.migrations.recorder import MigrationRecorder
from django.db.utils import ConnectionHandler
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from civitas.appeals.models import Appeal
from civitas.kit import clock, logctx
from civitas.kit.models import OutboxMessage, ScheduledRun
from civitas.web.ops import checks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_ready(settings: Any) -> None:
    settings.CIVITAS_READYZ_CACHE_SECONDS = 0
    settings.CIVITAS_CACHE_URL = ""
    settings.CIVITAS_BROKER_URL = ""


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged, as the JSON formatter of CIVITAS_LOG_FORMAT=json writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logctx.JsonFormatter())
    handler.addFilter(logctx.ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def scrape(client: Client, **extra: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", **extra)
    assert r.status_code == 200, r.content
    found = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def requests_of(samples: dict[Any, float], route: str, status: str = "2xx") -> float:
    key = ("civitas_http_requests_total", (("method", "GET"), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


class TestHealth:
    def test_healthz_answers_without_the_database_host_check_or_cookies(self) -> None:
        c = Client(HTTP_HOST="10.9.8.7:8000")  # a load balancer probing by address
        r = c.get("/healthz")
        assert r.status_code == 200
        assert r.json()["status"] == "ok"
        assert not r.cookies
        assert r["Cache-Control"] == "no-store"
        # An ordinary page from that host is refused by the host check.
        assert c.get("/city/").status_code == 400

    def test_readyz_ok_names_each_check(self) -> None:
        r = Client().get("/readyz/")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["status"] == "ok"
        assert set(body["checks"]) == {"database", "migrations"}
        assert all(c["ok"] for c in body["checks"].values())

    def test_readyz_503_when_a_migration_is_missing(
        self, json_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from civitas.web.ops import views

        monkeypatch.setattr(views, "_ready_cache", None)
        app, name = sorted(k for k in checks.leaf_migrations() if k[0] == "appeals")[0]
        MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()
        Client().get("/readyz")
        r = Client().get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "fail"
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["migrations"]["ok"] is False
        assert f"{app}.{name}" in body["checks"]["migrations"]["error"]
        assert "civitas migrate" in body["checks"]["migrations"]["error"]
        # Logged once when readiness changed, not once per probe; no ERROR line per 503.
        logged = [x for x in records(json_logs) if "readyz" in x["message"]]
        assert [x["level"] for x in logged] == ["WARNING"], logged
        assert f"{app}.{name}" in logged[0]["message"]

    def test_readyz_503_when_the_database_is_unreachable_without_secrets(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # A real connection attempt to a port where nothing listens (the ops range).
        down = ConnectionHandler(
            {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": "civitas_nowhere",
                    "USER": "postgres",
                    "PASSWORD": "s3cret-password",
                    "HOST": "127.0.0.1",
                    "PORT": "8619",
                    "OPTIONS": {"connect_timeout": 2},
                }
            }
        )
        monkeypatch.setattr(checks, "connections", down)
        r = Client().get("/readyz")
        down["default"].close()
        assert r.status_code == 503
        body = r.json()
        assert body["checks"]["database"] == {
            "ok": False,
            "error": "unreachable (OperationalError)",
            "ms": body["checks"]["database"]["ms"],
        }
        assert body["checks"]["migrations"]["ok"] is False
        text = r.content.decode()
        assert "s3cret" not in text and "8619" not in text and "postgres" not in text

    def test_readyz_reports_a_dead_replica_without_failing(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def dead() -> None:
            raise checks.Failed("unreachable (OperationalError)")

        real = checks.configured
        monkeypatch.setattr(checks, "configured", lambda: {**real(), "replica": dead})
        r = Client().get("/readyz")
        assert r.status_code == 200
        replica = r.json()["checks"]["replica"]
        assert replica["ok"] is False and replica["required"] is False

    def test_readyz_checks_the_cache_and_broker_when_configured(self, settings: Any) -> None:
        settings.CIVITAS_CACHE_URL = "redis://:hunter2@127.0.0.1:8618/0"  # nothing listens
        settings.CIVITAS_BROKER_URL = "amqp://guest:guest@127.0.0.1:8617//"
        r = Client().get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
        assert body["checks"]["cache"]["ok"] is False
        assert body["checks"]["broker"]["ok"] is False
        assert "hunter2" not in r.content.decode() and "8618" not in r.content.decode()

    def test_readyz_ok_with_a_reachable_redis(self, settings: Any) -> None:
        import redis

        try:
            redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.CIVITAS_CACHE_URL = "redis://127.0.0.1:6379/0"
        r = Client().get("/readyz")
        assert r.status_code == 200, r.content
        assert r.json()["checks"]["cache"]["ok"] is True


def test_without_a_replica_reading_changes_nothing(city: dict[str, Any]) -> None:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from civitas.geo.models import Jurisdiction
    from civitas.kit import replica

    assert not replica.available()
    with CaptureQueriesContext(connections["default"]) as primary, replica.reading():
        assert Jurisdiction.objects.filter(code="T").count() == 1
    assert len(primary) == 1


class TestRequestId:
    def test_a_well_formed_id_is_kept_and_logged_as_json(self, json_logs: io.StringIO) -> None:
        r = Client().get("/appeal/submitted/T-2026-424242/", HTTP_X_REQUEST_ID="lb-7f3a9c2e11")
        assert r["X-Request-ID"] == "lb-7f3a9c2e11"
        access = [x for x in records(json_logs) if x["logger"] == "civitas.access"]
        assert len(access) == 1
        line = access[0]
        assert line["request_id"] == "lb-7f3a9c2e11"
        assert line["route"] == "appeal/submitted/<str:ticket>/"
        assert line["status"] == r.status_code
        assert line["method"] == "GET" and line["duration_ms"] >= 0
        assert "424242" not in json_logs.getvalue()  # the route, never the path

    @pytest.mark.parametrize("given", ["", "short", "has space in it", "x" * 200, "id\nFORGED"])
    def test_a_malformed_id_is_replaced(self, given: str) -> None:
        r = Client().get("/healthz", HTTP_X_REQUEST_ID=given)
        rid = r["X-Request-ID"]
        assert rid != given and len(rid) == 32 and int(rid, 16) >= 0

    def test_logs_inside_a_request_carry_its_id(
        self, json_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from civitas.web.ops import views

        def noisy(request: Any) -> Any:
            logging.getLogger("civitas.test").warning("inside the view")
            return views.JsonResponse({"status": "ok"})

        monkeypatch.setitem(views.ROUTES, "healthz", noisy)
        Client().get("/healthz", HTTP_X_REQUEST_ID="probe-0001-abcd")
        inside = [x for x in records(json_logs) if x["message"] == "inside the view"]
        assert inside and inside[0]["request_id"] == "probe-0001-abcd"
        assert logctx.get("request_id") is None  # unbound after the request

    def test_a_server_error_is_logged_by_route_never_by_the_tracking_token(
        self, json_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from civitas.web.views import resident

        def broken(token: str) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(resident, "_by_token", broken)
        token = "SecretTrackingToken0123456789"
        r = Client(raise_request_exception=False).get(f"/track/{token}/")
        assert r.status_code == 500
        errors = [x for x in records(json_logs) if x["logger"] == "django.request"]
        assert errors and errors[0]["message"] == "Internal Server Error: track/<str:token>/"
        assert errors[0]["request"] == "GET track/<str:token>/"
        assert token not in json_logs.getvalue()

    def test_the_access_line_names_the_user_by_id_only(
        self, people: dict[str, Any], json_logs: io.StringIO
    ) -> None:
        from tests.web.conftest import client_for

        user = people["handler"]
        client_for(user).get("/city/?q=13800000000")
        line = next(x for x in records(json_logs) if x["logger"] == "civitas.access")
        assert line["user_id"] == user.pk and line["route"] == "city/"
        assert "13800000000" not in json_logs.getvalue()
        assert user.username not in json.dumps(line)

    def test_text_format_shows_the_context(self) -> None:
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        handler.setFormatter(logctx.TextFormatter())
        handler.addFilter(logctx.ContextFilter())
        log = logging.getLogger("civitas.test.text")
        log.addHandler(handler)
        try:
            with logctx.bind(task_id="42", job="appeals.deadlines"):
                log.warning("late")
            log.warning("free")
        finally:
            log.removeHandler(handler)
        first, second = out.getvalue().splitlines()
        assert first.endswith("civitas.test.text [task_id=42 job=appeals.deadlines] late")
        assert second.endswith("civitas.test.text free")


class TestMetrics:
    def test_counts_by_route_pattern_never_by_path(self) -> None:
        c = Client()
        before = scrape(c)
        for n in range(3):
            c.get(f"/appeal/submitted/T-2026-00{n}99/")
        after = scrape(c)
        route = "appeal/submitted/<str:ticket>/"
        status = "4xx"  # nobody may see an unknown ticket
        assert requests_of(after, route, status) - requests_of(before, route, status) == 3
        body = c.get("/metrics").content.decode()
        assert "T-2026-00" not in body
        key = ("civitas_http_request_duration_seconds_count", (("method", "GET"), ("route", route)))
        assert after[key] - before.get(key, 0) == 3

    def test_unknown_paths_share_one_label(self) -> None:
        c = Client()
        before = scrape(c)
        c.get("/no/such/page/123/")
        c.get("/another/unknown/")
        after = scrape(c)
        assert requests_of(after, "unmatched", "4xx") - requests_of(before, "unmatched", "4xx") == 2
        assert "no/such" not in c.get("/metrics").content.decode()

    def test_refused_to_other_clients(self, settings: Any) -> None:
        c = Client()
        assert c.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
        # A local proxy passing on an outside client: the client is judged, not the proxy.
        forwarded = c.get("/metrics", HTTP_X_FORWARDED_FOR="10.0.0.5, 203.0.113.9")
        assert forwarded.status_code == 403
        # A client forging the header: behind the local proxy the proxy's own last entry is
        # judged; reaching the server directly, the header is not read at all.
        forged = c.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9")
        assert forged.status_code == 403
        direct = c.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
        assert direct.status_code == 403
        assert c.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1,").status_code == 403
        settings.CIVITAS_METRICS_ALLOW = (__import__("ipaddress").ip_network("203.0.113.0/24"),)
        assert c.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
        assert c.get("/metrics", REMOTE_ADDR="198.51.100.1").status_code == 403

    def test_bearer_token(self, settings: Any) -> None:
        settings.CIVITAS_METRICS_TOKEN = "scrape-token-0123456789"
        c = Client(REMOTE_ADDR="198.51.100.1")
        assert c.get("/metrics").status_code == 403
        assert c.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        ok = c.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
        assert ok.status_code == 200 and b"civitas_http_requests_total" in ok.content

    def test_business_gauges(self, city: dict[str, Any]) -> None:
        now = clock.now()
        j = city["T-D1"]
        for i, (status, due) in enumerate(
            [
                ("dispatched", now - timedelta(hours=2)),  # overdue
                ("dispatched", now + timedelta(hours=2)),
                ("accepted", now - timedelta(days=1)),  # overdue
                ("closed", now - timedelta(days=3)),  # closed: neither open nor overdue
            ]
        ):
            Appeal.objects.create(
                ticket=f"OPS{i:04d}",
                token_hash=f"{i:064x}",
                city="T",
                title="x",
                text="x",
                jurisdiction=j,
                jurisdiction_path=j.path,
                status=status,
                received_at=now - timedelta(days=4),
                resolve_due=due,
            )
        OutboxMessage.objects.create(
            channel="sms",
            recipient="+86 10 0000",
            subject="s",
            body="b",
            state="failed",
            created_at=now,
            next_attempt_at=now,
        )
        ScheduledRun.objects.create(
            name="appeals.deadlines",
            period_start=now - timedelta(minutes=5),
            claimed_at=now - timedelta(minutes=5),
            finished_at=now - timedelta(minutes=4),
            ok=True,
        )
        s = scrape(Client())
        assert s[("civitas_database_up", ())] == 1
        assert s[("civitas_appeals_open", (("status", "dispatched"),))] == 2
        assert s[("civitas_appeals_open", (("status", "accepted"),))] == 1
        assert s[("civitas_appeals_open", (("status", "received"),))] == 0
        assert s[("civitas_appeals_overdue", ())] == 2
        assert s[("civitas_outbox_messages", (("state", "failed"),))] == 1
        assert s[("civitas_outbox_messages", (("state", "pending"),))] == 0
        assert s[("civitas_tasks", (("status", "ready"),))] >= 0
        job = (("name", "appeals.deadlines"),)
        age = s[("civitas_scheduled_job_last_finished_age_seconds", job)]
        assert 230 <= age <= 600
        assert s[("civitas_scheduled_job_period_seconds", job)] == 60
        assert s[("civitas_scheduled_job_last_failed", job)] == 0

    def test_the_database_down_still_serves_request_metrics(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from civitas.web.ops import metrics

        def broken() -> Any:
            raise OperationalError("gone")

        monkeypatch.setattr(metrics, "_business", broken)
        s = scrape(Client())
        assert s[("civitas_database_up", ())] == 0
        assert ("civitas_appeals_overdue", ()) not in s


def test_a_replaced_workers_counts_are_merged_not_lost(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `civitas serve`'s master does when gunicorn replaces a worker."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.multiprocess import MultiProcessCollector

    from civitas.web.ops import metrics

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    name = "civitas_http_requests"
    for pid, counts in ((101, {"healthz": 5, "city/": 2}), (102, {"healthz": 7})):
        f = MmapedDict(str(tmp_path / f"counter_{pid}.db"))
        for route, n in counts.items():
            key = mmap_key(name, name + "_total", ["route"], [route], "requests")
            f.write_value(key, float(n), 0.0)
        f.close()

    def totals() -> dict[str, float]:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(tmp_path))
        found = {}
        for family in text_string_to_metric_families(generate_latest(registry).decode()):
            for s in family.samples:
                found[s.labels["route"]] = s.value
        return found

    assert totals() == {"healthz": 12, "city/": 2}
    metrics.merge_dead_worker(101)
    assert totals() == {"healthz": 12, "city/": 2}
    assert not (tmp_path / "counter_101.db").exists()
    metrics.merge_dead_worker(102)
    metrics.merge_dead_worker(103)  # a worker that counted nothing
    assert totals() == {"healthz": 12, "city/": 2}
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["counter_archive.db"]


@pytest.mark.django_db
def test_the_database_away_is_a_503_to_retry_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PostgreSQL restart cuts every connection: the requests caught in it answer 503 with
    Retry-After, which clients and load balancers retry."""
    from civitas.open311 import selectors

    def cut(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(selectors, "city_for", cut)
    answer = Client().get("/open311/v2/services.json")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert "administrator command" not in answer.content.decode()

    # The JSON API and the pages: the middleware answers what the view let through.
    from civitas.org import services

    monkeypatch.setattr(services, "authenticate_api_key", cut)
    with override_settings(DEBUG=False):
        api = Client(raise_request_exception=False).get(
            "/api/appeals", headers={"X-Api-Key": "civ_x"}
        )
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert api.json()["error"]["code"] == "unavailable"
    assert "administrator command" not in api.content.decode()
