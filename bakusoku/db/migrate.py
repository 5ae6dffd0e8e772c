"""Bringing a database's schema to this release's version with the shipped Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from bakusoku.db.errors import MigrationError
from bakusoku.db.retry import is_transient, unavailable
from bakusoku.db.schema import metadata

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASELINE = "0001"  # the schema older releases created without migrations


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this release ships."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The migration the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, revision: str = "head") -> str:
    """Apply every migration up to ``revision``; returns the revision the database is then at.

    A database an older release created without migrations (tables, no version) is recognised
    and stamped with the baseline first.
    """
    try:
        with engine.begin() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            config = _config(conn)
            if "photos" in tables and "alembic_version" not in tables:
                command.stamp(config, BASELINE)
            command.upgrade(config, revision)
    except Exception as exc:
        if is_transient(exc):
            raise unavailable(exc) from exc
        raise MigrationError(
            f"migrating {engine.url.render_as_string(hide_password=True)} to {revision} failed: "
            f"{exc}; fix the cause and run `bakusoku db upgrade` again (applied steps are kept)"
        ) from exc
    return current_revision(engine) or ""


def schema_differences(engine: sa.Engine) -> list[Any]:
    """What differs between the database and ``bakusoku.db.schema`` (empty: they match)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))
