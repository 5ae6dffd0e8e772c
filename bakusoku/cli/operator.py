"""What the operator commands that write to the database directly share: their options, the
engine, the actor, and how they print what they made or found."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlalchemy as sa

from bakusoku.auth.errors import AuthError
from bakusoku.config import Settings, load_settings
from bakusoku.db.engine import create_db_engine
from bakusoku.db.migrate import upgrade

T = TypeVar("T")

_db_options = [
    click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="The data directory of `bakusoku up` (default ./.bakusoku).",
    ),
    click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True)),
]


def with_db_options(command: Any) -> Any:
    """``--data-dir`` and ``--config``: which deployment's database the command works on."""
    for option in reversed(_db_options):
        command = option(command)
    return command


def migrated_engine(settings: Settings) -> sa.Engine:
    """The configured database with the schema brought up to date, its folder created first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.effective_database_url)
    upgrade(engine)
    return engine


@contextmanager
def operator_db(data_dir: Path | None, config_file: Path | None) -> Iterator[sa.Engine]:
    """The deployment's database for one command; an access rule it breaks (an unknown id, a
    revoked key) ends the command with that rule's message instead of a traceback."""
    engine = migrated_engine(load_settings({"data_dir": data_dir}, config_file=config_file))
    try:
        yield engine
    except AuthError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        engine.dispose()


def cli_actor() -> str:
    """Who the audit log names for a command run here: the login, when the system knows it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def echo_listing(
    records: Iterable[T], as_json: bool, to_json: Callable[[T], Any], line: Callable[[T], str]
) -> None:
    """Print records one line each, or as one JSON array with ``--json``."""
    if as_json:
        click.echo(json.dumps([to_json(r) for r in records]))
        return
    for record in records:
        click.echo(line(record))


def echo_secret_once(
    record: Mapping[str, Any], field: str, secret: str, as_json: bool, summary: str, hint: str = ""
) -> None:
    """Print a secret made just now (a key, a code): it is shown this once, only its hash is kept.
    The reminder goes to stderr so that ``$(…)`` captures the summary and the secret only."""
    if as_json:
        click.echo(json.dumps({**record, field: secret}))
        return
    click.echo(summary)
    click.echo(secret)
    click.echo(f"{hint}Keep it now: it cannot be shown again.", err=True)
