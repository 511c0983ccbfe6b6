"""Schema migrations (Alembic, scripts inside the package) and the check the app makes at start.

``upgrade(url)``, ``downgrade(url, rev)``, ``current(url)``, ``history()`` back the ``sciplab db``
commands; :func:`check_schema` refuses a database that is unmigrated, behind, or newer than this
SCIP Lab, with the command that fixes it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from sciplab.web.db import make_engine, redact, sqlite_path
from sciplab.web.errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def config(url: str | None = None) -> Config:
    """An Alembic config pointing at the package's scripts (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest revision this SCIP Lab knows."""
    rev = ScriptDirectory.from_config(config()).get_current_head()
    assert rev is not None  # noqa: S101 - the package ships its migrations
    return rev


def history() -> list[tuple[str, str | None, str]]:
    """``(revision, down_revision, message)`` from the newest to the first."""
    scripts = ScriptDirectory.from_config(config())
    out = []
    for rev in scripts.walk_revisions():
        down = rev.down_revision if isinstance(rev.down_revision, str) or rev.down_revision is None else None
        out.append((rev.revision, down, rev.doc or ""))
    return out


def _run(url: str, fn: str, target: str) -> None:
    path = sqlite_path(url)
    new_file = path is not None and not path.exists()
    engine = make_engine(url, create=True)
    done = False
    try:
        with engine.begin() as conn:
            cfg = config(url)
            cfg.attributes["connection"] = conn
            getattr(command, fn)(cfg, target)
        done = True
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseError(f"cannot migrate {redact(url)}: {exc.orig}") from None
    except CommandError as exc:
        raise DatabaseError(f"cannot migrate {redact(url)} to {target}: {exc}") from None
    finally:
        engine.dispose()
        if not done and new_file and path is not None and migrate_failed(path):
            path.unlink(missing_ok=True)


def migrate_failed(path: Path) -> bool:
    """True when a file this run created holds no schema (the run failed before its first step)."""
    import sqlite3

    try:
        uri = f"file:{quote(str(path.resolve()), safe='/')}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            return con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0] == 0
    except sqlite3.Error:
        return True


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (creating an SQLite file when missing)."""
    _known(revision)
    _run(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> None:
    """Step the database back to ``revision`` (``base``: empty)."""
    _known(revision)
    _run(url, "downgrade", revision)


def _known(revision: str) -> None:
    if revision in ("head", "base"):
        return
    if revision not in {r for r, _, _ in history()}:
        known = ", ".join(r for r, _, _ in history())
        raise DatabaseError(f"unknown revision {revision!r}; revisions: head, base, {known}")


def current(url: str) -> str | None:
    """The revision the database is at (None: not migrated)."""
    engine = make_engine(url)
    try:
        return current_of(engine)
    finally:
        engine.dispose()


def current_of(engine: Engine) -> str | None:
    """The revision of the database behind ``engine`` (None: no schema yet)."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseError(f"cannot open the database {redact(str(engine.url))}: {exc.orig}") from None


def check_schema(engine: Engine) -> str:
    """The revision when it is this SCIP Lab's head, else a :class:`DatabaseError` saying what to run."""
    url = redact(str(engine.url))
    rev = current_of(engine)
    newest = head()
    if rev == newest:
        return rev
    if rev is None:
        raise DatabaseError(f"database {url} has no SCIP Lab schema: run `sciplab db upgrade --db {url}` first")
    if rev not in {r for r, _, _ in history()}:
        raise DatabaseError(
            f"database {url} is at revision {rev}, newer than this SCIP Lab knows (head {newest}): "
            "upgrade sciplab, or use the database with the version that migrated it"
        )
    raise DatabaseError(
        f"database {url} is at revision {rev}, behind this SCIP Lab (head {newest}): "
        f"run `sciplab db upgrade --db {url}`"
    )
