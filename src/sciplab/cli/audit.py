"""``sciplab audit verify``: check the clinic's hash-chained audit log (exit 1 when the chain is broken)."""

from __future__ import annotations

from typing import Annotated

import typer

from sciplab.cli._clinic import ConfigOpt, DbOpt, db_url
from sciplab.cli._common import emit_json, fail, say

app = typer.Typer(help="The clinic's audit log.", no_args_is_help=True)


def verify_command(
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute the hash chain of the audit log; exit 1 naming the first entry that was changed or removed."""
    from sciplab.web.audit.service import verify
    from sciplab.web.db import make_engine
    from sciplab.web.migrate import check_schema

    settings = db_url(db, config)
    engine = make_engine(settings.db)
    try:
        check_schema(engine)
        from sqlalchemy.orm import Session

        with Session(engine) as s:
            result = verify(s)
    finally:
        engine.dispose()
    if as_json:
        emit_json({"ok": result.ok, "entries": result.entries, "broken_at": result.broken_at, "reason": result.reason})
        if not result.ok:
            raise typer.Exit(1)
        return
    if result.ok:
        say(f"audit log intact: {result.entries} entries, hash chain verified")
        return
    fail(f"audit log BROKEN: {result.reason} ({result.entries} entries read)", code=1)


def register(root: typer.Typer) -> None:
    """Add the ``audit`` group to the ``sciplab`` app."""
    app.command("verify")(verify_command)
    root.add_typer(app, name="audit")
