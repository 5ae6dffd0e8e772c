"""Race-day bursts: event order per object, an index per API listing, execution ownership.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Each step skips what a database created before migrations existed may already have.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import add_columns, create_indexes, index_names

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW_INDEXES = {
    "ix_photos_album_status_created": ["album", "status", "created_at"],
    "ix_photos_status_created": ["status", "created_at"],
    "ix_photos_created": ["created_at"],
    "ix_photos_sha256": ["sha256"],
}


def upgrade() -> None:
    add_columns("photos", [sa.Column("sequencer", sa.String(32), nullable=True)])
    create_indexes("photos", _NEW_INDEXES)
    if "ix_photos_status" in index_names("photos"):  # ix_photos_status_created serves it
        op.drop_index("ix_photos_status", table_name="photos")
    add_columns(
        "executions",
        [
            sa.Column("owner", sa.String(64), nullable=True),
            sa.Column("lease_until", sa.Double, nullable=True),
        ],
    )


def downgrade() -> None:
    op.drop_column("executions", "lease_until")
    op.drop_column("executions", "owner")
    op.create_index("ix_photos_status", "photos", ["status"])
    for name in _NEW_INDEXES:
        op.drop_index(name, table_name="photos")
    op.drop_column("photos", "sequencer")
