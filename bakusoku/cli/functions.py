"""``bakusoku functions``: the configuration's own functions, and the events they failed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bakusoku.cli.operator import echo_listing, operator_db, with_db_options
from bakusoku.db.invocations import AsyncInvocation, AsyncInvocations


@click.group("functions")
def functions() -> None:
    """The configuration's own functions (docs/functions.md)."""


@functions.command("failed")
@click.option("--function", "function", default=None, help="Only this function's dead letters.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, each with its event.")
@with_db_options
def functions_failed(
    function: str | None,
    limit: int,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Dead letters: asynchronous events (schedules, object prefixes) that failed every try.

    On AWS the same events wait in each function's queue ({service}-{stage}-{function}-dlq).
    """
    with operator_db(data_dir, config_file) as engine:
        failed = AsyncInvocations(engine).failed_invocations(function, limit=limit)
    if not failed and not as_json:
        click.echo("no dead letters")
        return
    echo_listing(failed, as_json, AsyncInvocation.as_json, _line)


def _line(invocation: AsyncInvocation) -> str:
    when = datetime.fromtimestamp(invocation.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when}  {invocation.function}  {invocation.source}  tries {invocation.attempts}  "
        f"{invocation.error_type}: {invocation.error_message}  [{invocation.key}]"
    )
