"""Face embeddings: dlib's ResNet (128 numbers per face) on 5-point alignment, shipped in packages.

``dlib-bin`` is dlib prebuilt (Boost licence); ``face-recognition-models`` ships the two model files
used here inside the package (``dlib_face_recognition_resnet_model_v1.dat`` and
``shape_predictor_5_face_landmarks.dat``, both CC0 from dlib's author): nothing is downloaded at
run time. The package also carries the 68-point landmark model, trained on iBUG 300-W, which is not
licensed for commercial use: it is never loaded. Both are the ``faces`` extra; without them
:func:`load_embedder` returns ``None`` and the embedded index cannot embed.

Two faces of one person are at Euclidean distance ~0.2-0.45, of two people ≥ 0.6 (dlib's own
threshold, 99.38 % on LFW).
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from bakusoku.imaging.faces import face_in_crop

log = logging.getLogger(__name__)

DIMENSIONS = 128
# dlib's decision threshold on the Euclidean distance of two embeddings.
SAME_PERSON_DISTANCE = 0.6
_RESNET = "dlib_face_recognition_resnet_model_v1.dat"
_LANDMARKS = "shape_predictor_5_face_landmarks.dat"


class FaceEmbedder(Protocol):
    """Anything that turns a face cut (``imaging.faces.face_crop``) into a float32 vector."""

    def embed(self, crop_jpeg: bytes) -> np.ndarray: ...


class DlibEmbedder:
    """5-point landmarks inside the face's known box, then the ResNet on the aligned 150 px chip."""

    def __init__(self, dlib: Any, models: Path) -> None:
        self._dlib = dlib
        self._landmarks = dlib.shape_predictor(str(models / _LANDMARKS))
        self._resnet = dlib.face_recognition_model_v1(str(models / _RESNET))

    def embed(self, crop_jpeg: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(crop_jpeg), formats=["JPEG"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        left, top, right, bottom = face_in_crop((pixels.shape[1], pixels.shape[0]))
        rect = self._dlib.rectangle(round(left), round(top), round(right), round(bottom))
        shape = self._landmarks(pixels, rect)
        vector = self._resnet.compute_face_descriptor(pixels, shape)
        return np.asarray(vector, dtype=np.float32)


def load_embedder() -> FaceEmbedder | None:
    """The packaged dlib embedder, or ``None`` when the ``faces`` extra is not installed."""
    return _load_dlib()


@lru_cache(maxsize=1)
def _load_dlib() -> FaceEmbedder | None:
    try:
        import dlib
        import face_recognition_models
    except ImportError:
        log.info(
            "face embedding is off: install the 'faces' extra (dlib-bin, face-recognition-models)"
        )
        return None
    models = Path(face_recognition_models.__file__).parent / "models"
    return DlibEmbedder(dlib, models)


def distances(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of ``vectors`` (n by 128, float32) to ``query``."""
    if len(vectors) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.linalg.norm(vectors - query, axis=1)


def similarity(distance: np.ndarray) -> np.ndarray:
    """Distances as similarities in [0, 1]: 0 → 1, the same-person threshold 0.6 → 0.8
    (:data:`bakusoku.faces.port.MATCH_THRESHOLD`), 1.2 and beyond → 0; linear in between."""
    near = 1.0 - (distance / SAME_PERSON_DISTANCE) * 0.2
    far = 0.8 * (1.0 - (distance - SAME_PERSON_DISTANCE) / SAME_PERSON_DISTANCE)
    return np.clip(np.where(distance <= SAME_PERSON_DISTANCE, near, far), 0.0, 1.0)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")
