"""The embedded face index: dlib embeddings in our own database, exact search with numpy.

Vectors are float32 rows of the ``faces`` table (512 bytes a face). A search reads the album's
vectors (one indexed query) and compares the query with every one of them: exact, no approximate
index to build or keep in step, ~0.1 ms of arithmetic for 5,000 faces. Nothing ever compares faces
of two albums: every read names the service and the album.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bakusoku.db.faces import FaceRepository, FaceRow
from bakusoku.faces.embedding import (
    DIMENSIONS,
    FaceEmbedder,
    distances,
    from_bytes,
    similarity,
    to_bytes,
)
from bakusoku.faces.errors import NoFaceError
from bakusoku.faces.port import AlbumRef, FaceCrop, FaceMatch, IndexedFace
from bakusoku.imaging.decode import open_photo
from bakusoku.imaging.faces import FaceDetector, face_crop

# A reference photo is decoded (JPEG: scaled in the DCT) to at least this long edge: faces of a
# phone snapshot stay well above the matching size, at a fraction of a full decode.
REFERENCE_EDGE = 2048
# Albums whose vectors a process keeps between searches (2.5 MB per 5,000 faces).
KEPT_ALBUMS = 16
# Reference photos this process decodes at once. Each may hold a 25 MP photo's pixels (~100 MB)
# and searches run on the API's thread pool (40 threads): a burst of them would hold gigabytes.
# The rest wait their turn; a core each is as fast as it gets anyway.
REFERENCE_DECODES = max(1, os.cpu_count() or 1)
_DECODE_SLOTS = threading.BoundedSemaphore(REFERENCE_DECODES)


class EmbeddedFaceIndex:
    """:class:`~bakusoku.faces.port.FaceIndex` on our database; ``detector`` finds the face of a
    reference photo (the same MTCNN the pipeline uses), ``embedder`` makes the vectors."""

    def __init__(
        self, faces: FaceRepository, embedder: FaceEmbedder, detector: FaceDetector | None
    ) -> None:
        self._faces = faces
        self._embedder = embedder
        self._detector = detector
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], _AlbumVectors] = {}

    def index_faces(
        self, album: AlbumRef, photo_id: str, faces: Sequence[FaceCrop]
    ) -> list[IndexedFace]:
        rows = [
            FaceRow(
                face_id=str(uuid.uuid4()),
                photo_id=photo_id,
                box=face.box,
                embedded=face.jpeg is not None,
                vector=None if face.jpeg is None else to_bytes(self._embedder.embed(face.jpeg)),
            )
            for face in faces
        ]
        self._faces.replace_photo_faces(album.service, album.album, photo_id, rows)
        return [IndexedFace(r.face_id, photo_id, r.box, r.embedded) for r in rows]

    def search_by_image(self, album: AlbumRef, image: bytes, *, limit: int) -> list[FaceMatch]:
        return self._search(album, [self.reference_vector(image)], limit)

    def search_by_faces(
        self, album: AlbumRef, face_ids: Sequence[str], *, limit: int
    ) -> list[FaceMatch]:
        known = self._faces.find(album.service, album.album, face_ids)
        queries = [from_bytes(f.vector) for f in known if f.vector is not None]
        return self._search(album, queries, limit) if queries else []

    def delete_faces(self, album: AlbumRef, face_ids: Sequence[str]) -> None:
        self._faces.delete_faces(album.service, album.album, face_ids)

    def delete_album(self, album: AlbumRef) -> None:
        self._faces.delete_album(album.service, album.album)

    def reference_vector(self, image: bytes) -> np.ndarray:
        """The vector of the largest face of a reference photo; NoFaceError if it shows none."""
        if self._detector is None:
            raise NoFaceError("face detection is not installed: install the 'faces' extra")
        with _DECODE_SLOTS:  # the pixels live only inside
            photo = open_photo(image)
            long_edge = max(photo.info.width, photo.info.height)
            pixels = photo.decode(min(1.0, REFERENCE_EDGE / long_edge))
            found = self._detector.detect(pixels)
            if not found:
                raise NoFaceError(
                    "no face was found in a reference photo: send a photo where the face is"
                    " clearly visible, looking roughly at the camera"
                )
            largest = max(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
            crop = face_crop(pixels, largest)
        if crop is None:
            raise NoFaceError(
                "the face in a reference photo is too small to match: send a closer photo"
            )
        return self._embedder.embed(crop)

    def _search(
        self, album: AlbumRef, queries: Sequence[np.ndarray], limit: int
    ) -> list[FaceMatch]:
        vectors = self._vectors(album)
        if not vectors.face_ids:
            return []
        best = np.max([similarity(distances(vectors.matrix, q)) for q in queries], axis=0)
        if limit < len(best):  # the best ``limit`` without sorting the whole album
            top = np.argpartition(-best, limit - 1)[:limit]
            order = top[np.argsort(-best[top], kind="stable")]
        else:
            order = np.argsort(-best, kind="stable")
        return [
            FaceMatch(vectors.face_ids[i], vectors.photo_ids[i], float(best[i]))
            for i in order.tolist()
        ]

    def _vectors(self, album: AlbumRef) -> _AlbumVectors:
        """The album's vectors as one matrix, kept while the album's faces do not change (one
        small aggregate query tells): reading and parsing 5,000 rows costs far more than the
        arithmetic of a search."""
        key = (album.service, album.album)
        stamp = self._faces.album_stamp(*key)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.stamp == stamp:
            return kept
        rows = self._faces.album_vectors(*key)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4")
        matrix = matrix.reshape(len(rows), -1) if rows else matrix.reshape(0, DIMENSIONS)
        fresh = _AlbumVectors(stamp, [r[0] for r in rows], [r[1] for r in rows], matrix)
        with self._lock:
            self._kept[key] = fresh
            while len(self._kept) > KEPT_ALBUMS:
                self._kept.pop(next(iter(self._kept)))
        return fresh


@dataclass(frozen=True)
class _AlbumVectors:
    stamp: tuple[int, float, float]
    face_ids: list[str]
    photo_ids: list[str]
    matrix: np.ndarray
