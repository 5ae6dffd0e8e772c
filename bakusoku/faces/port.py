"""The face-index port: what the pipeline, the API and erasure need of a face index.

Two implementations answer it, chosen by configuration: the embedded index (vectors in our own
database, exact search with numpy) and Amazon Rekognition (one collection per service and album).
Both keep the face ↔ photo mapping in our database, so listing, consent and erasure do not depend on
the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# A face box in the upright original's pixels: (left, top, right, bottom).
Box = tuple[float, float, float, float]

# Every backend scales its score so that this similarity is its own "same person" threshold:
# Rekognition's default FaceMatchThreshold (80 %) as 0.8, the embedded index's distance 0.6 as 0.8.
# Search and erasure compare against this one number, whichever backend answers.
MATCH_THRESHOLD = 0.8


@dataclass(frozen=True)
class AlbumRef:
    """The one album a face index call may touch: never wider than a service and an album."""

    service: str
    album: str


@dataclass(frozen=True)
class FaceCrop:
    """One detected face of a photo, cut from the full-resolution upright original.

    ``jpeg`` is the face with a margin, encoded as JPEG; it is ``None`` for a face too small to
    match reliably, which is recorded but not embedded.
    """

    box: Box
    jpeg: bytes | None


@dataclass(frozen=True)
class IndexedFace:
    """A face as the index recorded it; ``embedded`` is false for faces too small to match."""

    face_id: str
    photo_id: str
    box: Box
    embedded: bool


@dataclass(frozen=True)
class FaceMatch:
    """A face that resembles the query, ``similarity`` in [0, 1], higher is closer; at or above
    :data:`MATCH_THRESHOLD` the backend judges it the same person."""

    face_id: str
    photo_id: str
    similarity: float


class FaceIndex(Protocol):
    """Index, search and erase the faces of one album."""

    def index_faces(
        self, album: AlbumRef, photo_id: str, faces: Sequence[FaceCrop]
    ) -> list[IndexedFace]:
        """Make ``faces`` the photo's faces (a retried step indexes the same photo again): every
        face is recorded in our database (``db.faces.FaceRepository.replace_photo_faces``), those
        with a ``jpeg`` embedded or indexed in the backend (``backend_face_id``)."""
        ...

    def search_by_image(self, album: AlbumRef, image: bytes, *, limit: int) -> list[FaceMatch]:
        """Faces of the album like the largest face in ``image`` (a parent's reference photo)."""
        ...

    def search_by_faces(
        self, album: AlbumRef, face_ids: Sequence[str], *, limit: int
    ) -> list[FaceMatch]:
        """Faces of the album like already-indexed faces (those a parent confirmed)."""
        ...

    def delete_faces(self, album: AlbumRef, face_ids: Sequence[str]) -> None:
        """Remove the faces from the backend; ``faces.erasure`` removes our rows after it."""
        ...

    def delete_album(self, album: AlbumRef) -> None:
        """Remove every face of the album from the backend (Rekognition: its collection)."""
        ...


@runtime_checkable
class DetectingFaceIndex(FaceIndex, Protocol):
    """A face index that finds a photo's faces itself (Amazon Rekognition). The pipeline hands it
    the whole photo where its own detector is not installed, as in the Lambda bundle."""

    def index_photo(
        self, album: AlbumRef, photo_id: str, image: bytes, size: tuple[int, int]
    ) -> list[IndexedFace]:
        """Index every face of ``image`` (the photo, upright, scaled down); ``size`` is the
        upright original's, whose pixels the boxes are given in."""
        ...
