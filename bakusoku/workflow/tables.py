"""The engine's own tables: executions, their history, the definitions they run on (SQLAlchemy Core).

Times are UTC epoch seconds in DOUBLE columns: sortable and exact on SQLite, MySQL and PostgreSQL.
The application's migrations (``bakusoku.db.migrations``) create and evolve them with the rest.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

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
    # Filled by operations (bakusoku.ops) when an execution ends, for searching the history: the
    # photo and album it processed, its stable error code and the state that failed.
    sa.Column("photo_id", sa.String(36), nullable=True),
    sa.Column("album", sa.String(128), nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("failed_state", sa.String(80), nullable=True),
    # The definition the execution started with (``state_machine_definitions.revision``): it
    # resumes and is redriven on that one, whatever definition the engine registers later.
    # Empty for executions started by a release that did not record it: they run on the current.
    sa.Column("definition_revision", sa.String(64), nullable=True),
    sa.Index("ix_executions_status_started", "status", "started_at"),
    sa.Index("ix_executions_started", "started_at"),
    sa.Index("ix_executions_photo", "photo_id"),
    sa.Index("ix_executions_album_started", "album", "started_at"),
    sa.Index("ix_executions_error_started", "error_code", "started_at"),
    sa.Index("ix_executions_stopped", "stopped_at"),
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
    sa.Index("ix_execution_events_state", "state_name"),
)

state_machine_definitions = sa.Table(
    "state_machine_definitions",
    metadata,
    # Every definition a state machine was registered with, kept for the executions started on it
    # (as Step Functions keeps a version for the executions that run on it).
    sa.Column("state_machine", sa.String(80), primary_key=True),
    sa.Column("revision", sa.String(64), primary_key=True),  # sha256 of the definition's JSON
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("registered_at", sa.Double, nullable=False),
)
