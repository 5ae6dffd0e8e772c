"""Every table created straight from the schema's metadata, in one call: for tests only.

Deployments never do this; their schema comes only from the Alembic migrations (``bakusoku up``
and ``bakusoku db upgrade`` locally, the migration function on AWS). Tests that are not about the
schema use this because it is fast; ``tests/db/test_migrations.py`` checks that the migrations
build the same schema.
"""

from __future__ import annotations

import sqlalchemy as sa

from bakusoku.db.schema import metadata


def create_schema(engine: sa.Engine) -> None:
    """Create every table that does not exist yet."""
    metadata.create_all(engine)
