"""Engines, transactions and the schema check of the clinic database.

SQLite: WAL journal, foreign keys on, a busy timeout, and every transaction opened with
``BEGIN IMMEDIATE`` so writers queue instead of failing half-way (the audit chain needs one writer at
a time), except a transaction marked :data:`READ_ONLY` (a deferred ``BEGIN``: WAL readers do not
queue); the app opens an existing file only (``mode=rw``): a missing file is an error, never a new
empty database. PostgreSQL: psycopg 3; the audit chain takes a transaction-scoped advisory lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from sciplab.web.errors import DatabaseError

BUSY_TIMEOUT_MS = 15_000
#: Execution option of a transaction that only reads: SQLite opens it with a deferred ``BEGIN`` (WAL: a
#: reader sees the last commit and never waits for the writer), every other one with ``BEGIN IMMEDIATE``.
READ_ONLY = "sciplab_read_only"


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
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args={"connect_timeout": 5})
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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (pages render after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed when the block ends, rolled back whole when it raises."""
    with factory() as db, db.begin():
        yield db
