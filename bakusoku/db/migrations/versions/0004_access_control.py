"""Access control: service-scoped API keys (hashed) and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import create_indexes, has_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("key_id", sa.String(24), primary_key=True),
            sa.Column("secret_sha256", sa.String(64), nullable=False),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("albums", sa.JSON, nullable=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("note", sa.String(200), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("created_by", sa.String(80), nullable=False),
            sa.Column("revoked_at", sa.Double, nullable=True),
            sa.Column("revoked_by", sa.String(80), nullable=True),
        )
    create_indexes("api_keys", {"ix_api_keys_service": ["service", "created_at"]})
    if not has_table("audit_log"):
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.Double, nullable=False),
            sa.Column("actor", sa.String(80), nullable=False),
            sa.Column("action", sa.String(48), nullable=False),
            sa.Column("service", sa.String(32), nullable=True),
            sa.Column("target", sa.String(512), nullable=True),
            sa.Column("details", sa.JSON, nullable=True),
        )
    create_indexes(
        "audit_log", {"ix_audit_log_at": ["at"], "ix_audit_log_service_at": ["service", "at"]}
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("api_keys")
