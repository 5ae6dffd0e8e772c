"""``bakusoku faces``: erase faces past their retention, erase one child, re-index photos.

Each works on the deployment's database (and its object store for ``reindex``) directly, as
``bakusoku keys`` does, and every erasure is in the audit log.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from bakusoku.auth import audit as audit_actions
from bakusoku.auth.audit import AuditLog
from bakusoku.aws.face_retention import due_albums
from bakusoku.aws.face_retention import expire as expire_faces
from bakusoku.cli.operator import cli_actor, migrated_engine
from bakusoku.config import Settings, load_settings
from bakusoku.domain.keys import rendition_key
from bakusoku.faces.port import AlbumRef, DetectingFaceIndex, FaceCrop
from bakusoku.faces.service import FaceService
from bakusoku.pipeline.adapters import build_adapters
from bakusoku.pipeline.handlers.index_faces import INDEXED, album_of, whole_photo
from bakusoku.storage.errors import ObjectNotFoundError

_data_dir = click.option("--data-dir", type=click.Path(path_type=Path), default=None)
_config = click.option(
    "--config", "config_file", type=click.Path(path_type=Path, exists=True), default=None
)


def _settings(data_dir: Path | None, config_file: Path | None) -> Settings:
    return load_settings({"data_dir": data_dir}, config_file=config_file)


@click.group("faces")
def faces() -> None:
    """Face search data: retention, erasure on request, re-indexing."""


@faces.command("expire")
@click.option("--dry-run", is_flag=True, help="Only list the albums that would be erased.")
@_data_dir
@_config
def expire(dry_run: bool, data_dir: Path | None, config_file: Path | None) -> None:
    """Erase the faces of every album whose sales window ended face_retention_days ago.

    The window's end is what `bakusoku albums sales-window` set, else the album's last upload.
    `bakusoku up` runs this on the schedule face_retention_schedule.
    """
    settings = _settings(data_dir, config_file)
    engine = migrated_engine(settings)
    if dry_run:
        for album in due_albums(settings, engine, time.time()):
            click.echo(f"would erase {album.service or '-'}/{album.album}")
        return
    done = expire_faces(settings, engine, cli_actor())
    for album, erased in done.items():
        click.echo(f"erased {len(erased.face_ids)} faces of {album.service or '-'}/{album.album}")
    if not done:
        click.echo("no album is past its face retention")


@faces.command("erase")
@click.argument("face_id")
@click.option("--service", required=True)
@click.option("--album", required=True)
@click.option("--child", is_flag=True, help="Every face of the album that matches this one.")
@_data_dir
@_config
def erase(
    face_id: str,
    service: str,
    album: str,
    child: bool,
    data_dir: Path | None,
    config_file: Path | None,
) -> None:
    """Erase a face (with --child: that child's every face in the album) on request."""
    settings = _settings(data_dir, config_file)
    engine = migrated_engine(settings)
    ref = AlbumRef(service, album)
    erased = FaceService(settings, engine).erase(ref, face_id, child=child)
    if not erased.face_ids:
        raise click.ClickException(f"no face {face_id!r} in {service}/{album}")
    AuditLog(engine).record(
        cli_actor(),
        audit_actions.FACE_ERASE,
        service=service,
        target=f"{album}/{face_id}",
        details={"child": child, "faces": len(erased.face_ids), "photos": len(erased.photo_ids)},
    )
    click.echo(f"erased {len(erased.face_ids)} faces from {len(erased.photo_ids)} photos")


@faces.command("reindex")
@click.argument("photo_ids", nargs=-1, required=True)
@_data_dir
@_config
def reindex(photo_ids: tuple[str, ...], data_dir: Path | None, config_file: Path | None) -> None:
    """Index the faces of ready photos again from their face cuts (after faces.unindexed)."""
    settings = _settings(data_dir, config_file)
    migrated_engine(settings).dispose()  # the schema is current
    env = build_adapters(settings)
    index = env.face_index()
    if index is None:
        raise click.ClickException("face_index is off: nothing to index")
    for photo_id in photo_ids:
        photo = env.photos.find(photo_id)
        if photo is None or photo["status"] != "ready":
            raise click.ClickException(f"photo {photo_id} is not a ready photo")
        album = album_of(photo["object_key"], photo["album"], settings.upload_prefix)
        if photo.get("faces") is None and isinstance(index, DetectingFaceIndex):
            # Not looked for by a detector of ours (as on AWS): the index finds them itself.
            image, size = whole_photo(env, photo["bucket"], photo["renditions"] or {}, photo)
            indexed = index.index_photo(album, photo_id, image, size)
            env.photos.record_face_index(photo_id, INDEXED)
            click.echo(f"{photo_id}: {len(indexed)} faces indexed")
            continue
        crops = []
        for number, box in enumerate(photo.get("faces") or []):
            key = rendition_key(
                settings.rendition_prefix, photo["album"], photo_id, f"face-{number}", "jpg"
            )
            try:
                jpeg: bytes | None = env.store.get_object(photo["bucket"], key)
            except ObjectNotFoundError:
                jpeg = None  # too small to match: no cut was made
            crops.append(FaceCrop(tuple(box), jpeg))
        indexed = index.index_faces(album, photo_id, crops)
        env.photos.record_face_index(photo_id, INDEXED)
        click.echo(f"{photo_id}: {len(indexed)} faces indexed")
