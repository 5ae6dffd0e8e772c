"""``bakusoku functions``: the configuration's own functions, and the events they failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from bakusoku.cli.db import _engine, _with_options
from bakusoku.db.invocations import AsyncInvocations


@click.group("functions")
def functions() -> None:
    """The configuration's own functions (docs/functions.md)."""


@functions.command("failed")
@click.option("--function", "function", default=None, help="Only this function's dead letters.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, with the event.")
@_with_options
def functions_failed(
    function: str | None,
    limit: int,
    as_json: bool,
    database_url: str | None,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Dead letters: asynchronous events (schedules, object prefixes) that failed every try.

    On AWS the same events wait in each function's failure queue ({function}-dlq).
    """
    engine = _engine(database_url, data_dir, config_file)
    try:
        failed = AsyncInvocations(engine).failed_invocations(function, limit=limit)
    finally:
        engine.dispose()
    if as_json:
        for invocation in failed:
            click.echo(json.dumps(invocation.as_json()))
        return
    if not failed:
        click.echo("no dead letters")
        return
    for invocation in failed:
        when = datetime.fromtimestamp(invocation.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        click.echo(
            f"{when}  {invocation.function}  {invocation.source}  tries {invocation.attempts}  "
            f"{invocation.error_type}: {invocation.error_message}  [{invocation.key}]"
        )
