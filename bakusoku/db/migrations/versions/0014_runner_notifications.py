"""Race day: runners' subscriptions, the notification outbox and runners' privacy requests.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bakusoku.db.migrations.helpers import create_indexes, has_table

revision = "0014"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not has_table("runner_subscriptions"):
        op.create_table(
            "runner_subscriptions",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("album", sa.String(128), nullable=False),
            sa.Column("bib", sa.String(16), nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("address", sa.Text, nullable=False),
            sa.Column("address_sha256", sa.String(64), nullable=False),
            sa.Column("verified_by", sa.String(16), nullable=False),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("ended_at", sa.Double, nullable=True),
            sa.UniqueConstraint(
                "service",
                "album",
                "bib",
                "channel",
                "address_sha256",
                name="uq_runner_subscriptions",
            ),
        )
    create_indexes(
        "runner_subscriptions", {"ix_runner_subscriptions_bib": ["service", "album", "bib"]}
    )
    if not has_table("notification_outbox"):
        op.create_table(
            "notification_outbox",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
            sa.Column("subscription_id", sa.Integer, nullable=False),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("album", sa.String(128), nullable=False),
            sa.Column("bib", sa.String(16), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("batch", sa.String(40), nullable=False),
            sa.Column("retry_key", sa.String(36), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
            sa.Column("next_attempt_at", sa.Double, nullable=False),
            sa.Column("last_error", sa.String(256), nullable=True),
            sa.Column("created_at", sa.Double, nullable=False),
            sa.Column("delivered_at", sa.Double, nullable=True),
        )
    create_indexes(
        "notification_outbox", {"ix_notification_outbox_due": ["status", "next_attempt_at"]}
    )
    if not has_table("runner_erasure_requests"):
        op.create_table(
            "runner_erasure_requests",
            sa.Column("service", sa.String(32), primary_key=True),
            sa.Column("album", sa.String(128), primary_key=True),
            sa.Column("bib", sa.String(16), primary_key=True),
            sa.Column("kind", sa.String(8), primary_key=True),
            sa.Column("requested_at", sa.Double, nullable=False),
            sa.Column("done_at", sa.Double, nullable=True),
            sa.Column("photos", sa.JSON, nullable=True),
        )


def downgrade() -> None:
    op.drop_table("runner_erasure_requests")
    op.drop_table("notification_outbox")
    op.drop_table("runner_subscriptions")
