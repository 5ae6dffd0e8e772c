"""Each execution runs on the definition it started with: the kept definitions, the revision.

An expand step (docs/upgrades.md): a new table and a nullable column, so the previous release,
which neither reads nor writes them, keeps working against this schema during a rolling restart.

Revision ID: 0008
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import add_columns, has_table

revision = "0008"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("state_machine_definitions"):
        op.create_table(
            "state_machine_definitions",
            sa.Column("state_machine", sa.String(80), primary_key=True),
            sa.Column("revision", sa.String(64), primary_key=True),
            sa.Column("definition", sa.Text, nullable=False),
            sa.Column("registered_at", sa.Double, nullable=False),
        )
    add_columns("executions", [sa.Column("definition_revision", sa.String(64), nullable=True)])


def downgrade() -> None:
    op.drop_column("executions", "definition_revision")
    op.drop_table("state_machine_definitions")
