"""The sales window of an album: when it ends, for face retention.

Revision ID: 0015
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import has_table

revision = "0015"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("album_sales"):
        op.create_table(
            "album_sales",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("sales_end", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
            sa.Column("updated_by", sa.String(80), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("album_sales")
