"""A version counter on therapy sessions: every edit of a session's ratings bumps it (the client page cache's key).

The ORM mapper keeps it (``version_id_col``): every UPDATE of a ``therapy_sessions`` row through the
ORM increments it, so the per-worker cache of the client overview (:mod:`sciplab.web.views.cache`)
sees an edited rating at once. Existing rows start at 1.

Revision ID: 0004_session_version
Revises: 0003_trust
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_session_version"
down_revision = "0003_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("therapy_sessions") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("therapy_sessions") as batch:
        batch.drop_column("version")
