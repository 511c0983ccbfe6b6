"""Alembic environment: runs on the connection handed over by :mod:`sciplab.web.migrate`."""

from __future__ import annotations

from alembic import context

from sciplab.web.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only sciplab.web.migrate runs these scripts
    raise RuntimeError("run migrations through `sciplab db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
