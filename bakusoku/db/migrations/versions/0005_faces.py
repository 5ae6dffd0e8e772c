"""Faces: every detected face of a photo (box, vector, consent) and the photo's face-index state.

Revision ID: 0005
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import add_columns, create_indexes, has_table

revision = "0005"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns(
        "photos",
        [
            sa.Column("face_index", sa.String(16), nullable=True),
            sa.Column("face_index_error", sa.Text, nullable=True),
        ],
    )
    if not has_table("faces"):
        op.create_table(
            "faces",
            sa.Column("face_id", sa.String(36), primary_key=True),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("album", sa.String(128), nullable=False),
            sa.Column("photo_id", sa.String(36), nullable=False),
            sa.Column("box", sa.JSON, nullable=False),
            sa.Column("embedded", sa.Boolean, nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=True),
            sa.Column("backend_face_id", sa.String(64), nullable=True),
            sa.Column("suppressed", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("created_at", sa.Double, nullable=False),
        )
    create_indexes(
        "faces",
        {"ix_faces_album": ["service", "album", "created_at"], "ix_faces_photo": ["photo_id"]},
    )


def downgrade() -> None:
    op.drop_table("faces")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("face_index_error")
        batch.drop_column("face_index")
