"""Asynchronous invocations of the configuration's own functions and their dead-letter records.

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import has_table

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("async_invocations"):
        op.create_table(
            "async_invocations",
            sa.Column("invocation_key", sa.String(160), primary_key=True),
            sa.Column("function", sa.String(64), nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("event", sa.JSON, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("error_type", sa.String(128), nullable=True),
            sa.Column("error_message", sa.Text, nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
        )
        op.create_index(
            "ix_async_invocations_status", "async_invocations", ["status", "created_at"]
        )


def downgrade() -> None:
    op.drop_table("async_invocations")
