"""``sciplab db upgrade|downgrade|current|history|backup|restore``: the clinic database schema and backups.

The clinic modules (FastAPI, SQLAlchemy, Alembic) are imported inside the commands only, so the
rest of the CLI starts without them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sciplab.cli._clinic import ConfigOpt, DbOpt, db_url
from sciplab.cli._common import emit_json, say

app = typer.Typer(
    help="Clinic database schema: upgrade, downgrade, current revision, history; backup and restore.",
    no_args_is_help=True,
)


def upgrade_command(
    db: DbOpt = None,
    revision: Annotated[str, typer.Option("--revision", help="Target revision (default: the newest, head).")] = "head",
    config: ConfigOpt = None,
) -> None:
    """Create or bring the clinic database up to date (an SQLite file is created when missing)."""
    from sciplab.web import migrate
    from sciplab.web.db import redact

    settings = db_url(db, config)
    migrate.upgrade(settings.db, revision)
    say(f"database {redact(settings.db)} is at revision {migrate.current(settings.db)}")


def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base (empty) or 0001.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Step the clinic database back to REVISION (base removes every table: the data are lost)."""
    from sciplab.web import migrate
    from sciplab.web.db import redact

    settings = db_url(db, config)
    migrate.current(settings.db)  # refuses a missing file before anything is created
    migrate.downgrade(settings.db, revision)
    say(f"database {redact(settings.db)} is at revision {migrate.current(settings.db) or 'base (empty)'}")


def current_command(
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the revision of the clinic database and the newest this SCIP Lab knows."""
    from sciplab.web import migrate
    from sciplab.web.db import redact

    settings = db_url(db, config)
    rev = migrate.current(settings.db)
    head = migrate.head()
    if as_json:
        emit_json({"database": redact(settings.db), "revision": rev, "head": head, "up_to_date": rev == head})
        return
    state = "up to date" if rev == head else ("not migrated" if rev is None else f"head is {head}")
    say(f"{redact(settings.db)}: revision {rev or 'none'} ({state})")


def history_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the migrations this SCIP Lab ships, newest first."""
    from sciplab.web import migrate

    rows = migrate.history()
    if as_json:
        emit_json([{"revision": r, "down_revision": d, "message": m} for r, d, m in rows])
        return
    for rev, down, message in rows:
        say(f"{down or 'base'} -> {rev}  {message.splitlines()[0] if message else ''}")


def backup_command(
    file: Annotated[str, typer.Argument(help="Backup file to write (must not exist).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Consistent online backup (SQLite backup API; pg_dump custom format for PostgreSQL)."""
    from sciplab.web import backup
    from sciplab.web.db import redact

    settings = db_url(db, config)
    out = backup.backup(settings.db, file)
    say(f"backed up {redact(settings.db)} to {out} ({out.stat().st_size} bytes)")


def restore_command(
    file: Annotated[str, typer.Argument(help="A backup made by `sciplab db backup`.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Restore FILE into an empty database (a database holding any table is refused)."""
    from sciplab.web import backup, migrate
    from sciplab.web.db import redact

    settings = db_url(db, config)
    backup.restore(settings.db, file)
    rev = migrate.current(settings.db)
    head = migrate.head()
    note = "" if rev == head else f"; run `sciplab db upgrade` to bring it to {head}"
    say(f"restored {file} into {redact(settings.db)} (revision {rev}{note})")


def register(root: typer.Typer) -> None:
    """Add the ``db`` group to the ``sciplab`` app."""
    app.command("upgrade")(upgrade_command)
    app.command("downgrade")(downgrade_command)
    app.command("current")(current_command)
    app.command("history")(history_command)
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    root.add_typer(app, name="db")
