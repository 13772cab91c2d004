"""A real Civitas server in a subprocess, for driving with third-party Open311 clients.

``running_server(folder)`` migrates a database of its own (a SQLite file in ``folder``, or a
fresh PostgreSQL database beside the one in DATABASE_URL when that names PostgreSQL), seeds it
with :func:`seed` in another process, starts ``civitas serve`` (gunicorn) on a free loopback
port and yields a :class:`Server`. Everything is removed on exit.

Run as ``python -m tests.open311.seed_server OUT.json`` (with the server's environment) to
seed: the small test city, two services with attributes of every datatype in both languages,
a hidden matter, an API key that may submit and one that may not; OUT.json receives what the
tests need (the clear keys, codes, the jurisdiction id).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

LIFT = "T-M1-1-1"
WATER = "T-M1-1-2"
HIDDEN = "T-M1-1-3"
# Inside district T-D1 of the small test city (lon 0..4, lat 0..2).
LAT, LONG = 0.5, 0.5


def seed(out: Path) -> None:
    """Seed the server's database (runs inside the server's environment)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitas.settings")
    django.setup()
    from django.db import transaction

    from civitas.matters import services as matter_services
    from civitas.open311.models import Datatype, ServiceAttribute, ServiceListing
    from civitas.org import services as org_services
    from tests import factories

    city = factories.small_city()
    water = factories.water_matter(city, listed=True)
    with transaction.atomic():
        org_services.save_responsibility(
            actor="test",
            reason="setup",
            matter=city["leaf"],
            level=city["levels"]["district"],
            city="T",
            unit_type="housing",
        )
        hidden = matter_services.save_matter(
            actor="test",
            catalogue="T",
            code=HIDDEN,
            name_en="Internal inspection",
            name_zh="内部检查",
            parent=city["leaf"].parent,
            responsible={"district": "housing"},
        )
        ServiceListing.objects.create(matter=hidden, listed=False)
        ServiceListing.objects.create(
            matter=water,
            group="Utilities",
            description_en="No water, low pressure or a burst pipe",
            description_zh="停水、水压低或爆管",
        )
        lift = city["leaf"]
        rows: list[dict[str, Any]] = [
            {
                "code": "WARNING",
                "variable": False,
                "datatype": Datatype.STRING,
                "order": 1,
                "description_en": "If someone is trapped, call 110 now.",
                "description_zh": "如有人被困，请立即拨打110。",
            },
            {
                "code": "FLOOR",
                "datatype": Datatype.NUMBER,
                "required": True,
                "order": 2,
                "datatype_description": "A whole number; 0 for the ground floor.",
                "description_en": "On which floor did the lift stop?",
                "description_zh": "电梯停在几楼？",
            },
            {
                "code": "BUILDING",
                "datatype": Datatype.STRING,
                "order": 3,
                "description_en": "Building name or number",
                "description_zh": "楼栋名称或编号",
            },
            {
                "code": "SINCE",
                "datatype": Datatype.DATETIME,
                "order": 4,
                "description_en": "Since when?",
                "description_zh": "从什么时候开始？",
            },
            {
                "code": "DETAILS",
                "datatype": Datatype.TEXT,
                "order": 5,
                "description_en": "Anything else the technician should know",
                "description_zh": "维修人员还需要知道什么",
            },
            {
                "code": "TRAPPED",
                "datatype": Datatype.SINGLE,
                "required": True,
                "order": 6,
                "description_en": "Is anyone inside?",
                "description_zh": "里面有人吗？",
                "values": [
                    {"key": "no", "name_en": "No", "name_zh": "没有"},
                    {"key": "yes", "name_en": "Yes", "name_zh": "有"},
                    {"key": "unsure", "name_en": "Not sure", "name_zh": "不确定"},
                ],
            },
            {
                "code": "AFFECTED",
                "datatype": Datatype.MULTI,
                "order": 7,
                "description_en": "Who cannot use the stairs?",
                "description_zh": "哪些人无法走楼梯？",
                "values": [
                    {"key": "elderly", "name_en": "Elderly people", "name_zh": "老人"},
                    {"key": "wheelchair", "name_en": "Wheelchair users", "name_zh": "轮椅使用者"},
                    {"key": "prams", "name_en": "Parents with prams", "name_zh": "推婴儿车的家长"},
                ],
            },
        ]
        for row in rows:
            ServiceAttribute.objects.create(matter=lift, **row)
        _, submit_key = org_services.create_api_key(
            actor="test", name="Open311 test app", scopes=["appeals:submit"]
        )
        _, read_key = org_services.create_api_key(
            actor="test", name="Reader", scopes=["reference:read"]
        )
    out.write_text(
        json.dumps(
            {
                "api_key": submit_key,
                "read_only_key": read_key,
                "jurisdiction_id": "T",
                "lift": LIFT,
                "water": WATER,
                "hidden": HIDDEN,
                "lat": LAT,
                "long": LONG,
            }
        ),
        encoding="utf-8",
    )


