"""``bakusoku keys create / list / revoke`` and ``bakusoku audit``.

Keys are managed on the database directly (by whoever can reach it: the operators), so the first
key needs no key; the audit log is read through the API with an admin key or the admin token.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import httpx
import sqlalchemy as sa

from bakusoku import utc
from bakusoku.auth import audit as audit_actions
from bakusoku.auth.audit import AuditLog
from bakusoku.auth.client import auth_headers, resolve_api_key
from bakusoku.auth.keys import ApiKey, KeyStore
from bakusoku.auth.principal import ROLES
from bakusoku.cli.operator import (
    cli_actor,
    echo_listing,
    echo_secret_once,
    operator_db,
    with_db_options,
)
from bakusoku.config import Settings
from bakusoku.db.engine import create_db_engine

DEFAULT_API = "http://127.0.0.1:8080"
DEMO_NOTE = "bakusoku up --demo"


def _time(value: float | None) -> str:
    if value is None:
        return "-"
    return utc.readable(value)


def create_key(
    engine: sa.Engine,
    *,
    service: str,
    albums: list[str] | None,
    role: str,
    note: str | None,
    actor: str,
) -> tuple[ApiKey, str]:
    """Create a key and record who made it."""
    record, token = KeyStore(engine).create(
        service=service, albums=albums, role=role, created_by=actor, note=note
    )
    AuditLog(engine).record(
        actor,
        audit_actions.KEY_CREATE,
        service=service,
        target=record.key_id,
        details={"role": role, "albums": albums, "note": note},
    )
    return record, token


def demo_key(settings: Settings) -> str:
    """A fresh admin key for the demo service; earlier demo keys are revoked."""
    engine = create_db_engine(settings.effective_database_url, pool_size=1)
    try:
        store = KeyStore(engine)
        for old in store.list(service="demo"):
            if old.note == DEMO_NOTE:
                store.revoke(old.key_id, revoked_by="bakusoku-up")
                AuditLog(engine).record(
                    "bakusoku-up", audit_actions.KEY_REVOKE, service="demo", target=old.key_id
                )
        _record, token = create_key(
            engine, service="demo", albums=None, role="admin", note=DEMO_NOTE, actor="bakusoku-up"
        )
        return token
    finally:
        engine.dispose()


@click.group()
def keys() -> None:
    """Create, list and revoke service-scoped API keys."""


@keys.command("create")
@click.option("--service", required=True, help="The service the key belongs to, e.g. enphoto.")
@click.option(
    "--album",
    "albums",
    multiple=True,
    help="An album the key may use (repeat for more; default: every album of the service).",
)
@click.option("--role", type=click.Choice(ROLES), default="uploader", show_default=True)
@click.option("--note", default=None, help="Who or what the key is for.")
@click.option("--json", "as_json", is_flag=True)
@with_db_options
def keys_create(
    service: str,
    albums: tuple[str, ...],
    role: str,
    note: str | None,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    with operator_db(data_dir, config_file) as engine:
        record, token = create_key(
            engine,
            service=service,
            albums=list(albums) or None,
            role=role,
            note=note,
            actor=cli_actor(),
        )
    scope = ", ".join(record.albums) if record.albums else "every album"
    echo_secret_once(
        record.to_json(),
        "key",
        token,
        as_json,
        f"key {record.key_id}: {record.role} of service {service} ({scope})",
    )


@keys.command("list")
@click.option("--service", default=None)
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True)
@with_db_options
def keys_list(
    service: str | None,
    include_revoked: bool,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """List keys (never their secrets)."""
    with operator_db(data_dir, config_file) as engine:
        records = KeyStore(engine).list(service=service, include_revoked=include_revoked)
    echo_listing(records, as_json, ApiKey.to_json, _key_line)


def _key_line(r: ApiKey) -> str:
    albums = ",".join(r.albums) if r.albums else "*"
    state = f"revoked {_time(r.revoked_at)}" if r.revoked_at else "active"
    return (
        f"{r.key_id}  {r.service:<16} {r.role:<8} {albums:<24} {_time(r.created_at)}"
        f"  {state}  {r.note or ''}"
    )


@keys.command("revoke")
@click.argument("key_id")
@with_db_options
def keys_revoke(key_id: str, data_dir: Path | None, config_file: Path | None) -> None:
    """Revoke a key by its id: it stops working at once."""
    with operator_db(data_dir, config_file) as engine:
        store = KeyStore(engine)
        was = store.get(key_id)
        record = store.revoke(key_id, revoked_by=cli_actor())
        if was.revoked_at is None:
            AuditLog(engine).record(
                cli_actor(), audit_actions.KEY_REVOKE, service=record.service, target=key_id
            )
    click.echo(f"key {key_id} of service {record.service} revoked")


@click.command("audit")
@click.option("--action", type=click.Choice(audit_actions.ACTIONS), default=None)
@click.option("--service", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--api", default=DEFAULT_API, show_default=True, envvar="BAKUSOKU_API")
@click.option("--key", default=None, help="An admin key or the admin token (BAKUSOKU_API_KEY).")
def audit(
    action: str | None,
    service: str | None,
    limit: int,
    as_json: bool,
    api: str,
    key: str | None,
) -> None:
    """Who created or revoked keys, deleted, downloaded originals or re-drove, and when."""
    params = {k: v for k, v in {"action": action, "service": service, "limit": limit}.items() if v}
    url = f"{api.rstrip('/')}/v1/audit"
    try:
        response = httpx.get(
            url, params=params, headers=auth_headers(resolve_api_key(key)), timeout=30
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the API at {url}: {exc}") from exc
    if response.status_code != 200:
        raise click.ClickException(_error(response))
    body = response.json()
    if as_json:
        click.echo(json.dumps(body))
        return
    for item in body["items"]:
        click.echo(
            f"{item['at']}  {item['actor']:<22} {item['action']:<18} {item['service'] or '-':<12}"
            f" {item['target'] or ''}"
        )


def _error(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
