"""Photo metadata, placeholders and duplicates; searchable execution history; alert outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

from bakusoku.db.migrations.helpers import add_columns, create_indexes, has_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PHOTO_COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("image_format", sa.String(16)),
    ("orientation", sa.SmallInteger()),
    ("camera_make", sa.String(64)),
    ("camera_model", sa.String(64)),
    ("lens", sa.String(128)),
    ("exposure", sa.JSON()),
    ("gps", sa.JSON()),
    ("faces", sa.JSON()),
    ("placeholder", sa.String(64)),
    ("duplicate_of", sa.String(36)),
    ("trace_parent", sa.String(55)),
)
_EXECUTION_COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("photo_id", sa.String(36)),
    ("album", sa.String(128)),
    ("error_code", sa.String(64)),
    ("failed_state", sa.String(80)),
)
_EXECUTION_INDEXES = {
    "ix_executions_started": ["started_at"],
    "ix_executions_photo": ["photo_id"],
    "ix_executions_album_started": ["album", "started_at"],
    "ix_executions_error_started": ["error_code", "started_at"],
    "ix_executions_stopped": ["stopped_at"],
}


def upgrade() -> None:
    add_columns("photos", [sa.Column(n, t, nullable=True) for n, t in _PHOTO_COLUMNS])
    add_columns("executions", [sa.Column(n, t, nullable=True) for n, t in _EXECUTION_COLUMNS])
    create_indexes("executions", _EXECUTION_INDEXES)
    create_indexes("execution_events", {"ix_execution_events_state": ["state_name"]})
    if not has_table("alert_outbox"):
        op.create_table(
            "alert_outbox",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("dedupe_key", sa.String(160), nullable=False, unique=True),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("execution_name", sa.String(80), nullable=True),
            sa.Column("window_start", sa.Double, nullable=True),
            sa.Column("payload", sa.JSON, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("next_attempt_at", sa.Double, nullable=False),
            sa.Column("last_error", sa.String(256), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("delivered_at", sa.Double, nullable=True),
        )
    create_indexes(
        "alert_outbox",
        {
            "ix_alert_outbox_due": ["status", "next_attempt_at"],
            "ix_alert_outbox_window": ["channel", "window_start"],
        },
    )


def downgrade() -> None:
    op.drop_table("alert_outbox")
    op.drop_index("ix_execution_events_state", table_name="execution_events")
    for name in _EXECUTION_INDEXES:
        op.drop_index(name, table_name="executions")
    for name, _type in _EXECUTION_COLUMNS:
        op.drop_column("executions", name)
    for name, _type in _PHOTO_COLUMNS:
        op.drop_column("photos", name)
