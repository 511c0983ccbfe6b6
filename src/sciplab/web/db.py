"""Engines, transactions and the schema check of the clinic database.

SQLite: WAL journal, foreign keys on, a busy timeout, and every transaction opened with
``BEGIN IMMEDIATE`` so writers queue instead of failing half-way (the audit chain needs one writer at
a time), except a transaction marked :data:`READ_ONLY` (a deferred ``BEGIN``: WAL readers do not
queue); the app opens an existing file only (``mode=rw``): a missing file is an error, never a new
empty database. PostgreSQL: psycopg 3; the audit chain takes a transaction-scoped advisory lock; a
transaction marked :data:`READ_ONLY` runs in autocommit (no ``BEGIN``/``COMMIT`` round trips: under
PostgreSQL's READ COMMITTED every statement reads its own snapshot either way); a pooled connection is
checked before use (:func:`_pg_events`).

Writers of one SQLite file wait in :class:`WriterQueue` before their ``BEGIN IMMEDIATE`` (the web app's
transactions, :meth:`sciplab.web.clinic.Clinic.tx`): SQLite's own busy handler lets a waiting writer
sleep and poll (1, 2, 5 ... 100 ms between tries), so under load a writer waited tens of milliseconds
after the lock was free; the queue wakes the next writer as soon as the previous one committed.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from sciplab.web.errors import DatabaseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only the threads of a process queue (WriterQueue)
    fcntl = None  # type: ignore[assignment]

BUSY_TIMEOUT_MS = 15_000
#: Execution option of a transaction that only reads: SQLite opens it with a deferred ``BEGIN`` (WAL: a
#: reader sees the last commit and never waits for the writer), every other one with ``BEGIN IMMEDIATE``.
READ_ONLY = "sciplab_read_only"


def read_only(engine: Engine) -> Engine:
    """``engine`` for transactions that only read: :data:`READ_ONLY`, and on PostgreSQL autocommit.

    PostgreSQL's READ COMMITTED (its default) gives every statement its own snapshot, in a transaction
    or not, so a read-only block reads the same in autocommit, without the ``BEGIN`` and ``COMMIT``
    round trips. SQLite opens it with a deferred ``BEGIN`` (see :func:`_sqlite_events`).
    """
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases or in-memory SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def redact(url: str) -> str:
    """The URL without its password, an SQLite file as its path (for messages and logs)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<invalid URL>"
    if parsed.drivername.startswith("sqlite") and parsed.database:
        name = parsed.database
        return unquote(name.removeprefix("file:").split("?mode=")[0]) if name.startswith("file:") else name
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str, *, create: bool = False, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite files must exist unless ``create`` (then the folder is made)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"--db {url!r} is not a database URL (e.g. sqlite:///clinic.db)") from None
    if parsed.drivername.startswith("sqlite"):
        path = sqlite_path(url)
        connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        if path is not None:
            if path.exists() and not path.is_file():
                raise DatabaseError(f"database {path} is not a file")
            if create:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(f"cannot create the folder of database {path}: {exc.strerror}") from None
            elif not path.exists():
                raise DatabaseError(f"database {path} does not exist: create it with `sciplab db upgrade --db {path}`")
            mode = "rwc" if create else "rw"
            uri_path = quote(str(path.resolve()), safe="/")  # SQLite URI: ?, # and % percent-encoded
            parsed = parsed.set(database=f"file:{uri_path}?mode={mode}", query={"uri": "true"})
        engine = create_engine(parsed, connect_args=connect_args, echo=echo)
        _sqlite_events(engine)
        return engine
    if parsed.drivername.startswith("postgresql"):
        engine = create_engine(parsed, echo=echo, connect_args={"connect_timeout": 5})
        _pg_events(engine)
        return engine
    raise DatabaseError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql+psycopg")


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own handling is off)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        try:
            cur.execute("PRAGMA journal_mode = WAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _readable(fd: int) -> bool:
    """Whether the socket ``fd`` has something to read (or an error or hang-up) right now, without waiting."""
    if hasattr(select, "poll"):  # no limit on the descriptor's number (select() stops at FD_SETSIZE)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _pg_events(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use, with a round trip only when it may be dead.

    An idle connection whose server went away (restart, crash, ``pg_terminate_backend``, an idle
    timeout) has something to read: the server's last message or the end of the stream. Only then is
    it pinged, and when the ping fails the pool replaces it (``DisconnectionError``) before the request
    uses it, as ``pool_pre_ping`` does, which pings every connection at every checkout (a round trip
    per transaction).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        try:
            readable = _readable(dbapi_conn.fileno())
        except (OSError, ValueError, engine.dialect.loaded_dbapi.Error):  # closed: no socket any more
            raise DisconnectionError("connection closed") from None
        if not readable:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # noqa: BLE001 - any failure: the pool opens a new connection
            raise DisconnectionError(str(exc)) from None


class WriterQueue:
    """Writers of one SQLite file, one at a time: threads of this process, then processes (``flock``).

    The lock file (``<database>-writer``, next to the ``-wal`` and ``-shm`` files SQLite keeps there)
    holds no data. A blocking ``flock`` wakes the next process the moment the holder releases it,
    unlike SQLite's busy handler, which sleeps and polls. Advisory only: a process that does not queue
    (the CLI, a backup) still meets SQLite's own write lock and busy timeout, so nothing depends on the
    queue for correctness. Without ``fcntl`` (Windows) or when the file cannot be opened, only the
    threads of this process queue.
    """

    def __init__(self, path: Path) -> None:
        path = path.resolve()
        self.path = path.with_name(path.name + "-writer")
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        # a forked child opens its own: a flock belongs to the open file, which fork would share with the parent
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            except OSError:  # folder gone or read-only: SQLite itself will say what is wrong
                self._fd = None
                return None
            self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for the turn of this writer; release it when the block (the transaction) ends."""
        with self._threads:
            fd = self._file() if fcntl is not None else None
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file (the engine was disposed)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def writer_queue(url: str) -> WriterQueue | None:
    """The writer queue of an SQLite file URL (None for PostgreSQL and in-memory SQLite)."""
    path = sqlite_path(url)
    return None if path is None else WriterQueue(path)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (pages render after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back whole when it raises."""
    with factory() as db, db.begin():
        yield db
