"""Consistent online backups of the clinic database and restores into an empty database.

* **SQLite**: the SQLite online backup API (``sqlite3.Connection.backup``) copies the database page
  by page while the clinic keeps running; the copy is a consistent snapshot (a transaction committed
  during the copy makes the copy restart the changed pages). The backup file is itself an SQLite
  database.
* **PostgreSQL**: ``pg_dump --format=custom`` (one consistent snapshot in one transaction; the
  clinic keeps running) and ``pg_restore`` (the ``pg_dump``/``pg_restore`` of the server's major
  version or newer must be on ``PATH``).

:func:`restore` refuses a target that holds any table (never mixes two clinics, never overwrites a
live one), and a backup of the other kind of database.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from sciplab.web.db import make_engine, redact, sqlite_path
from sciplab.web.errors import DatabaseError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
PG_TIMEOUT_S = 3600


def _ro_uri(path: Path) -> str:
    return f"file:{quote(str(path.resolve()), safe='/')}?mode=ro"


def _libpq(url: str) -> str:
    """The libpq connection URI of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DatabaseError(
            f"{name} is not installed: install the PostgreSQL client tools of your server's version "
            "(Debian/Ubuntu: apt-get install postgresql-client)"
        )
    return found


def _run(args: list[str], what: str) -> None:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"{what} took longer than {PG_TIMEOUT_S} s and was stopped") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise DatabaseError(f"{what} failed: {' / '.join(lines[-3:]) or f'exit {proc.returncode}'}")


def backup(url: str, file: str | Path) -> Path:
    """Write a consistent backup of the database at ``url`` to ``file`` (which must not exist)."""
    out = Path(file)
    if out.exists():
        raise DatabaseError(f"backup file {out} already exists: choose a new name (a backup never overwrites)")
    if not out.parent.is_dir():
        raise DatabaseError(f"folder {out.parent} does not exist")
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            raise DatabaseError(f"database {path} does not exist")
        try:
            with contextlib.closing(sqlite3.connect(_ro_uri(path), uri=True)) as src:
                with contextlib.closing(sqlite3.connect(out)) as dst:
                    src.backup(dst)
        except sqlite3.Error as exc:
            out.unlink(missing_ok=True)
            raise DatabaseError(f"cannot back up {path}: {exc}") from None
        return out
    if not make_url(url).drivername.startswith("postgresql"):
        raise DatabaseError(f"cannot back up {redact(url)}: only SQLite and PostgreSQL are supported")
    args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", _libpq(url)]
    try:
        _run(args, f"pg_dump of {redact(url)}")
    except DatabaseError:
        out.unlink(missing_ok=True)
        raise
    return out


def kind_of(file: str | Path) -> str:
    """``sqlite`` or ``pg_dump`` from the file's first bytes (DatabaseError for anything else)."""
    path = Path(file)
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise DatabaseError(f"cannot read backup file {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    raise DatabaseError(f"{path} is not a clinic backup (neither an SQLite database nor a pg_dump custom archive)")


def _tables(url: str) -> list[str]:
    engine = make_engine(url, create=True)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseError(f"cannot open the database {redact(url)}: {exc.orig}") from None
    finally:
        engine.dispose()


def restore(url: str, file: str | Path) -> None:
    """Restore the backup ``file`` into the empty database at ``url`` (refused when it holds any table)."""
    kind = kind_of(file)
    path = sqlite_path(url)
    is_pg = make_url(url).drivername.startswith("postgresql")
    if (kind == "sqlite") != (path is not None) or (kind == "pg_dump" and not is_pg):
        made = "an SQLite" if kind == "sqlite" else "a PostgreSQL"
        raise DatabaseError(f"{file} is a backup of {made} database: restore it into the same kind of database")
    existing = _tables(url) if path is None or path.exists() else []
    if existing:
        raise DatabaseError(
            f"database {redact(url)} is not empty ({len(existing)} tables, e.g. {existing[0]}): "
            "restore only into a new, empty database"
        )
    if path is not None:
        try:
            with contextlib.closing(sqlite3.connect(_ro_uri(Path(file)), uri=True)) as src:
                with contextlib.closing(sqlite3.connect(path)) as dst:
                    src.backup(dst)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot restore {file} into {path}: {exc}") from None
        return
    args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            f"--dbname={_libpq(url)}", str(file)]  # fmt: skip
    _run(args, f"pg_restore into {redact(url)}")
