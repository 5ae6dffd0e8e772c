"""What the operator commands that write to the database directly share: the engine, the actor."""

from __future__ import annotations

import getpass

import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade


def migrated_engine(settings: Settings) -> sa.Engine:
    """The configured database with the schema brought up to date, its folder created first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.effective_database_url)
    upgrade(engine)
    return engine


def cli_actor() -> str:
    """Who the audit log names for a command run here: the login, when the system knows it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
