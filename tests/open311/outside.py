"""Outside Open311 systems for the client-side tests, on real loopback HTTP.

- :class:`FakeOutside` is a tiny GeoReport v2 endpoint in a thread (``http.server``): it keeps
  the requests it receives, creates ids, answers in the format of the extension, and can be
  told to answer one exchange in a scripted way (an error, a slow answer, hostile XML).
- :class:`Relay` forwards everything on a fixed port to another server, and can be switched
  off and on again on the same port, so "the outside system is down, then back" is a real
  refused connection followed by real answers at the same URL.
- :func:`outside_civitas` is a second Civitas server process (``tests.open311.seed_server``)
  with public text on, so its ``status_notes`` carry the staff's notes, and ``resolve`` closes
  one of its cases as its lead unit would.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from django.db import transaction

from civitas.appeals import intake
from civitas.appeals.models import Appeal
from civitas.kit import clock
from tests.open311.conftest import LIFT
from tests.open311.seed_server import Server, free_port, running_server

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<service_requests><request><service_request_id>&lol9;</service_request_id></request>
</service_requests>"""


@dataclass
class Scripted:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]


def xml_list(root: str, item: str, records: list[dict[str, Any]]) -> bytes:
    rows = "".join(
        f"<{item}>"
        + "".join(f"<{k}>{escape('' if v is None else str(v))}</{k}>" for k, v in r.items())
        + f"</{item}>"
        for r in records
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><{root}>{rows}</{root}>'.encode()


def errors_doc(fmt: str, code: int, description: str) -> bytes:
    if fmt == "xml":
        return xml_list("errors", "error", [{"code": code, "description": description}])
    return json.dumps([{"code": code, "description": description}]).encode()


class FakeOutside:
    """A minimal GeoReport v2 endpoint at ``self.endpoint`` (``…/open311/v2``)."""

    def __init__(self, *, deferred: bool = False) -> None:
        self.calls: list[Call] = []
        self.script: list[Scripted] = []
        self.requests: dict[str, dict[str, str]] = {}  # id -> status, status_notes, form
        self.tokens: dict[str, str] = {}  # token -> id ("" until created)
        self._later: dict[str, str] = {}  # token -> the id it becomes
        self.deferred = deferred
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                call = Call(
                    self.command,
                    split.path,
                    urllib.parse.parse_qs(split.query),
                    urllib.parse.parse_qs(raw),
                    {k.lower(): v for k, v in self.headers.items()},
                )
                with outer.lock:
                    outer.calls.append(call)
                    scripted = outer.script.pop(0) if outer.script else None
                if scripted is not None:
                    time.sleep(scripted.delay)
                    with suppress(BrokenPipeError, ConnectionResetError):
                        self._answer(scripted.status, scripted.body, scripted.headers)
                    return
                status, body, ctype = outer.respond(call)
                self._answer(status, body, {"Content-Type": ctype})

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}/open311/v2"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def then(self, status: int, body: bytes | str = b"", **kw: Any) -> None:
        """Answer the next exchange this way."""
        self.script.append(Scripted(status, body.encode() if isinstance(body, str) else body, **kw))

    def respond(self, call: Call) -> tuple[int, bytes, str]:
        name = call.path.rsplit("/", 1)[-1]
        resource, _dot, fmt = name.rpartition(".")
        ctype = "text/xml; charset=utf-8" if fmt == "xml" else "application/json; charset=utf-8"

        def out(root: str, item: str, records: list[dict[str, Any]], status: int = 200) -> Any:
            body = xml_list(root, item, records) if fmt == "xml" else json.dumps(records).encode()
            return status, body, ctype

        if call.method == "POST" and resource == "requests":
            if not call.form.get("api_key"):
                return 403, errors_doc(fmt, 403, "api_key is required"), ctype
            rid = f"EXT-{len(self.requests) + 1}"
            self.requests[rid] = {"status": "open", "status_notes": "", "form": call.form}
            if self.deferred:
                token = f"tok-{rid}"
                self.tokens[token] = ""
                self._later[token] = rid
                return out("service_requests", "request", [{"token": token}], 201)
            return out("service_requests", "request", [{"service_request_id": rid}], 201)
        if call.method == "GET" and resource == "requests":
            ids = ",".join(call.query.get("service_request_id", [""])).split(",")
            records = [
                {
                    "service_request_id": i,
                    "status": self.requests[i]["status"],
                    "status_notes": self.requests[i]["status_notes"],
                    "updated_datetime": "2026-11-26T10:00:00+00:00",
                    "expected_datetime": "",
                }
                for i in ids
                if i in self.requests
            ]
            return out("service_requests", "request", records)
        if call.method == "GET" and call.path.rsplit("/", 2)[-2] == "tokens":
            token = resource
            if token not in self.tokens:
                return 404, errors_doc(fmt, 404, "no such token"), ctype
            return out(
                "service_requests",
                "request",
                [{"service_request_id": self.tokens[token], "token": token}],
            )
        return 404, errors_doc(fmt, 404, "not found"), ctype

    def create_pending(self) -> None:
        """Deferred mode: the outside system creates what it took with tokens."""
        for token, rid in list(self._later.items()):
            self.tokens[token] = rid

    def set_status(self, rid: str, status: str, notes: str = "") -> None:
        self.requests[rid]["status"] = status
        self.requests[rid]["status_notes"] = notes

    def posts(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST"]


@contextmanager
def fake_outside(**kw: Any) -> Iterator[FakeOutside]:
    fake = FakeOutside(**kw)
    try:
        yield fake
    finally:
        fake.close()


def closed_port() -> int:
    """A loopback port nobody listens on (connections are refused)."""
    return free_port()


class Relay:
    """Forwards HTTP on a fixed loopback port to ``target`` while switched on."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def on(self) -> None:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                keep = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                answer = httpx.request(
                    self.command, relay.target + self.path, content=body, headers=keep, timeout=60
                )
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = _forward
            do_POST = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def off(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def refuses(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) != 0


# -- cases and time on our side ------------------------------------------------------------------


class Time:
    """The one clock, frozen and moved on by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.stack = ExitStack()
        self._freeze()

    def _freeze(self) -> None:
        self.stack.close()
        self.stack = ExitStack()
        self.stack.enter_context(clock.frozen(self.at))

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        self._freeze()
        return self.at


def submit(city: dict[str, Any], text: str = "The lift in building 3 is broken again") -> Appeal:
    data = intake.AppealIn(
        city="T",
        text=text,
        matter_code=LIFT,
        lat=0.5,
        lon=0.5,
        contact=intake.ContactIn(name="Li Lei", phone="13800000000"),
    )
    with transaction.atomic():
        made = intake.submit(actor=city["resident"], data=data, resident=city["resident"])
    return made.appeal


# -- a second Civitas server -------------------------------------------------------------------


@contextmanager
def outside_civitas(folder: Path) -> Iterator[Server]:
    """A second Civitas server process (its own database and CIVITAS_VAR in ``folder``),
    seeded by tests.open311.seed_server, with public text on so status_notes carry notes."""
    with running_server(folder, CIVITAS_OPEN311_PUBLIC_TEXT="1") as server:
        yield server


def resolve_there(server: Server, ticket: str, result: str) -> str:
    """Close the case ``ticket`` on the outside server as its lead unit: accept, resolve."""
    return str(
        server.django(
            "from django.db import transaction\n"
            "from civitas.appeals import services, workflow as wf\n"
            "from civitas.appeals.models import Appeal\n"
            f"appeal = Appeal.objects.get(ticket={ticket!r})\n"
            "lead = frozenset({wf.LEAD})\n"
            "with transaction.atomic():\n"
            "    if appeal.status == 'dispatched':\n"
            "        appeal = services.accept(actor='outside-test', appeal=appeal, parties=lead)\n"
            f"    appeal = services.resolve(actor='outside-test', appeal=appeal, result={result!r},"
            " parties=lead)\n"
            "result = appeal.status\n"
        )
    )


def progress_there(server: Server, ticket: str, note: str) -> str:
    return str(
        server.django(
            "from django.db import transaction\n"
            "from civitas.appeals import services, workflow as wf\n"
            "from civitas.appeals.models import Appeal\n"
            f"appeal = Appeal.objects.get(ticket={ticket!r})\n"
            "lead = frozenset({wf.LEAD})\n"
            "with transaction.atomic():\n"
            "    if appeal.status == 'dispatched':\n"
            "        appeal = services.accept(actor='outside-test', appeal=appeal, parties=lead)\n"
            f"    appeal = services.progress(actor='outside-test', appeal=appeal, note={note!r},"
            " parties=lead)\n"
            "result = appeal.status\n"
        )
    )
