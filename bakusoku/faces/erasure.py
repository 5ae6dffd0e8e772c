"""Consent and erasure: "do not publish" marks, and faces erased for a photo, a child or an album.

Staff mark one face (one photo) or a child (every face of the album that matches that face at or
above the match threshold) "do not publish": those photos leave parent galleries
(``db.faces.publishable_clause``) and search results. Erasure removes the vectors from our
database and, through the port, from the backend (Rekognition's collection): for a deleted photo,
for one child on request, and for a whole album once its retention after the sales window ends.
Each function answers what it changed so the caller can audit it (``auth.audit``); reference
photos are never stored, so there is nothing of them to erase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef, FaceIndex
from bakusoku.faces.search import QUERY_LIMIT

DAY = 86400.0


@dataclass(frozen=True)
class Erased:
    """What an erasure removed: face ids and the photos they were on."""

    face_ids: list[str]
    photo_ids: list[str]


def child_faces(
    index: FaceIndex,
    faces: FaceRepository,
    album: AlbumRef,
    face_id: str,
    *,
    threshold: float = MATCH_THRESHOLD,
) -> list[str]:
    """The face and every face of the album that matches it (a child's faces); [] if the face is
    not one of this album's."""
    if not faces.find(album.service, album.album, [face_id]):
        return []
    matches = index.search_by_faces(album, [face_id], limit=QUERY_LIMIT)
    return list(
        dict.fromkeys([face_id, *(m.face_id for m in matches if m.similarity >= threshold)])
    )


def suppress(
    faces: FaceRepository, album: AlbumRef, face_ids: list[str], *, suppressed: bool = True
) -> int:
    """Mark faces "do not publish" (or lift the mark); the number changed."""
    return faces.set_suppressed(album.service, album.album, face_ids, suppressed)


def erase_faces(
    index: FaceIndex | None, faces: FaceRepository, album: AlbumRef, face_ids: list[str]
) -> Erased:
    """Remove these faces of the album from the backend and from our database."""
    known = faces.find(album.service, album.album, face_ids)
    if index is not None and known:
        index.delete_faces(album, [f.face_id for f in known])
    # Our rows go too, whether or not the backend keeps them itself.
    faces.delete_faces(album.service, album.album, [f.face_id for f in known])
    return _erased(known)


def erase_photo(
    index: FaceIndex | None, faces: FaceRepository, album: AlbumRef, photo_id: str
) -> Erased:
    """Remove every face of a photo (the photo is being deleted; its cuts go with its renditions)."""
    known = faces.photo_faces(album.service, album.album, photo_id)
    return erase_faces(index, faces, album, [f.face_id for f in known])


def erase_album(index: FaceIndex | None, faces: FaceRepository, album: AlbumRef) -> Erased:
    known = faces.album_faces(album.service, album.album)
    if index is not None:
        index.delete_album(album)
    faces.delete_album(album.service, album.album)
    return _erased(known)


def expire_albums(
    index: FaceIndex | None,
    faces: FaceRepository,
    *,
    retention_days: int,
    sales_end: Callable[[AlbumRef], float | None],
    now: float,
) -> dict[AlbumRef, Erased]:
    """Erase the faces of every album whose sales window ended more than ``retention_days`` ago
    (``sales_end`` answers None for an album still on sale); nothing when retention is 0."""
    if retention_days <= 0:
        return {}
    done = {}
    for service, name in faces.albums():
        album = AlbumRef(service, name)
        ended = sales_end(album)
        if ended is not None and ended + retention_days * DAY <= now:
            done[album] = erase_album(index, faces, album)
    return done


def _erased(rows: list[FaceRow]) -> Erased:
    return Erased(
        face_ids=[r.face_id for r in rows],
        photo_ids=list(dict.fromkeys(r.photo_id for r in rows)),
    )
