"""Album access codes for parents, and parents' sessions.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import create_indexes, has_table

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("album_codes"):
        op.create_table(
            "album_codes",
            sa.Column("code_id", sa.String(8), primary_key=True),
            sa.Column("secret_hash", sa.String(128), nullable=False),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("album", sa.String(128), nullable=False),
            sa.Column("note", sa.String(200), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("created_by", sa.String(80), nullable=False),
            sa.Column("expires_at", sa.Double, nullable=False),
            sa.Column("revoked_at", sa.Double, nullable=True),
            sa.Column("revoked_by", sa.String(80), nullable=True),
            sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
            sa.Column("last_used_at", sa.Double, nullable=True),
        )
    create_indexes("album_codes", {"ix_album_codes_album": ["service", "album", "created_at"]})
    if not has_table("parent_sessions"):
        op.create_table(
            "parent_sessions",
            sa.Column("session_id", sa.String(24), primary_key=True),
            sa.Column("secret_sha256", sa.String(64), nullable=False),
            sa.Column("code_id", sa.String(8), nullable=False),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("album", sa.String(128), nullable=False),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("expires_at", sa.Double, nullable=False),
            sa.Column("ended_at", sa.Double, nullable=True),
            sa.Column("confirmed", sa.JSON, nullable=True),
            sa.Column("rejected", sa.JSON, nullable=True),
        )
    create_indexes(
        "parent_sessions",
        {"ix_parent_sessions_code": ["code_id"], "ix_parent_sessions_expires": ["expires_at"]},
    )


def downgrade() -> None:
    op.drop_table("parent_sessions")
    op.drop_table("album_codes")
