"""Options and settings shared by the clinic commands (``serve``, ``db``, ``users``, ``audit``).

A private module, so that loading one clinic command does not load the others (start-up time).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sciplab._core.errors import InvalidParameterError

DB_HELP = (
    "Clinic database: a file path or sqlite:///PATH (SQLite, WAL) or postgresql+psycopg://USER@HOST/DB "
    "(default: clinic.db in the user data folder, $SCIPLAB_DATA_DIR)."
)
DbOpt = Annotated[str | None, typer.Option("--db", help=DB_HELP)]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="Settings file (TOML; also $SCIPLAB_CONFIG); see docs/clinic.md.")
]


def db_url(db: str | None, config: str | None = None) -> Any:
    """Settings with the database of ``--db`` (an empty value is refused, not taken as the default)."""
    from sciplab.web.settings import Settings

    if db is not None and not db.strip():
        raise InvalidParameterError("--db must name a database file or URL; leave it out for the default")
    return Settings.load(config, db=db)
