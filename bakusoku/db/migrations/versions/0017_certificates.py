"""Race day: finisher certificates, one row per result revision and photo, and a race's design.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import add_columns, create_indexes, has_table

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("certificates"):
        op.create_table(
            "certificates",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("bib", sa.String(16), primary_key=True),
            sa.Column("revision", sa.Integer, primary_key=True),
            sa.Column("photo_id", sa.String(36), primary_key=True),
            sa.Column("execution_name", sa.String(80), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("code", sa.String(64), nullable=True),
            sa.Column("reason", sa.String(512), nullable=True),
            sa.Column("design", sa.String(64), nullable=True),
            sa.Column("jpeg_l_key", sa.String(1024), nullable=True),
            sa.Column("jpeg_2l_key", sa.String(1024), nullable=True),
            sa.Column("pdf_key", sa.String(1024), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("updated_at", sa.Double, nullable=False),
            sa.Column("ready_at", sa.Double, nullable=True),
        )
    create_indexes(
        "certificates", {"ix_certificates_bib": ["service", "album", "bib", "updated_at"]}
    )
    # Expand only: a race without a design gets the default one.
    add_columns("races", [sa.Column("certificate_design", sa.String(64), nullable=True)])


def downgrade() -> None:
    op.drop_column("races", "certificate_design")
    op.drop_table("certificates")
