"""The ``bakusoku`` command: run the embedded deployment, upload photos, look at them."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import httpx
from tqdm import tqdm

from bakusoku import __version__
from bakusoku.auth.client import auth_headers, resolve_api_key
from bakusoku.cli.albums import albums
from bakusoku.cli.chaos import chaos
from bakusoku.cli.dashboards import dashboards
from bakusoku.cli.db import db as db_commands
from bakusoku.cli.deploy import deploy_command, package_command
from bakusoku.cli.faces import faces
from bakusoku.cli.functions import functions
from bakusoku.cli.graph import graph_command
from bakusoku.cli.keys import audit, demo_key, keys
from bakusoku.cli.loadtest import loadtest
from bakusoku.cli.ops import executions, redrive, status
from bakusoku.cli.race import race as race_commands
from bakusoku.cli.uploader import find_files, upload_all, wait_until_processed
from bakusoku.config import ConfigError, load_settings
from bakusoku.errors import BakusokuError
from bakusoku.ops.logs import (
    LOG_FORMATS,
    JsonFormatter,
    TerminalDetail,
    TextFormatter,
    resolve_log_format,
)
from bakusoku.races.plans import apply_plan, current_plan, next_plan, plan_banner

if TYPE_CHECKING:
    from bakusoku.local.console import PhotoConsole
    from bakusoku.local.stack import EmbeddedStack

LOG_LEVELS = ("debug", "info", "warning")

DEFAULT_API = "http://127.0.0.1:8080"


@click.group()
@click.version_option(__version__, prog_name="bakusoku")
def cli() -> None:
    """bakusoku: blazing-fast photo uploads and reliable photo processing."""


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help="API port (default 8080; the store uses the next)."
)
@click.option(
    "--store-port", type=int, default=None, help="Object store port (default: API port + 1)."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where photos, renditions and the database live (default ./.bakusoku).",
)
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per CPU).")
@click.option("--config", "config_file", type=click.Path(path_type=Path, exists=True), default=None)
@click.option("--demo", is_flag=True, help="Upload a few sample photos once the servers are up.")
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=None,
    help="auto (default): a line per photo and short log lines on a terminal, JSON lines "
    "otherwise; json or text: always that.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS),
    default="info",
    show_default=True,
    help="debug also shows the function runtime's START/END/REPORT lines on a terminal.",
)
def up(
    host: str | None,
    port: int | None,
    store_port: int | None,
    data_dir: Path | None,
    workers: int | None,
    config_file: Path | None,
    demo: bool,
    log_format: str | None,
    log_level: str,
) -> None:
    """Start the API, the object store, the workflow engine and its workers."""
    from bakusoku.api.connections import api_connection_options
    from bakusoku.deploy.graph import stack_graph
    from bakusoku.local.console import banner_lines
    from bakusoku.local.serve import serve_apps
    from bakusoku.local.stack import EmbeddedStack

    overrides = {
        "host": host,
        "port": port,
        "store_port": store_port,
        "data_dir": data_dir,
        "workers": workers,
        "log_format": log_format,
    }
    settings = load_settings(overrides, config_file=config_file)
    # A race's capacity plan in force now (`bakusoku race prepare`) raises workers and bounds.
    now = datetime.now(UTC)
    race_plan = current_plan(settings, now)
    upcoming = next_plan(settings, now)
    settings = apply_plan(settings, race_plan)
    # Resolved once, so the processes `up` starts (the object store's) write the same format.
    resolved = resolve_log_format(settings.log_format, sys.stdout)
    settings = dataclasses.replace(settings, log_format=resolved)
    _start_logging(resolved, log_level)
    stack = EmbeddedStack(settings)
    settings = stack.settings
    console = _photo_lines(stack) if resolved == "text" else None
    stack.start()

    def ready() -> None:
        for line in banner_lines(settings, __version__):
            click.echo(line)
        for line in plan_banner(race_plan, upcoming):
            click.echo(line)
        if demo:
            key = demo_key(settings)
            click.echo(f"demo: API key (service demo, admin): {key}")
            click.echo(f"demo: web app with this key: {settings.api_url}/#key={key}")
            threading.Thread(
                target=_run_demo, args=(settings.api_url, settings.data_dir, key), daemon=True
            ).start()

    try:
        serve_apps(
            [(stack.api_app(stack_graph(settings)), settings.host, settings.port)],
            on_ready=ready,
            connection_options=api_connection_options(settings),
        )
    finally:
        click.echo("stopping: in-flight executions resume on the next start")
        stack.stop()
        if console is not None:
            click.echo(console.summary())
        click.echo("stopped")


def _photo_lines(stack: EmbeddedStack) -> PhotoConsole:
    """A line per photo received and per photo finished, from the trigger's and engine's events."""
    from bakusoku.local.console import PhotoConsole
    from bakusoku.pipeline.functions import STATE_MACHINE_NAME

    console = PhotoConsole(stack.photos.find, stack.settings.upload_prefix, click.echo)
    stack.trigger.add_listener(STATE_MACHINE_NAME, console.received)
    stack.workflow.add_listener(console.ended)
    return console


def _start_logging(log_format: str, level: str) -> None:
    """Log lines on stderr in ``log_format``; on a terminal, runtime detail only at debug."""
    logging.basicConfig(level=getattr(logging, level.upper()))
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
        if log_format == "text" and level != "debug":
            handler.addFilter(TerminalDetail())
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _run_demo(api: str, data_dir: Path, key: str) -> None:
    from bakusoku.cli.demo import make_samples

    files = make_samples(data_dir / "demo-photos")
    results = upload_all(files, api=api, album="demo", concurrency=4, key=key)
    ids = [r.photo_id for r in results if r.photo_id and not r.error]
    summary = wait_until_processed(api, ids, timeout=600, key=key)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.counts.items()))
    click.echo(
        f"demo: uploaded {len(ids)} sample photos to album 'demo' ({counts}) "
        f"in {summary.seconds:.1f} s"
    )
    click.echo(
        f"demo: list them with  curl -H 'Authorization: Bearer <key>' '{api}/v1/photos?album=demo'"
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--album", default="default", show_default=True)
@click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--wait", is_flag=True, help="Wait until every photo is ready or failed.")
@click.option("--key", default=None, help="API key (default: BAKUSOKU_API_KEY).")
def upload(
    paths: tuple[Path, ...], album: str, api: str, concurrency: int, wait: bool, key: str | None
) -> None:
    """Upload files or folders through presigned URLs."""
    api = api.rstrip("/")
    key = resolve_api_key(key)
    files = find_files(paths)
    if not files:
        raise click.ClickException("no image files found in the given paths")
    total = sum(p.stat().st_size for p in files)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"uploading {len(files)} files") as bar:
        results = upload_all(
            files,
            api=api,
            album=album,
            concurrency=concurrency,
            on_done=lambda _result, size: bar.update(size),
            key=key,
        )
    failed = [r for r in results if r.error]
    for result in failed:
        click.echo(f"failed: {result.path}: {result.error}", err=True)
    ids = [r.photo_id for r in results if r.photo_id and not r.error]
    click.echo(f"uploaded {len(ids)} of {len(files)} files to album {album!r}")
    if wait and ids:
        with tqdm(total=len(ids), desc="processing", unit="photo") as bar:

            def progress(done: int) -> None:
                bar.update(done - bar.n)

            summary = wait_until_processed(api, ids, on_progress=progress, key=key)
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(summary.counts.items()))
        click.echo(f"processed in {summary.seconds:.1f} s: {counts}")
        for photo in summary.failed:
            click.echo(
                f"  failed {photo['photo_id']} ({photo['filename']}): "
                f"{photo['error']['code']}: {photo['error']['message']}",
                err=True,
            )
    if failed:
        sys.exit(1)


@cli.group()
def photos() -> None:
    """Look at photos and their status."""


@photos.command("list")
@click.option("--album", default=None)
@click.option(
    "--status", default=None, help="pending, processing, ready or failed (comma-separated)."
)
@click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
@click.option("--limit", type=int, default=50, show_default=True)
def photos_list(album: str | None, status: str | None, api: str, limit: int) -> None:
    """List photos, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if album:
        params["album"] = album
    if status:
        params["status"] = status
    body = _get(f"{api.rstrip('/')}/v1/photos", params)
    for photo in body["items"]:
        error = f"  {photo['error']['code']}" if photo["error"] else ""
        click.echo(
            f"{photo['photo_id']}  {photo['album']:<16} {photo['status']:<10} "
            f"{photo['filename'] or ''}{error}"
        )