# -- the running server ----------------------------------------------------------------------------


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT/open311/v2
    api_key: str
    read_only_key: str
    jurisdiction_id: str
    lift: str
    water: str
    hidden: str
    lat: float
    long: float
    log: Path
    env: dict[str, str]

    def django(self, code: str) -> Any:
        """Run ``code`` with Django set up in the server's environment (its database); the
        value it assigns to ``result`` comes back through JSON."""
        script = (
            "import json, django; django.setup()\n"
            + code
            + "\nprint('@@' + json.dumps(result, default=str, ensure_ascii=False))"
        )
        done = subprocess.run(
            [PYTHON, "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"server-side script failed:\n{done.stdout}\n{done.stderr}")
        line = [x for x in done.stdout.splitlines() if x.startswith("@@")][-1]
        return json.loads(line[2:])

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@contextmanager
def _database(folder: Path) -> Iterator[str]:
    """A database URL for the server: a fresh PostgreSQL database when DATABASE_URL names
    PostgreSQL (dropped afterwards), else a SQLite file in ``folder``."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{folder / 'server.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(configured)
    name = f"{parts.path.lstrip('/') or 'civitas'}_o311srv_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our loopback URL)
                return
        except urllib.error.HTTPError:
            return  # it answers, even if not 200
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within 60 s:\n{log.read_text()}")


@contextmanager
def running_server(folder: Path, workers: int = 1, **settings: str) -> Iterator[Server]:
    """Migrate, seed and serve with ``workers`` gunicorn processes; ``settings`` are extra
    environment variables (e.g. CIVITAS_OPEN311_PUBLIC_TEXT="1")."""
    folder.mkdir(parents=True, exist_ok=True)
    with _database(folder) as database_url:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CIVITAS_", "PYTEST_", "DJANGO_")) and k != "DATABASE_URL"
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "civitas.settings",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "CIVITAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),  # [crypto]
            "DATABASE_URL": database_url,
            "CIVITAS_VAR": str(folder),
            "PYTHONPATH": str(ROOT),
            # Generous limits: these tests are about formats, not throttling.
            "CIVITAS_OPEN311_POST_RATE": "1000/m",
            "CIVITAS_OPEN311_GET_RATE": "5000/m",
            **settings,
        }
        _run([PYTHON, "-m", "civitas", "migrate", "-v0"], env, "migrate")
        facts = folder / "seeded.json"
        _run([PYTHON, "-m", "tests.open311.seed_server", str(facts)], env, "seeding")
        seeded = json.loads(facts.read_text(encoding="utf-8"))
        port = free_port()
        log = folder / "server.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "civitas",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--no-collectstatic",
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}/open311/v2"
            _wait_until_up(f"{base}/discovery.json", proc, log)
            yield Server(base=base, log=log, env=env, **seeded)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


if __name__ == "__main__":
    seed(Path(sys.argv[1]))
