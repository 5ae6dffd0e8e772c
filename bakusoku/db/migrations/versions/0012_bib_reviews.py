"""Race day: what staff decided of a photo whose bib was not read (e.g. no bib visible).

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import has_table

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("bib_reviews"):
        op.create_table(
            "bib_reviews",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("photo_id", sa.String(36), primary_key=True),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("reviewed_by", sa.String(64), nullable=True),
            sa.Column("reviewed_at", sa.Double, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("bib_reviews")