@photos.command("show")
@click.argument("photo_id")
@click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
def photos_show(photo_id: str, api: str) -> None:
    """Show one photo as JSON."""
    click.echo(json.dumps(_get(f"{api.rstrip('/')}/v1/photos/{photo_id}"), indent=2))


@photos.command("delete")
@click.argument("photo_id")
@click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
@click.option(
    "--key", default=None, help="An admin key of the photo's service, or the admin token."
)
def photos_delete(photo_id: str, api: str, key: str | None) -> None:
    """Delete a photo for good: its original, renditions and record (admin keys; audited)."""
    url = f"{api.rstrip('/')}/v1/photos/{photo_id}"
    try:
        response = httpx.delete(url, headers=auth_headers(resolve_api_key(key)), timeout=60)
    except httpx.HTTPError as exc:
        raise click.ClickException(
            f"cannot reach the API at {url}: {exc}; is `bakusoku up` running?"
        ) from exc
    if response.status_code != 204:
        try:
            error = response.json()["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}: {response.text[:200]}"
        raise click.ClickException(message)
    click.echo(f"deleted {photo_id}")


def _get(url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        response = httpx.get(
            url, params=params, headers=auth_headers(resolve_api_key()), timeout=30
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(
            f"cannot reach the API at {url}: {exc}; is `bakusoku up` running?"
        ) from exc
    if response.status_code != 200:
        raise click.ClickException(response.text)
    return response.json()


cli.add_command(db_commands)
cli.add_command(package_command)
cli.add_command(deploy_command)
cli.add_command(executions)
cli.add_command(redrive)
cli.add_command(status)
cli.add_command(keys)
cli.add_command(albums)
cli.add_command(audit)
cli.add_command(loadtest)
cli.add_command(graph_command)
cli.add_command(dashboards)
cli.add_command(chaos)
cli.add_command(faces)
cli.add_command(functions)
cli.add_command(race_commands)


def main() -> None:
    try:
        cli()
    except (ConfigError, BakusokuError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
