"""``bakusoku albums share / codes / revoke``: album codes for parents.

Like ``bakusoku keys``, these work on the database directly (whoever can reach it: the staff who
run the deployment); the web app and ``/v1/albums/{album}/codes`` do the same with an admin key.
A code revoked here stops opening the album at once; sessions made with it end on their next
request.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from bakusoku import utc
from bakusoku.auth import audit as actions
from bakusoku.auth.audit import AuditLog
from bakusoku.auth.codes import AlbumCode, AlbumCodeStore, parse_expiry
from bakusoku.auth.sessions import ParentSessionStore
from bakusoku.cli.operator import (
    cli_actor,
    echo_listing,
    echo_secret_once,
    operator_db,
    with_db_options,
)
from bakusoku.config import load_settings
from bakusoku.db.albums import SalesWindows


@click.group()
def albums() -> None:
    """Share albums with parents: access codes per album."""


@albums.command("share")
@click.argument("album")
@click.option("--service", required=True, help="The album's service, e.g. enphoto.")
@click.option(
    "--expires",
    default=None,
    help="When the code stops working: 12h, 30d, 2w from now, or a date (2026-12-31) or time;"
    " default: the setting album_code_days (30).",
)
@click.option("--note", default=None, help="Who or what the code is for (e.g. class 3B).")
@click.option("--json", "as_json", is_flag=True)
@with_db_options
def albums_share(
    album: str,
    service: str,
    expires: str | None,
    note: str | None,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Make an access code for ALBUM; it is printed once and only its hash is kept."""
    settings = load_settings({"data_dir": data_dir}, config_file=config_file)
    with operator_db(data_dir, config_file) as engine:
        expires_at = parse_expiry(
            expires,
            now=time.time(),
            default_days=settings.album_code_days,
            max_days=settings.album_code_max_days,
        )
        record, code = AlbumCodeStore(engine).create(
            service=service, album=album, expires_at=expires_at, created_by=cli_actor(), note=note
        )
        AuditLog(engine).record(
            cli_actor(),
            actions.CODE_CREATE,
            service=service,
            target=record.code_id,
            details={"album": album, "expires_at": expires_at, "note": note},
        )
    echo_secret_once(
        record.to_json(),
        "code",
        code,
        as_json,
        f"code {record.code_id} opens album {album} of {service} until"
        f" {utc.readable(record.expires_at)}",
        hint=f"Parents enter it at {settings.api_url.rstrip('/')}/p/ . ",
    )


@albums.command("codes")
@click.argument("album", required=False)
@click.option("--service", default=None)
@click.option("--all", "include_inactive", is_flag=True, help="Include expired and revoked codes.")
@click.option("--json", "as_json", is_flag=True)
@with_db_options
def albums_codes(
    album: str | None,
    service: str | None,
    include_inactive: bool,
    as_json: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """List album codes (never the codes themselves: their ids, albums, expiry and use)."""
    with operator_db(data_dir, config_file) as engine:
        found = AlbumCodeStore(engine).list(
            service=service, album=album, include_inactive=include_inactive
        )
    now = time.time()

    def line(c: AlbumCode) -> str:
        return (
            f"{c.code_id}  {c.service:<16} {c.album:<24} until {utc.readable(c.expires_at)}"
            f"  {c.to_json(now)['state']:<8} used {c.uses}x  {c.note or ''}"
        )

    echo_listing(found, as_json, lambda c: c.to_json(now), line)


@albums.command("revoke")
@click.argument("code_id")
@with_db_options
def albums_revoke(code_id: str, data_dir: Path | None, config_file: Path | None) -> None:
    """Withdraw a code by its id (its first four characters): it opens nothing more."""
    with operator_db(data_dir, config_file) as engine:
        store = AlbumCodeStore(engine)
        was = store.get(code_id)
        record = store.revoke(code_id, revoked_by=cli_actor())
        ended = ParentSessionStore(engine).end_for_code(record.code_id)
        if was.revoked_at is None:
            AuditLog(engine).record(
                cli_actor(),
                actions.CODE_REVOKE,
                service=record.service,
                target=record.code_id,
                details={"album": record.album, "sessions_ended": len(ended)},
            )
    click.echo(f"code {record.code_id} of album {record.album} ({record.service}) revoked")


@albums.command("sales-window")
@click.argument("album")
@click.option("--service", required=True, help="The album's service, e.g. enphoto.")
@click.option(
    "--ends",
    default=None,
    help="When sales end: an ISO date (the end of that day, UTC) or time; its faces are erased"
    " face_retention_days after it.",
)
@click.option("--clear", is_flag=True, help="Forget the window: the album's last upload counts.")
@with_db_options
def albums_sales_window(
    album: str,
    service: str,
    ends: str | None,
    clear: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Set when ALBUM's sales end (face retention counts from it), or --clear it."""
    if clear == (ends is not None):
        raise click.UsageError("give --ends DATE, or --clear")
    ends_at = None
    if ends is not None:
        try:
            moment = utc.parse_iso(ends.strip())
        except ValueError:
            raise click.BadParameter(
                "give an ISO date or time, e.g. 2027-01-31 or 2027-01-31T18:00+09:00",
                param_hint="--ends",
            ) from None
        is_date = len(ends.strip()) == len("2027-01-31")
        ends_at = moment.timestamp() + (86400 if is_date else 0)
    with operator_db(data_dir, config_file) as engine:
        SalesWindows(engine).set_end(service, album, ends_at, cli_actor())
        AuditLog(engine).record(
            cli_actor(),
            actions.ALBUM_SALES_WINDOW,
            service=service,
            target=album,
            details={"ends": None if ends_at is None else utc.iso_seconds(ends_at)},
        )
    if ends_at is None:
        click.echo(f"{service}/{album}: no sales window; faces count from its last upload")
    else:
        click.echo(f"{service}/{album}: sales end {utc.iso_seconds(ends_at)}")
