"""Race day: races, entry lists and timing results.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import create_indexes, has_table

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("races"):
        op.create_table(
            "races",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("race_date", sa.String(10), nullable=False),
            sa.Column("course", sa.String(200), nullable=True),
            sa.Column("timezone", sa.String(64), nullable=False),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
        )
    if not has_table("race_entries"):
        op.create_table(
            "race_entries",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("bib", sa.String(16), primary_key=True),
            sa.Column("name", sa.String(120), nullable=False),
            sa.Column("surname", sa.String(120), nullable=True),
            sa.Column("category", sa.String(120), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
        )
    if not has_table("race_results"):
        op.create_table(
            "race_results",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("bib", sa.String(16), primary_key=True),
            sa.Column("checkpoint", sa.String(32), primary_key=True),
            sa.Column("net_ms", sa.BigInteger, nullable=True),
            sa.Column("gun_ms", sa.BigInteger, nullable=True),
            sa.Column("finish_at", sa.String(40), nullable=True),
            sa.Column("name", sa.String(120), nullable=True),
            sa.Column("category", sa.String(120), nullable=True),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Column("received_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
        )
    create_indexes(
        "race_results",
        {"ix_race_results_standings": ["service", "album", "checkpoint", "net_ms"]},
    )


def downgrade() -> None:
    op.drop_table("race_results")
    op.drop_table("race_entries")
    op.drop_table("races")
