"""Context carried into every log line: the request id of a web request, the task id of a
background task, the job of a scheduled run.

The web middleware binds ``request_id`` for the length of a request; a worker binds the task
it runs the same way::

    from civitas.kit import logctx

    with logctx.bind(task_id=str(task.id), job="appeals.deadlines"):
        run(task)

``ContextFilter`` (on the console handler, see settings.LOGGING) copies the bound fields onto
each record, so the JSON formatter writes them as fields and the text formatter as
``[request_id=… task_id=…]``. The values are identifiers only: never bind personal data.
It also replaces the path in Django's own request lines by the URL pattern (a path may hold
a tracking token).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("civitas_log_context", default=_EMPTY)

# An incoming X-Request-ID is kept when it looks like an id (a load balancer's or a client's);
# anything else (too long, spaces, quotes, control characters) is replaced by a new one, so a
# caller cannot inject text into the logs through it.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def new_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The incoming request id when it is well formed, else a new uuid4 hex."""
    value = (header or "").strip()
    return value if _WELL_FORMED.fullmatch(value) else new_id()


def current() -> dict[str, str]:
    """The fields bound in this thread or task, as a new dict."""
    return dict(_context.get())


def get(name: str) -> str | None:
    return _context.get().get(name)


@contextmanager
def bind(**fields: Any) -> Iterator[dict[str, str]]:
    """Add ``fields`` to the log context until the block ends (nested binds add up; a value of
    None leaves a field out). Yields the whole context."""
    for name in fields:
        if not _NAME.fullmatch(name):
            raise ValueError(f"log context field {name!r}: use lower-case letters, digits and _")
    merged = {**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _context.set(MappingProxyType(merged))
    try:
        yield dict(merged)
    finally:
        _context.reset(token)


def _hide_request_path(record: logging.LogRecord) -> None:
    """Django's own request lines ("Internal Server Error: /track/<token>/") name the path,
    which may hold a tracking token (a key to a resident's case) or a ticket: they name the
    URL pattern instead, as the access log does, and the request object (which the JSON
    formatter would print whole) becomes method and pattern."""
    request = getattr(record, "request", None)
    path = getattr(request, "path", None)
    if not isinstance(path, str) or not record.name.startswith("django."):
        return
    match = getattr(request, "resolver_match", None)
    route = str(getattr(match, "route", "") or "unmatched")
    hidden = {path, path.encode("unicode_escape").decode("ascii")}
    if isinstance(record.args, tuple):
        record.args = tuple(route if a in hidden else a for a in record.args)
    record.request = f"{getattr(request, 'method', '')} {route}"


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (``record.request_id`` …) and sets
    ``record.context``, the same fields as readable text (empty when nothing is bound)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _hide_request_path(record)
        ctx = _context.get()
        for name, value in ctx.items():
            if not hasattr(record, name):
                setattr(record, name, value)
        record.context = (" [" + " ".join(f"{k}={v}" for k, v in ctx.items()) + "]") if ctx else ""
        return True


class TextFormatter(logging.Formatter):
    """``time level logger [request_id=…] message``: readable, one line per record (tracebacks
    follow on the next lines as usual)."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        fmt = fmt or "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"
        super().__init__(fmt, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "context"):  # a handler without ContextFilter
            ContextFilter().filter(record)
        return super().format(record)


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, the bound context fields
    and any ``extra=`` fields of the call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "context"])
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name, value in _context.get().items():
            log_data.setdefault(name, value)
