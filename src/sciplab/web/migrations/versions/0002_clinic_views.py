"""Clinic views: formulation review decisions, acknowledgements of attention flags, what was done about an alert.

Revision ID: 0002_clinic_views
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_clinic_views"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("action_taken", sa.Text(), nullable=True))
    op.create_table(
        "formulation_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_formulation_reviews_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_formulation_reviews_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_formulation_reviews")),
    )
    op.create_index(op.f("ix_formulation_reviews_client_id"), "formulation_reviews", ["client_id"])
    op.create_table(
        "attention_acks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_attention_acks_client_id_clients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_attention_acks_acknowledged_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attention_acks")),
    )
    op.create_index(op.f("ix_attention_acks_client_id"), "attention_acks", ["client_id"])


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_attention_acks_client_id"), table_name="attention_acks")
    op.drop_table("attention_acks")
    op.drop_index(op.f("ix_formulation_reviews_client_id"), table_name="formulation_reviews")
    op.drop_table("formulation_reviews")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("action_taken")
