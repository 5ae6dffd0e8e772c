"""The audit log: who did what to what, and when, for the actions that need answering for."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from bakusoku.db.schema import audit_log
from bakusoku.domain.keys import owner_of

# What is recorded. Reads of photos and renditions are not: they are scoped and short-lived.
KEY_CREATE = "key.create"
KEY_REVOKE = "key.revoke"
PHOTO_DELETE = "photo.delete"
ORIGINAL_DOWNLOAD = "original.download"
EXECUTION_REDRIVE = "execution.redrive"
# Consent and erasure of faces (bakusoku/faces/erasure.py): a "do not publish" mark set or lifted,
# faces erased (one child on request, a deleted photo's are in photo.delete), an album's faces
# erased after their retention.
FACE_SUPPRESS = "face.suppress"
FACE_ERASE = "face.erase"
FACES_EXPIRE = "faces.expire"
ALBUM_SALES_WINDOW = "album.sales_window"
# Album codes for parents: made, revoked, used to open a session, and typed wrong (or too late).
CODE_CREATE = "code.create"
CODE_REVOKE = "code.revoke"
CODE_USE = "code.use"
CODE_FAIL = "code.fail"
# Runners' privacy (bakusoku/api/routes/runners.py): refused bib + surname tries, requests.
RUNNER_SIGN_IN_REFUSED = "runner.sign_in_refused"
RUNNER_FACE_REMOVAL = "runner.face_removal"
RUNNER_ERASE = "runner.erase"
ACTIONS = (
    KEY_CREATE,
    KEY_REVOKE,
    PHOTO_DELETE,
    ORIGINAL_DOWNLOAD,
    EXECUTION_REDRIVE,
    FACE_SUPPRESS,
    FACE_ERASE,
    FACES_EXPIRE,
    ALBUM_SALES_WINDOW,
    CODE_CREATE,
    CODE_REVOKE,
    CODE_USE,
    CODE_FAIL,
    RUNNER_SIGN_IN_REFUSED,
    RUNNER_FACE_REMOVAL,
    RUNNER_ERASE,
)


# Where each action names the one album it concerns (key.create and key.revoke concern a service).
_ALBUM_IN_DETAILS = (PHOTO_DELETE, CODE_CREATE, CODE_REVOKE, CODE_USE, CODE_FAIL)
_OBJECT_KEY_TARGET = (ORIGINAL_DOWNLOAD,)
_OBJECT_KEY_IN_DETAILS = (EXECUTION_REDRIVE,)
_ALBUM_TARGET = (FACES_EXPIRE, ALBUM_SALES_WINDOW)
_ALBUM_SLASH_TARGET = (
    FACE_SUPPRESS,
    FACE_ERASE,
    RUNNER_SIGN_IN_REFUSED,
    RUNNER_FACE_REMOVAL,
    RUNNER_ERASE,
)
# A page of entries (named here: inside AuditLog, ``list`` is its method).
Entries = list[dict[str, Any]]
# How many entries an album key's page reads at a time while it skips other albums' entries.
_SCAN_BATCH = 500


def album_of(entry: Mapping[str, Any], upload_prefix: str) -> str | None:
    """The album an entry concerns, or None when it concerns the service as a whole (a key made
    or revoked) or names no album: what an album-scoped key may read of the audit log."""
    action, target = entry["action"], entry["target"] or ""
    details = entry["details"] if isinstance(entry["details"], Mapping) else {}
    if action in _ALBUM_IN_DETAILS:
        album = details.get("album")
        return album if isinstance(album, str) else None
    if action in _OBJECT_KEY_TARGET or action in _OBJECT_KEY_IN_DETAILS:
        key = target if action in _OBJECT_KEY_TARGET else details.get("object_key")
        owner = owner_of(key, upload_prefix) if isinstance(key, str) else None
        return owner[1] if owner else None
    if action in _ALBUM_TARGET:
        return target or None
    if action in _ALBUM_SLASH_TARGET and "/" in target:
        return target.split("/", 1)[0]
    return None


class AuditLog:
    """The ``audit_log`` table: append-only."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def record(
        self,
        actor: str,
        action: str,
        *,
        service: str | None,
        target: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    at=time.time(),
                    actor=actor[:80],
                    action=action,
                    service=service,
                    target=(target or None) and target[:512],
                    details=details,
                )
            )

    def list(
        self,
        *,
        service: str | None = None,
        action: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries newest first; ``before``: the ``id`` of the last entry of the previous page."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if service is not None:
            query = query.where(audit_log.c.service == service)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def list_in_albums(
        self,
        albums: tuple[str, ...],
        upload_prefix: str,
        *,
        service: str,
        action: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Entries:
        """Entries newest first that concern one of ``albums`` of ``service``: a page of
        ``limit`` of them, read past however many entries of other albums lie between."""
        found: Entries = []
        while len(found) < limit:
            batch = self.list(service=service, action=action, before=before, limit=_SCAN_BATCH)
            found += [e for e in batch if album_of(e, upload_prefix) in albums]
            if len(batch) < _SCAN_BATCH:
                break
            before = batch[-1]["id"]
        return found[:limit]
