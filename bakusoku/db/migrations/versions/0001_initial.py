"""The schema bakusoku first shipped: photos, executions and their history, the event outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("photo_id", sa.String(36), primary_key=True),
        sa.Column("album", sa.String(128), nullable=False),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(64), nullable=True),
        sa.Column("declared_size", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("etag", sa.String(64), nullable=True),
        sa.Column("byte_size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("width", sa.Integer, nullable=True),
        sa.Column("height", sa.Integer, nullable=True),
        sa.Column("taken_at", sa.String(32), nullable=True),
        sa.Column("renditions", sa.JSON, nullable=True),
        sa.Column("crop_box", sa.JSON, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("execution_name", sa.String(80), nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.UniqueConstraint("bucket", "object_key", name="uq_photos_object"),
    )
    op.create_index("ix_photos_album_created", "photos", ["album", "created_at"])
    op.create_index("ix_photos_status", "photos", ["status"])
    op.create_table(
        "executions",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("state_machine", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", sa.JSON, nullable=False),
        sa.Column("output", sa.JSON, nullable=True),
        sa.Column("error", sa.String(256), nullable=True),
        sa.Column("cause", sa.Text, nullable=True),
        sa.Column("started_at", sa.Double, nullable=False),
        sa.Column("stopped_at", sa.Double, nullable=True),
        sa.Column("redrive_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("checkpoint", sa.JSON, nullable=True),
    )
    op.create_index("ix_executions_status_started", "executions", ["status", "started_at"])
    op.create_table(
        "execution_events",
        sa.Column("execution_name", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("previous_event_id", sa.Integer, nullable=True),
        sa.Column("type", sa.String(48), nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("state_name", sa.String(80), nullable=True),
        sa.Column("details", sa.JSON, nullable=True),
    )
    op.create_table(
        "object_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("object_key", sa.String(1024), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("sequencer", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("dispatched_at", sa.Double, nullable=True),
    )
    op.create_index("ix_object_events_pending", "object_events", ["dispatched_at", "id"])


def downgrade() -> None:
    op.drop_table("object_events")
    op.drop_table("execution_events")
    op.drop_table("executions")
    op.drop_table("photos")
