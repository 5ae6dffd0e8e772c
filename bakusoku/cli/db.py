"""``bakusoku db``: bring the database schema up to date and look at its version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import sqlalchemy as sa

from bakusoku.config import load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import current_revision, head_revision, schema_differences, upgrade

Command = Callable[..., None]
_URL_HELP = "SQLAlchemy URL (default: database_url from settings, else SQLite in --data-dir)."


def _engine(database_url: str | None, data_dir: Path | None, config_file: Path | None) -> sa.Engine:
    settings = load_settings(
        {"database_url": database_url, "data_dir": data_dir}, config_file=config_file
    )
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return create_db_engine(settings.effective_database_url, pool_size=1)


_options = [
    click.option("--database-url", default=None, help=_URL_HELP),
    click.option("--data-dir", type=click.Path(path_type=Path), default=None),
    click.option(
        "--config", "config_file", type=click.Path(path_type=Path, exists=True), default=None
    ),
]


def _with_options(func: Command) -> Command:
    for option in reversed(_options):
        func = option(func)
    return func


@click.group("db")
def db() -> None:
    """Manage the database schema (SQLite, MySQL/MariaDB, PostgreSQL)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migrate up to this revision.")
@_with_options
def db_upgrade(
    revision: str, database_url: str | None, data_dir: Path | None, config_file: Path | None
) -> None:
    """Apply the shipped migrations (safe to run again; `bakusoku up` runs it too)."""
    engine = _engine(database_url, data_dir, config_file)
    try:
        before = current_revision(engine)
        after = upgrade(engine, revision)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{where}: already at {after}")
    else:
        click.echo(f"{where}: migrated {before or 'empty'} -> {after}")


@db.command("current")
@_with_options
def db_current(database_url: str | None, data_dir: Path | None, config_file: Path | None) -> None:
    """Show the database's schema revision, the newest one shipped, and any drift."""
    engine = _engine(database_url, data_dir, config_file)
    try:
        revision = current_revision(engine)
        drift = schema_differences(engine) if revision else []
    finally:
        engine.dispose()
    click.echo(f"current: {revision or 'none (run `bakusoku db upgrade`)'}")
    click.echo(f"head:    {head_revision()}")
    for difference in drift:
        click.echo(f"drift:   {difference}")
