"""A small Civitas cluster on PostgreSQL for load and fault benchmarks (loopback only).

    from cluster import Cluster

    with Cluster("load", servers=2, ports=[8630, 8631], web_workers=2, workers=1) as c:
        c.url(0)                  # "http://127.0.0.1:8630"
        c.api_key                 # a key with appeals:submit (and more, see SCOPES)
        c.server_pids(0)          # (master pid, [gunicorn worker pids])
        c.kill_server_worker(0)   # kill -9 one gunicorn worker of server 0
        c.restart_server(1)       # SIGTERM server 1 and start it again on the same port
        c.kill_worker(0); c.start_worker(0)

On entry it creates a fresh database ``civitas_bench_<name>`` on the shared PostgreSQL (dropped
first if a crashed run left it), migrates it, builds and imports the demo city (Harbour City,
code DC: small, a few seconds), optionally trains its classifier, makes an API key, then starts
``servers`` × ``civitas serve`` (gunicorn, gthread, production settings: CIVITAS_DEBUG=0, a
random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1) and ``workers`` × ``civitas worker``, and waits
until every server answers. On exit (or at interpreter exit, or on SIGTERM) it stops every
process it started (by its own process group), drops the database and removes its temporary
folder (``keep_logs=True`` keeps it: serve-N.log and worker-N.log are there). ``src=`` runs
the code of another src folder, e.g. ``snapshot(dest, "HEAD")``: the committed code, not the
shared working tree.

Counters shared by the processes (rate limits) live in Redis (``CIVITAS_CACHE_URL``, db
``cache_db``); the Open311 rate limits are raised out of the way for the bench.

Run ``.venv/bin/python bench/cluster.py`` for a self-check: start, print the pids, kill and
restart, stop.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CIVITAS = str(ROOT / ".venv" / "bin" / "civitas")
PG_HOST = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SCOPES = ("appeals:submit", "appeals:read", "reference:read")
HTTPS = {"X-Forwarded-Proto": "https"}  # production settings redirect plain HTTP


def pg_admin(sql: str, base: str = PG_HOST) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A private Redis on loopback that keeps nothing on disk (the broker or cache of a run)."""
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(p) for p in f.read().split()]
    except OSError:
        return []
    return sorted(set(out))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (and its reaped children), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[0] is state (field 3); utime, stime, cutime, cstime are fields 14..17.
    return sum(int(x) for x in fields[11:15]) / ticks


