"""Tables of bakusoku's database, as SQLAlchemy Core metadata (portable: SQLite, MySQL, PostgreSQL).

Times are UTC epoch seconds in DOUBLE columns: sortable and exact on all three databases.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

photos = sa.Table(
    "photos",
    metadata,
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
    # The S3 sequencer of the newest object event applied (zero-padded hex): an older event that
    # arrives late never rolls the row back.
    sa.Column("sequencer", sa.String(32), nullable=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.UniqueConstraint("bucket", "object_key", name="uq_photos_object"),
    # One index per listing the API makes: album (+ status), status alone, everything; newest first.
    sa.Index("ix_photos_album_created", "album", "created_at"),
    sa.Index("ix_photos_album_status_created", "album", "status", "created_at"),
    sa.Index("ix_photos_status_created", "status", "created_at"),
    sa.Index("ix_photos_created", "created_at"),
    sa.Index("ix_photos_sha256", "sha256"),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("state_machine", sa.String(80), nullable=False),
    # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", sa.JSON, nullable=False),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.String(256), nullable=True),
    sa.Column("cause", sa.Text, nullable=True),
    sa.Column("started_at", sa.Double, nullable=False),
    sa.Column("stopped_at", sa.Double, nullable=True),
    sa.Column("redrive_count", sa.Integer, nullable=False, server_default="0"),
    # Where a RUNNING execution resumes after a restart, or a redrive restarts: the top-level state
    # it was in, that state's input and the workflow variables ({"state", "input", "variables"}).
    sa.Column("checkpoint", sa.JSON, nullable=True),
    # The engine process running a RUNNING execution, and until when its claim holds without renewal:
    # one writer per execution, and executions of a process that died are taken over.
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Double, nullable=True),
    sa.Index("ix_executions_status_started", "status", "started_at"),
)

execution_events = sa.Table(
    "execution_events",
    metadata,
    sa.Column("execution_name", sa.String(80), primary_key=True),
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("previous_event_id", sa.Integer, nullable=True),
    sa.Column("type", sa.String(48), nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("state_name", sa.String(80), nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
)

# Transactional outbox of object-created notifications: written in the same breath as the object, read by
# the event dispatcher, so an upload whose bytes are stored can never lose its event.
object_events = sa.Table(
    "object_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("bucket", sa.String(63), nullable=False),
    sa.Column("object_key", sa.String(1024), nullable=False),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("sequencer", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("dispatched_at", sa.Double, nullable=True),
    sa.Index("ix_object_events_pending", "dispatched_at", "id"),
)
