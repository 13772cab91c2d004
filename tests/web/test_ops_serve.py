"""`civitas serve` for real: two gunicorn workers on PostgreSQL, metrics added up across them,
request ids in the JSON log lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db

PORT = 8612


def _start(
    tmp_path: Path, *args: str, **extra_env: str
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "CIVITAS_DEBUG": "1",
        "CIVITAS_VAR": str(tmp_path / "var"),
        "CIVITAS_LOG_FORMAT": "json",
        "DATABASE_URL": f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **extra_env,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civitas",
            "serve",
            "--port",
            str(PORT),
            "--workers",
            "2",
            "--threads",
            "2",
            "--no-collectstatic",
            *args,
        ],
        env=env,
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {err.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return proc, out, err
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"serve did not answer: {err.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn against a shared database: PostgreSQL only")


def test_two_workers_add_up_their_metrics(postgres: None, tmp_path: Path) -> None:
    # Workers are replaced every 50 (±5) requests: the counts of the replaced ones must
    # survive in the totals, merged into the archive files by the master.
    proc, out, err = _start(tmp_path, "--max-requests", "50")
    folder = Path(out.read_text().split("(metrics in ")[1].split(")")[0])
    try:
        base = f"http://127.0.0.1:{PORT}"

        def probe(n: int) -> int:
            with httpx.Client(timeout=10) as c:  # a new connection each time
                r = c.get(f"{base}/healthz", headers={"X-Request-ID": f"ops-test-{n:06d}"})
                assert r.status_code == 200 and r.headers["X-Request-ID"] == f"ops-test-{n:06d}"
                return int(r.json()["pid"])

        sent = 400
        with ThreadPoolExecutor(8) as pool:
            pids = set(pool.map(probe, range(sent)))
        assert len(pids) >= 4, "workers should have been replaced along the way"

        for ticket in ("T-1", "T-2", "T-3"):  # unknown tickets: 404, one route label
            r = httpx.get(
                f"{base}/appeal/submitted/{ticket}/", headers={"X-Request-ID": f"rid-{ticket}-0042"}
            )
            assert r.status_code == 404
        time.sleep(1)  # let the master reap and merge
        left = sorted(p.name for p in folder.glob("counter_*.db"))
        assert "counter_archive.db" in left and len(left) <= 4, left

        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["migrations"]["ok"] is True

        # Scrape several times: whichever worker answers, the totals are the same.
        totals = set()
        for _ in range(6):
            with httpx.Client(timeout=10) as c:
                s = _samples(c.get(f"{base}/metrics").text)
            key = (("method", "GET"), ("route", "healthz"), ("status", "2xx"))
            totals.add(s[("civitas_http_requests_total", key)])
            route = (
                ("method", "GET"),
                ("route", "appeal/submitted/<str:ticket>/"),
                ("status", "4xx"),
            )
            assert s[("civitas_http_requests_total", route)] == 3
            assert s[("civitas_database_up", ())] == 1
        # The readiness probe of _start counted too (one or more until the server answered).
        assert len(totals) == 1
        (total,) = totals
        assert sent + 1 <= total <= sent + 200

        refused = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
        assert refused.status_code == 403
    finally:
        _stop(proc)

    # The folder of per-worker counts was temporary and is gone.
    assert not folder.exists()
    # One JSON object per line, each access line with the id the client sent.
    lines = [json.loads(x) for x in err.read_text().splitlines() if x.startswith("{")]
    booted = [x for x in lines if x["logger"] == "gunicorn.error" and "Booting" in x["message"]]
    assert len(booted) >= 2  # gunicorn's own lines are JSON too
    access = [x for x in lines if x.get("logger") == "civitas.access"]
    submitted = [x for x in access if x["route"] == "appeal/submitted/<str:ticket>/"]
    assert sorted(x["request_id"] for x in submitted) == [f"rid-T-{n}-0042" for n in (1, 2, 3)]
    assert all(x["status"] == 404 and "submitted/T-" not in json.dumps(x) for x in submitted)


def test_readyz_when_the_database_is_down(tmp_path: Path) -> None:
    proc, _, _ = _start(tmp_path, DATABASE_URL="postgresql://postgres:pw@127.0.0.1:8619/none")
    try:
        base = f"http://127.0.0.1:{PORT}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        r = httpx.get(f"{base}/readyz", timeout=20)
        assert r.status_code == 503
        checks: dict[str, Any] = r.json()["checks"]
        assert checks["database"]["ok"] is False and "8619" not in r.text
        s = _samples(httpx.get(f"{base}/metrics", timeout=20).text)
        assert s[("civitas_database_up", ())] == 0
    finally:
        _stop(proc)


def test_bad_numbers_are_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 or more"):
        call_command("serve", "--no-collectstatic", "--workers", "-1")
    monkeypatch.setenv("CIVITAS_WEB_TIMEOUT", "a minute")
    with pytest.raises(CommandError, match="--timeout: invalid int value: 'a minute'"):
        call_command("serve", "--no-collectstatic")
