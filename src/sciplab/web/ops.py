"""Operations: JSON-lines logs without personal data, the readiness check, graceful shutdown settings.

Logs. :func:`configure_logging` sends the ``sciplab.web`` loggers (the access log of
:mod:`sciplab.web.security` and the app's error lines) to standard error as one JSON object per line:
``{"ts", "level", "logger", "event", ...fields}``. What a line may hold is fixed by the code that
writes it: the access log has method, route template, status and milliseconds; error lines name the
failing operation and the database without its password. No address, user name, client, token,
query string or form value is ever logged (the audit log, in the database, holds who did what).

Readiness. ``/readyz`` answers 200 only when the database answers *and* its schema is at the head
revision this SCIP Lab knows (a load balancer keeps a worker out of rotation during a migration);
``/healthz`` is the liveness check (the process answers and the database is reachable).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from sciplab.web.errors import DatabaseError

#: seconds Uvicorn waits for in-flight requests after SIGTERM/SIGINT before closing them
GRACEFUL_SECONDS = 30

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, event and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        """The line of ``record``."""
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = record.exc_info[0].__name__  # the type only: a message may quote data
        return json.dumps(out, default=str, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever ``sys.stderr`` is when a record is emitted.

    Bound at configuration time instead, a handler keeps writing to a stream that was replaced and
    closed since (a process that redirects its standard error, a test runner's capture).
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it: always sys.stderr
        pass


def configure_logging(level: str = "info", stream: Any = None) -> logging.Handler:
    """Send the ``sciplab.web`` loggers to ``stream`` (default: the current standard error) as JSON lines."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("sciplab.web")
    for old in [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    return handler


def readiness(clinic: Any) -> tuple[int, dict[str, Any]]:
    """``(status code, body)`` of ``/readyz``: the database answers and is at this SCIP Lab's head."""
    from sciplab.web import migrate

    try:
        revision = migrate.current_of(clinic.engine)
    except DatabaseError:
        return 503, {"status": "unavailable", "reason": "the database does not answer"}
    head = migrate.head()
    if revision != head:
        return 503, {"status": "unavailable", "reason": "schema not at head", "schema": revision, "head": head}
    return 200, {"status": "ready", "schema": revision}


_frozen = False


def freeze_startup_heap(warm: Callable[[], Any] | None = None, *, under_tests: bool | None = None) -> bool:
    """``gc.collect()`` then ``gc.freeze()`` once per process, when a server starts (True when it froze).

    The start-up heap (numpy, pandas, SciPy, SQLAlchemy, the instruments, the templates) lives as long
    as the worker: frozen, Python's full collections no longer scan it on every few requests (the
    client page's CPU p95 in ``benchmarks/bench_client_page.py`` falls by more than half). The app
    calls this when its lifespan starts, so ``uvicorn --factory sciplab.web.app:create_app`` workers
    get what ``sciplab serve`` does. Not under a test runner (``under_tests``, by default: pytest is
    imported): a frozen heap is never collected, and a test session starts many apps whose garbage
    must go. Set ``SCIPLAB_GC_FREEZE=0`` to switch it off. ``warm`` (called first) imports what the
    first requests would, so that it is frozen too.
    """
    import gc
    import os

    global _frozen
    if under_tests is None:
        under_tests = "pytest" in sys.modules
    if _frozen or under_tests or os.environ.get("SCIPLAB_GC_FREEZE", "1") == "0":
        return False
    if warm is not None:
        warm()
    gc.collect()
    gc.freeze()
    _frozen = True
    return True
