"""Alembic environment: runs on the connection handed over by :mod:`sciplab.web.migrate`."""

from __future__ import annotations

from alembic import context

from sciplab.web.models import Base


def run() -> None:
    """Run the migrations on the connection in the config's attributes."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `sciplab db upgrade`")
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # only when Alembic runs this script (not on import)
    run()
