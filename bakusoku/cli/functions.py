"""``bakusoku functions``: the configuration's own functions, the events they failed, and
invoking those again once the cause is fixed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bakusoku.cli.operator import echo_listing, operator_db, with_db_options
from bakusoku.config import ConfigError, load_settings
from bakusoku.db.invocations import AsyncInvocation, AsyncInvocations
from bakusoku.deploy.dead_letters import dead_letter_queues, redrive
from bakusoku.deploy.stages import load_stage


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


@functions.command("redrive")
@click.argument("keys", nargs=-1)
@click.option("--function", "function", default=None, help="Every dead letter of this function.")
@click.option("--all", "every", is_flag=True, help="Every dead letter of every function.")
@click.option("--service", default=None, help="With --stage: the deployed stack's service.")
@click.option("--stage", default=None, help="Redrive the queues of this deployed stage on AWS.")
@with_db_options
def functions_redrive(
    keys: tuple[str, ...],
    function: str | None,
    every: bool,
    service: str | None,
    stage: str | None,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Invoke dead letters again once what failed them is fixed: those whose KEYS
    `bakusoku functions failed` shows, every one of --function, or --all.

    Each is pending again with its tries counted afresh (Lambda's two retries included); a
    running `bakusoku up` invokes it within seconds, a stopped one on its next start. With
    --service and --stage, the deployed stack's queues instead: each message's event is sent to
    the function's live alias (asynchronously) and deleted once Lambda accepts it.
    """
    if not (keys or function or every):
        raise click.UsageError(
            "name what to redrive: KEYS from `bakusoku functions failed`, --function NAME, or --all"
        )
    if every and (keys or function):
        raise click.UsageError("--all redrives every dead letter: give it alone")
    if stage is not None or service is not None:
        if keys:
            raise click.UsageError("a queue's messages have no keys: use --function NAME or --all")
        _redrive_stage(service, stage, function, config_file)
        return
    with operator_db(data_dir, config_file) as engine:
        redriven = AsyncInvocations(engine).redrive(keys, function)
    missing = sorted(set(keys) - set(redriven))
    for key in redriven:
        click.echo(f"pending again: {key}")
    if missing:
        click.echo(
            "not a dead letter (already redriven, succeeded, or never failed): "
            + ", ".join(missing),
            err=True,
        )
    if not redriven:
        click.echo("nothing to redrive", err=True)
        raise SystemExit(1)


def _redrive_stage(
    service: str | None, stage: str | None, function: str | None, config_file: Path | None
) -> None:
    """The deployed stage's queues: each event to the function's live alias (docs/functions.md)."""
    if not (service and stage):
        raise click.UsageError("on AWS, give both --service and --stage")
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - the aws extra is not installed
        raise click.ClickException(
            "redriving on AWS needs the aws extra: pip install 'bakusoku[aws]'"
        ) from exc
    settings = load_settings(config_file=config_file)
    try:
        queues = dead_letter_queues(load_stage(settings, service, stage), function)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    sqs = boto3.client("sqs", region_name=settings.region)
    lambda_client = boto3.client("lambda", region_name=settings.region)
    kept = 0
    for queue in queues:
        url = sqs.get_queue_url(QueueName=queue.queue_name)["QueueUrl"]
        done = redrive(sqs, lambda_client, url, queue.function_name)
        kept += done.kept
        click.echo(
            f"{queue.function}: {done.invoked} event(s) sent to {queue.function_name}:live"
            + (f", {done.kept} kept in {queue.queue_name} (see the log)" if done.kept else "")
        )
    if kept:
        raise SystemExit(1)


def _line(invocation: AsyncInvocation) -> str:
    when = datetime.fromtimestamp(invocation.updated_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when}  {invocation.function}  {invocation.source}  tries {invocation.attempts}  "
        f"{invocation.error_type}: {invocation.error_message}  [{invocation.key}]"
    )
