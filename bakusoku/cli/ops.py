"""Operations commands: ``bakusoku executions``, ``executions show``, ``redrive``, ``status``."""

from __future__ import annotations

import json
from typing import Any

import click
import httpx

from bakusoku import utc
from bakusoku.auth.client import auth_headers, resolve_api_key

DEFAULT_API = "http://127.0.0.1:8080"
_api_option = click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")


def _request(method: str, url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        response = httpx.request(
            method, url, params=params, headers=auth_headers(resolve_api_key()), timeout=30
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(
            f"cannot reach the API at {url}: {type(exc).__name__}; is `bakusoku up` running?"
        ) from exc
    if response.status_code >= 300:
        try:
            error = response.json()["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}: {response.text[:500]}"
        raise click.ClickException(message)
    return response.json()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _time(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", "") if value else "-"


@click.group(invoke_without_command=True)
@click.option(
    "--status",
    default=None,
    help="RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (comma-separated).",
)
@click.option("--since", default=None, help="Started since: 30m, 1h, 2d, or an ISO-8601 time.")
@click.option("--until", default=None, help="Started before: a duration ago or an ISO-8601 time.")
@click.option("--error", "error_code", default=None, help="Error code, e.g. image.corrupt.")
@click.option("--photo", default=None, help="Photo id.")
@click.option("--album", default=None)
@click.option("--state", default=None, help="Went through this state.")
@click.option("--failed-state", default=None, help="Failed in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@_api_option
@click.pass_context
def executions(
    ctx: click.Context,
    status: str | None,
    since: str | None,
    until: str | None,
    error_code: str | None,
    photo: str | None,
    album: str | None,
    state: str | None,
    failed_state: str | None,
    limit: int,
    as_json: bool,
    api: str,
) -> None:
    """Search the execution history, newest first (`executions show NAME` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    params = {
        "status": status,
        "since": since,
        "until": until,
        "error": error_code,
        "photo": photo,
        "album": album,
        "state": state,
        "failed_state": failed_state,
        "limit": limit,
    }
    body = _request(
        "GET", f"{api.rstrip('/')}/v1/executions", {k: v for k, v in params.items() if v}
    )
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    items = body["items"]
    if not items:
        click.echo("no executions match")
        return
    for e in items:
        failure = f"  {e['failed_state'] or '?'}: {e['error_code']}" if e["error_code"] else ""
        click.echo(
            f"{_time(e['started_at'])}  {e['status']:<9} {_seconds(e['duration_seconds']):>10}  "
            f"{e['name']}  {e['album'] or '-'}/{e['photo_id'] or '-'}{failure}"
        )


@executions.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON (with every event).")
@_api_option
def executions_show(name: str, as_json: bool, api: str) -> None:
    """One execution: timeline, durations per state, retries, the error and its cause."""
    body = _request("GET", f"{api.rstrip('/')}/v1/executions/{name}")
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    e, timeline = body["execution"], body["timeline"]
    click.echo(f"execution  {e['name']}")
    click.echo(f"status     {e['status']}  (re-driven {e['redrive_count']} times)")
    click.echo(f"photo      {e['photo_id'] or '-'}  album {e['album'] or '-'}")
    click.echo(
        f"started    {_time(e['started_at'])}  ended {_time(e['stopped_at'])}  "
        f"took {_seconds(e['duration_seconds'])}"
    )
    failure = timeline.get("failure")
    if failure:
        click.echo(
            f"failed in  {failure['state']} after {failure['attempts']} attempt(s): "
            f"{e['error_code'] or failure['error']}"
        )
        click.echo(f"error      {e['error'] or failure['error']}")
        click.echo(f"cause      {e['cause'] or failure['cause'] or '-'}")
    if e.get("reprocessed_as"):
        click.echo(f"re-driven  as {', '.join(e['reprocessed_as'])}")
    elif "redrive" in body["links"]:
        click.echo(f"re-drive   bakusoku redrive {e['name']}")
    click.echo("")
    click.echo("timeline")
    start = _parse(timeline["started"])
    depth: dict[str, int] = {}
    for s in timeline["states"]:
        depth[s["name"]] = depth.get(s["parent"], -1) + 1 if s["parent"] else 0
        offset = (_parse(s["entered"]) - start) if start and s["entered"] else 0.0
        attempts = ""
        if s["attempts"]:
            attempts = f"{s['attempts']} attempt{'s' if s['attempts'] != 1 else ''}"
            if s["retries"]:
                attempts += f" ({s['retries']} retr{'ies' if s['retries'] != 1 else 'y'})"
        errors = ", ".join(err["error"] for err in s["errors"])
        indent = "  " * depth[s["name"]]
        click.echo(
            f"  +{offset:7.3f} s  {indent + s['name']:<24} {_seconds(s['duration_seconds']):>10}  "
            f"{attempts}{'  ' + errors if errors else ''}"
        )


def _parse(value: str | None) -> float:
    if not value:
        return 0.0
    return utc.parse_iso(value).timestamp()


@click.command()
@click.argument("name", required=False)
@click.option("--all-failed", is_flag=True, help="Re-drive every FAILED or TIMED_OUT execution.")
@click.option("--since", default=None, help="With --all-failed: started since (1h, 2d, …).")
@click.option("--error", "error_code", default=None, help="With --all-failed: only this code.")
@_api_option
def redrive(
    name: str | None, all_failed: bool, since: str | None, error_code: str | None, api: str
) -> None:
    """Process a failed execution's photo again (or every failed one's).

    A failure the pipeline handled (it ended in a Fail state through a Catch) is reprocessed by a
    new execution; any other failure restarts from the state that failed.
    """
    base = api.rstrip("/")
    if bool(name) == all_failed:
        raise click.UsageError("give an execution NAME or --all-failed (not both)")
    names = [name] if name else []
    if all_failed:
        params = {"status": "FAILED,TIMED_OUT", "limit": 1000, "since": since, "error": error_code}
        body = _request("GET", f"{base}/v1/executions", {k: v for k, v in params.items() if v})
        names = [e["name"] for e in body["items"]]
        if not names:
            click.echo("no failed executions match")
            return
    counts = {"redriven": 0, "reprocessed": 0, "already": 0, "skipped": 0, "failed": 0}
    for each in names:
        try:
            result = _request("POST", f"{base}/v1/executions/{each}/redrive")
        except click.ClickException as exc:
            if exc.message.startswith("execution.already_reprocessed:"):
                counts["skipped"] += 1
                click.echo(f"skipped {each}: {exc.message.split(': ', 1)[1]}")
                continue
            counts["failed"] += 1
            click.echo(f"not re-driven {each}: {exc.message}", err=True)
            continue
        status = result["status"]
        if result.get("action") == "reprocessed":
            if result.get("started", True):
                counts["reprocessed"] += 1
                click.echo(f"reprocessed {each} as {result['name']}: {status}")
            else:
                counts["already"] += 1
                click.echo(f"already reprocessing {each} as {result['name']}: {status}")
        else:
            counts["redriven"] += 1
            click.echo(f"re-driven {each} in place: {status} (re-drive {result['redrive_count']})")
    if len(names) > 1:
        click.echo(
            f"{len(names)} executions: {counts['reprocessed']} reprocessed as new executions, "
            f"{counts['redriven']} re-driven in place, {counts['already']} already being "
            f"reprocessed, {counts['skipped']} already reprocessed, "
            f"{counts['failed']} not re-driven"
        )
    if counts["failed"]:
        raise click.ClickException(
            f"{counts['failed']} of {len(names)} executions were not re-driven"
        )


@click.command()
@click.option("--json", "as_json", is_flag=True)
@_api_option
def status(as_json: bool, api: str) -> None:
    """Photos by status, running executions, failure rate, upload-to-ready p50/p95, slowest state."""
    body = _request("GET", f"{api.rstrip('/')}/v1/status")
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    for label, title in (("last_hour", "last hour"), ("last_day", "last day")):
        photos = body["photos"][label]
        counts = ", ".join(f"{s} {n}" for s, n in sorted(photos.items())) or "none"
        execs = body["executions"][label]
        click.echo(
            f"{title:<10} photos: {counts}; failure rate {execs['failure_rate'] * 100:.1f}% "
            f"of {sum(execs['ended'].values())} executions ended"
        )
    click.echo(f"running    {body['executions']['running']} executions")
    latency = body["upload_to_ready_seconds"]
    if latency["count"]:
        click.echo(
            f"upload → ready  p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s "
            f"({latency['count']} photos, last day)"
        )
    else:
        click.echo("upload → ready  no photos ready in the last day")
    failed = body.get("dead_letters") or {}  # bakusoku up only: on AWS, the queues' alarms
    if failed:
        counts = ", ".join(f"{name} {n}" for name, n in failed.items())
        click.echo(f"dead letters    {counts} (bakusoku functions failed)")
    slowest = body["slowest_state_last_hour"]
    if slowest:
        click.echo(
            f"slowest state   {slowest['state']}: mean {slowest['mean_seconds']:.3f} s, "
            f"p95 {slowest['p95_seconds']:.3f} s ({slowest['samples']} runs, last hour)"
        )
