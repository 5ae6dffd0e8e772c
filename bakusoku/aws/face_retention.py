"""Faces erased when their album's retention ends: the sales window's end (``db.albums``) plus
``face_retention_days``. One function for every door: the schedule of ``bakusoku up``, this
module's Lambda handler on AWS (declared as a scheduled function, docs/faces.md) and
``bakusoku faces expire``; each erasure is in the audit log."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bakusoku.auth import audit as audit_actions
from bakusoku.auth.audit import AuditLog
from bakusoku.config import Settings, load_settings
from bakusoku.db.albums import SalesWindows
from bakusoku.db.deployment import deployment_engine
from bakusoku.domain.keys import upload_scope_prefix
from bakusoku.faces.erasure import DAY, Erased, expire_albums
from bakusoku.faces.port import AlbumRef
from bakusoku.faces.service import FaceService

SCHEDULE_ACTOR = "schedule:face-retention"


def sales_end(windows: SalesWindows, settings: Settings, album: AlbumRef) -> float | None:
    """When the album's sales ended (or end): as set by staff, else its last upload."""
    prefix = upload_scope_prefix(settings.upload_prefix, album.service, album.album)
    if not album.service:  # photos keyed before services: by album name alone
        prefix = f"{settings.upload_prefix}{album.album}/"
    return windows.end_of(album.service, album.album, prefix)


def due_albums(settings: Settings, engine: sa.Engine, now: float) -> list[AlbumRef]:
    """The albums whose faces are past their retention (what :func:`expire` erases)."""
    if settings.face_retention_days <= 0:
        return []
    windows = SalesWindows(engine)
    due = []
    for service, name in FaceService(settings, engine).faces.albums():
        album = AlbumRef(service, name)
        ended = sales_end(windows, settings, album)
        if ended is not None and ended + settings.face_retention_days * DAY <= now:
            due.append(album)
    return due


def expire(
    settings: Settings, engine: sa.Engine, actor: str, now: float | None = None
) -> dict[AlbumRef, Erased]:
    """Erase the faces of every album past its retention, each erasure in the audit log."""
    faces = FaceService(settings, engine)
    windows = SalesWindows(engine)
    done = expire_albums(
        faces.index(),
        faces.faces,
        retention_days=settings.face_retention_days,
        sales_end=lambda album: sales_end(windows, settings, album),
        now=time.time() if now is None else now,
    )
    log = AuditLog(engine)
    for album, erased in done.items():
        log.record(
            actor,
            audit_actions.FACES_EXPIRE,
            service=album.service or None,
            target=album.album,
            details={"faces": len(erased.face_ids), "photos": len(erased.photo_ids)},
        )
    return done


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """A scheduled function: erase what is due; answers the albums and face counts."""
    settings = load_settings()
    engine = deployment_engine(settings, pool_size=1)
    try:
        return handler_for(settings, engine)
    finally:
        engine.dispose()


def handler_for(settings: Settings, engine: sa.Engine) -> dict[str, int]:
    """One scheduled run on a deployment's database: ``{"service/album": faces erased}``."""
    done = expire(settings, engine, SCHEDULE_ACTOR)
    return {f"{a.service}/{a.album}": len(e.face_ids) for a, e in done.items()}
