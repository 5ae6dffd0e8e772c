"""The face index that configuration names (``face_index``: ``embedded`` | ``rekognition`` |
``off``)."""

from __future__ import annotations

import importlib.util

from bakusoku.config import ConfigError, Settings
from bakusoku.db.faces import FaceRepository
from bakusoku.faces.errors import FaceIndexError
from bakusoku.faces.port import FaceIndex
from bakusoku.faces.rekognition import REKOGNITION, RekognitionFaceIndex
from bakusoku.imaging.faces import load_face_detector

EMBEDDED, OFF = "embedded", "off"
BACKENDS = (EMBEDDED, REKOGNITION, OFF)
_NOT_INSTALLED = (
    "face_index is 'embedded' but {missing} is not installed: install the 'faces' extra"
    " (pip install 'bakusoku[faces]'), or set face_index to off"
)


# What the embedded index imports from the 'faces' extra (their import names).
EMBEDDED_PACKAGES = ("numpy", "dlib", "face_recognition_models")


def missing_packages(settings: Settings) -> str | None:
    """Why the configured index cannot work on this machine (its package is not installed), or
    None; found without importing anything, for ``bakusoku up`` to say at once."""
    if settings.face_index != EMBEDDED:
        return None
    for name in EMBEDDED_PACKAGES:
        if importlib.util.find_spec(name) is None:
            return _NOT_INSTALLED.format(missing=name)
    return None


def face_index(settings: Settings, faces: FaceRepository) -> FaceIndex | None:
    """The configured face index; ``None`` when it is off. FaceIndexError when the embedded
    index is chosen but its packages are not installed (the 'faces' extra)."""
    if settings.face_index == OFF:
        return None
    if settings.face_index == EMBEDDED:
        # numpy and dlib are the 'faces' extra: imported only when the embedded index is chosen.
        try:
            from bakusoku.faces.embedded import EmbeddedFaceIndex
            from bakusoku.faces.embedding import load_embedder
        except ImportError as exc:  # a base install: the photo is kept, its faces unindexed
            raise FaceIndexError(_NOT_INSTALLED.format(missing=exc.name or "numpy")) from exc
        embedder = load_embedder()
        if embedder is None:
            raise FaceIndexError(_NOT_INSTALLED.format(missing="dlib"))
        return EmbeddedFaceIndex(faces, embedder, load_face_detector())
    if settings.face_index == REKOGNITION:  # Amazon Rekognition (docs/aws-faces.md)
        return RekognitionFaceIndex.from_settings(settings, faces)
    raise ConfigError(
        f"setting 'face_index' is {settings.face_index!r}: use {' or '.join(BACKENDS)}"
    )
