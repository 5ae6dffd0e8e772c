"""The face service: what the API, parent sessions and the command line call, whichever backend.

Plain Python and session-agnostic: every call names the :class:`AlbumRef` it may touch, and the
caller decides who may call it (staff keys in ``api.routes.faces``, parent album sessions
elsewhere). The face index is built on first use: it loads the models.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import sqlalchemy as sa

from bakusoku.config import Settings
from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.faces.backends import face_index
from bakusoku.faces.erasure import Erased, child_faces, erase_faces, erase_photo, suppress
from bakusoku.faces.errors import FaceIndexOffError
from bakusoku.faces.port import MATCH_THRESHOLD, AlbumRef, FaceIndex
from bakusoku.faces.search import PhotoHit, find_child


class FaceService:
    def __init__(self, settings: Settings, engine: sa.Engine) -> None:
        self.settings = settings
        self.faces = FaceRepository(engine, retry_seconds=settings.db_retry_seconds)
        self._lock = threading.Lock()
        self._index: FaceIndex | None = None
        self._built = False

    def index(self) -> FaceIndex | None:
        """The configured face index, or None when ``face_index`` is off."""
        with self._lock:
            if not self._built:
                self._index = face_index(self.settings, self.faces)
                self._built = True
            return self._index

    def require_index(self) -> FaceIndex:
        index = self.index()
        if index is None:
            raise FaceIndexOffError(
                "face search is off in this deployment (face_index: off): set face_index to"
                " embedded to index and search faces"
            )
        return index

    def find_child(
        self,
        album: AlbumRef,
        references: Sequence[bytes],
        *,
        confirmed: Sequence[str] = (),
        rejected: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[PhotoHit]:
        """The album's publishable photos of the child in ``references`` (bytes, never stored),
        best first; see :func:`bakusoku.faces.search.find_child`."""
        return find_child(
            self.require_index(),
            self.faces,
            album,
            references,
            confirmed=confirmed,
            rejected=rejected,
            limit=limit,
        )

    def photo_faces(self, album: AlbumRef, photo_id: str) -> list[FaceRow]:
        return self.faces.photo_faces(album.service, album.album, photo_id)

    def mark_do_not_publish(
        self, album: AlbumRef, face_id: str, *, child: bool, suppressed: bool = True
    ) -> list[str]:
        """Mark the face (``child``: every face of the album matching it) "do not publish", or
        lift the mark; the face ids marked ([] when the face is not this album's)."""
        if not self.faces.find(album.service, album.album, [face_id]):
            return []
        ids = (
            child_faces(self.require_index(), self.faces, album, face_id, threshold=MATCH_THRESHOLD)
            if child
            else [face_id]
        )
        suppress(self.faces, album, ids, suppressed=suppressed)
        return ids

    def erase(self, album: AlbumRef, face_id: str, *, child: bool) -> Erased:
        """Erase the face (``child``: every face of the album matching it) for good."""
        if not self.faces.find(album.service, album.album, [face_id]):
            return Erased([], [])
        ids = child_faces(self.require_index(), self.faces, album, face_id) if child else [face_id]
        return erase_faces(self.index(), self.faces, album, ids)

    def erase_photo(self, album: AlbumRef, photo_id: str) -> Erased:
        return erase_photo(self.index(), self.faces, album, photo_id)