class Cluster:
    def __init__(
        self,
        name: str = "load",
        *,
        servers: int = 1,
        ports: list[int] | None = None,
        web_workers: int = 2,
        workers: int = 0,
        train: bool = True,
        cache_db: int = 15,
        pg: str = PG_HOST,
        extra_env: dict[str, str] | None = None,
        quiet: bool = True,
        src: Path | None = None,
        keep_logs: bool = False,
    ) -> None:
        self.name = name
        self.db_name = f"civitas_bench_{name}"
        self.pg = pg
        self.database_url = f"{pg}/{self.db_name}"
        self.ports = list(ports) if ports else [8630 + i for i in range(servers)]
        if len(self.ports) < servers:
            raise ValueError(f"{servers} servers need {servers} ports, got {self.ports}")
        self.ports = self.ports[:servers]
        self.web_workers = web_workers
        self.n_workers = workers
        self.train = train
        self.quiet = quiet
        self.keep_logs = keep_logs  # else the folder of logs and the built pack goes at stop()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"civitas-cluster-{name}-"))
        self.env = {k: v for k, v in os.environ.items() if k != "CIVITAS_DEBUG"}
        self.env |= {
            "DATABASE_URL": self.database_url,
            "CIVITAS_DEBUG": "0",
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
            # Contact details are encrypted at rest outside debug: a throw-away Fernet key.
            "CIVITAS_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CIVITAS_VAR": str(self.tmp / "var"),
            "CIVITAS_CACHE_URL": f"redis://127.0.0.1:6379/{cache_db}",
            "CIVITAS_OPEN311_POST_RATE": "1000000/m",
            "CIVITAS_OPEN311_GET_RATE": "1000000/m",
            "PYTHONUNBUFFERED": "1",
        }
        if src is not None:
            # Run the code in ``src`` (e.g. a snapshot of a commit, see ``snapshot``) instead of
            # the working tree's, which other people may be editing while the bench runs.
            self.env["PYTHONPATH"] = str(Path(src).resolve())
        self.env |= extra_env or {}
        self.api_key = ""
        self.servers: list[subprocess.Popen[bytes] | None] = [None] * servers
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        self._db_created = False
        self._stopped = False

    # -- set-up ---------------------------------------------------------------------------

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """``civitas ARGS`` on the cluster's database; its stdout; exits on failure."""
        done = subprocess.run(
            [CIVITAS, *args],
            env=self.env | (env or {}),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"civitas {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def shell(self, code: str, env: dict[str, str] | None = None) -> str:
        """Run Python ``code`` in ``civitas shell`` on the cluster's database; last line."""
        return self.run("shell", "-c", code, env=env).strip().splitlines()[-1]

    def prepare(self) -> None:
        atexit.register(self.stop)
        pg_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)', self.pg)
        pg_admin(f'CREATE DATABASE "{self.db_name}"', self.pg)
        self._db_created = True
        self._say(f"database {self.db_name}: migrate")
        self.run("migrate", "-v0")
        self.run("collectstatic", "--no-input", "-v0")
        pack = self.tmp / "demo-pack"
        self._say("build and import the demo city (DC)")
        self.run("city", "build", "demo", "--out", str(pack))
        self.run("city", "import", str(pack))
        if self.train:
            self._say("train the demo city's classifier")
            self.run("model", "train", "--city", "DC")
        scopes: list[str] = []
        for scope in SCOPES:
            scopes += ["--scope", scope]
        out = self.run("apikey", "create", f"bench-{self.name}", *scopes)
        self.api_key = out.strip().splitlines()[-1].strip()

    def start(self) -> Cluster:
        self.prepare()
        for i in range(len(self.servers)):
            self.start_server(i, wait=False)
        for j in range(len(self.workers)):
            self.start_worker(j)
        for i in range(len(self.servers)):
            self.wait_ready(i)
        return self

    def __enter__(self) -> Cluster:
        prior = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            self.stop()
            if callable(prior):
                prior(signum, frame)
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- web servers ----------------------------------------------------------------------

    def url(self, i: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        out = open(self.tmp / log, "ab")  # noqa: SIM115 - kept open for the child's life
        return subprocess.Popen(
            [CIVITAS, *args],
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )

    def start_server(self, i: int, wait: bool = True) -> int:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.ports[i])]
        args += ["--workers", str(self.web_workers), "--no-collectstatic"]
        self.servers[i] = self._spawn(args, f"serve-{i}.log")
        if wait:
            self.wait_ready(i)
        return self.servers[i].pid  # type: ignore[union-attr]

    def wait_ready(self, i: int, timeout: float = 90.0) -> None:
        """Wait until server ``i`` answers and all its gunicorn workers are up."""
        deadline = time.monotonic() + timeout
        server = self.servers[i]
        while time.monotonic() < deadline:
            if server is not None and server.poll() is not None:
                raise RuntimeError(f"server {i} exited: see {self.tmp / f'serve-{i}.log'}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.ports[i], timeout=5)
                conn.request("GET", "/api/docs", headers=HTTPS)
                status = conn.getresponse().status
                conn.close()
                if status < 500 and len(self.server_pids(i)[1]) >= self.web_workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"server {i} did not answer on port {self.ports[i]} in {timeout} s")

    def server_pids(self, i: int = 0) -> tuple[int, list[int]]:
        """(gunicorn master pid, its worker pids) of server ``i``."""
        server = self.servers[i]
        if server is None or server.poll() is not None:
            return (0, [])
        return server.pid, children(server.pid)

    def all_pids(self) -> list[int]:
        pids: list[int] = []
        for i in range(len(self.servers)):
            master, kids = self.server_pids(i)
            pids += [master, *kids] if master else []
        pids += [w.pid for w in self.workers if w is not None and w.poll() is None]
        return pids

    def stop_server(self, i: int, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        server = self.servers[i]
        if server is None:
            return
        _stop_group(server, sig, timeout)
        self.servers[i] = None

    def kill_server(self, i: int) -> None:
        """kill -9 server ``i``'s master and all its workers at once."""
        self.stop_server(i, signal.SIGKILL)

    def kill_server_worker(self, i: int, n: int = 0) -> int:
        """kill -9 gunicorn worker ``n`` of server ``i`` (the master starts a new one)."""
        kids = self.server_pids(i)[1]
        if not kids:
            raise RuntimeError(f"server {i} has no workers")
        pid = kids[n % len(kids)]
        os.kill(pid, signal.SIGKILL)
        return pid

    def restart_server(self, i: int) -> int:
        self.stop_server(i)
        return self.start_server(i)

    # -- background workers ---------------------------------------------------------------

    def start_worker(self, j: int, *extra: str) -> int:
        args = ["worker", "--interval", "1", "--worker-id", f"{self.name}-w{j}", *extra]
        self.workers[j] = self._spawn(args, f"worker-{j}.log")
        return self.workers[j].pid  # type: ignore[union-attr]

    def worker_pid(self, j: int) -> int:
        w = self.workers[j]
        return w.pid if w is not None and w.poll() is None else 0

    def stop_worker(self, j: int, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        worker = self.workers[j]
        if worker is None:
            return
        _stop_group(worker, sig, timeout)
        self.workers[j] = None

    def kill_worker(self, j: int) -> None:
        self.stop_worker(j, signal.SIGKILL)

    def restart_worker(self, j: int) -> int:
        self.stop_worker(j)
        return self.start_worker(j)

    # -- tear-down ------------------------------------------------------------------------

    def stop(self, keep_db: bool = False) -> None:
        if self._stopped:
            return
        self._stopped = True
        for i in range(len(self.servers)):
            self.stop_server(i)
        for j in range(len(self.workers)):
            self.stop_worker(j)
        if self._db_created and not keep_db:
            try:
                pg_admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)', self.pg)
            except Exception as exc:
                print(f"could not drop {self.db_name}: {exc}", file=sys.stderr)
        if self.keep_logs:
            self._say(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self._say("stopped; database dropped" if not keep_db else "stopped")

    def logs(self) -> Path:
        return self.tmp

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(f"[cluster {self.name}] {text}", file=sys.stderr, flush=True)


def _stop_group(proc: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)  # the process group this module started
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        # The leader is gone (killed); make sure no orphan of its group lingers.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def snapshot(dest: Path, ref: str = "HEAD") -> Path:
    """The ``src`` folder of commit ``ref``, unpacked into ``dest`` (no change to the checkout):
    pass it as ``Cluster(src=...)`` to measure committed code only."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def _selfcheck() -> None:
    started = time.monotonic()
    with Cluster("load", servers=2, web_workers=2, workers=1, train=False, quiet=False) as c:
        print(json.dumps({"ready_s": round(time.monotonic() - started, 1), "key": c.api_key[:6]}))
        for i in range(2):
            print(f"server {i} {c.url(i)} pids {c.server_pids(i)}")
        print(f"worker 0 pid {c.worker_pid(0)}")
        killed = c.kill_server_worker(0)
        time.sleep(3)
        print(f"killed gunicorn worker {killed}; server 0 now {c.server_pids(0)}")
        c.restart_server(1)
        print(f"restarted server 1: {c.server_pids(1)}")
        c.kill_worker(0)
        c.start_worker(0)
        print(f"worker 0 restarted: pid {c.worker_pid(0)}")
    print(f"self-check done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    _selfcheck()
