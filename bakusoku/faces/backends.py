"""The face index that configuration names (``face_index``: ``embedded`` | ``rekognition`` |
``off``)."""

from __future__ import annotations

from bakusoku.config import ConfigError, Settings
from bakusoku.db.faces import FaceRepository
from bakusoku.faces.errors import FaceIndexError
from bakusoku.faces.port import FaceIndex
from bakusoku.faces.rekognition import REKOGNITION, RekognitionFaceIndex
from bakusoku.imaging.faces import load_face_detector

EMBEDDED, OFF = "embedded", "off"
BACKENDS = (EMBEDDED, REKOGNITION, OFF)


def face_index(settings: Settings, faces: FaceRepository) -> FaceIndex | None:
    """The configured face index; ``None`` when it is off. FaceIndexError when the embedded
    index is chosen but its packages are not installed (the 'faces' extra)."""
    if settings.face_index == OFF:
        return None
    if settings.face_index == EMBEDDED:
        # numpy and dlib are the 'faces' extra: imported only when the embedded index is chosen.
        from bakusoku.faces.embedded import EmbeddedFaceIndex
        from bakusoku.faces.embedding import load_embedder

        embedder = load_embedder()
        if embedder is None:
            raise FaceIndexError(
                "face_index is 'embedded' but dlib is not installed: install the 'faces' extra"
                " (pip install 'bakusoku[faces]'), or set face_index to off"
            )
        return EmbeddedFaceIndex(faces, embedder, load_face_detector())
    if settings.face_index == REKOGNITION:  # Amazon Rekognition (docs/aws-faces.md)
        return RekognitionFaceIndex.from_settings(settings, faces)
    raise ConfigError(
        f"setting 'face_index' is {settings.face_index!r}: use {' or '.join(BACKENDS)}"
    )
