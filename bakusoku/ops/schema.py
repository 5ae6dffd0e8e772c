"""Brings an existing database up to the operations columns and tables, when they are missing.

The shipped migrations add these too; this step only fills what a database still lacks (each
addition is checked first), so it runs safely before or after them.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from bakusoku.db.schema import alert_outbox, execution_events, executions, photos

log = logging.getLogger("bakusoku.ops.schema")

_COLUMNS = {
    executions: ("photo_id", "album", "error_code", "failed_state"),
    photos: ("trace_parent",),
}
_INDEXES = {
    executions: (
        "ix_executions_started",
        "ix_executions_photo",
        "ix_executions_album_started",
        "ix_executions_error_started",
        "ix_executions_stopped",
    ),
    execution_events: ("ix_execution_events_state",),
}


def ensure_ops_schema(db: sa.Engine) -> list[str]:
    """Add missing operations columns, indexes and the alert outbox; returns what was added."""
    added: list[str] = []
    with db.begin() as conn:
        inspector = sa.inspect(conn)
        tables = set(inspector.get_table_names())
        if alert_outbox.name not in tables:
            alert_outbox.create(conn)
            added.append(alert_outbox.name)
        for table, names in _COLUMNS.items():
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for name in names:
                if name not in have:
                    column = table.c[name]
                    kind = column.type.compile(dialect=conn.dialect)
                    conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
                    added.append(f"{table.name}.{name}")
        for table, index_names in _INDEXES.items():
            have_ix = {str(i["name"]) for i in sa.inspect(conn).get_indexes(table.name)}
            for index in table.indexes:
                if index.name in index_names and index.name not in have_ix:
                    index.create(conn)
                    added.append(str(index.name))
    if added:
        log.info("added operations schema: %s", ", ".join(added))
    return added
