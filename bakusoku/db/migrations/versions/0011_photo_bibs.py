"""Race day: the bibs each photo shows, with their confidence and source.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import create_indexes, has_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("photo_bibs"):
        op.create_table(
            "photo_bibs",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("photo_id", sa.String(36), primary_key=True),
            sa.Column("bib", sa.String(16), primary_key=True),
            sa.Column("confidence", sa.Float, nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("box", sa.JSON, nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
        )
    create_indexes("photo_bibs", {"ix_photo_bibs_bib": ["service", "album", "bib", "confidence"]})


def downgrade() -> None:
    op.drop_table("photo_bibs")
