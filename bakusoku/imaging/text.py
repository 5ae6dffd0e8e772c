"""Text in a photo: where it is and what it says, with models that ship inside a package.

The engine is PP-OCRv4 (detection and recognition ONNX models inside ``rapidocr-onnxruntime``,
Apache-2.0) on onnxruntime, one thread: nothing is downloaded at run time. Both are optional
(``pip install 'bakusoku[bibs]'``); without them :func:`load_text_reader` returns ``None``.

What it costs decides how it runs. Detection is the dear part (~70 ms for a 512 px copy on one
core, ~110 ms at 640 px, growing with the area), so it sees a small copy of the picture
(:data:`DETECTION_EDGE`, 512 px); recognition is cheap per line (6-12 ms for a short one) but grows with
the line's length, so only lines whose shape the caller can use are read (``max_aspect``: a bib
number is short, a banner is not), each cut from the larger picture the caller passes (the
pipeline passes the preview rendition: no second decode of the original).

Each line says how sure the recogniser was of its least sure character, and at which of its ends
the ground it is written on is seen going on (``goes_on``): a narrow strip just beyond the end,
plain and of the colour of the line's own top and bottom rows (the card around a bib's number). Where the
ground goes on, nothing stands against that end that could hide more of the line; where it does
not (an arm across a bib, so ``1494`` half-covered reads ``149`` with high confidence, or just the
card's edge, a pin, a busy background) the line may go on unseen.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

# The detector's copy of the picture: its long edge (a multiple of 32, as the network wants).
# Digits down to ~8 px high in this copy are found: a bib 220 px wide in a 4000 px photo. 640 px
# reads ~3 % more bibs of the benchmark's and costs ~60 ms more a photo (bench/bibs.py --edge).
DETECTION_EDGE = 512
# Recognition reads lines scaled to this height (the model's input).
LINE_HEIGHT = 48
# DB post-processing: the probability a pixel is text, the mean a region needs, how far the
# shrunk region is grown back out (PP-OCR's defaults).
_PIXEL_THRESHOLD = 0.3
_BOX_THRESHOLD = 0.5
_UNCLIP_RATIO = 1.6
# The strips checked just beyond each end of a line (a share of the line's height) and what
# "plain" means there (per-channel standard deviation, 0-255).
_MARGIN = 0.12
_PLAIN_STD = 12.0
# The line's own top and bottom rows (a share of its height) give the colour it is written on;
# an end's strip within this distance of it is that ground going on.
_GROUND_ROWS = 0.12
_GROUND_DISTANCE = 40.0
_MODELS = "rapidocr_onnxruntime"
_DETECTOR = "models/ch_PP-OCRv4_det_infer.onnx"
_RECOGNISER = "models/ch_PP-OCRv4_rec_infer.onnx"


@dataclass(frozen=True)
class TextLine:
    """One line of text: what it says, the least sure character's probability, where it is
    ``(left, top, right, bottom)`` in the picture's pixels, and whether the ground it is written
    on is seen going on beyond its ``(start, end)`` (not known: ``False``)."""

    text: str
    confidence: float
    box: tuple[int, int, int, int]
    goes_on: tuple[bool, bool] = (False, False)


class TextReader:
    """PP-OCRv4 detection on a small copy, recognition of the usable lines at the caller's size."""

    def __init__(
        self,
        detector: Any,
        recogniser: Any,
        characters: list[str],
        *,
        detection_edge: int = DETECTION_EDGE,
    ) -> None:
        self._detector = detector
        self._edge = detection_edge
        self._recogniser = recogniser
        self._characters = characters

    def with_detection_edge(self, edge: int) -> TextReader:
        """The same models, detecting on a copy whose long edge is ``edge`` (the benchmark)."""
        return TextReader(self._detector, self._recogniser, self._characters, detection_edge=edge)

    def lines(
        self, picture: Image.Image, *, max_aspect: float = 8.0, min_height: int = 8
    ) -> list[TextLine]:
        """Every line of ``picture`` no longer than ``max_aspect`` times its height and at least
        ``min_height`` px high (in ``picture``), read."""
        import numpy as np

        rgb = picture if picture.mode == "RGB" else picture.convert("RGB")
        pixels = np.asarray(rgb)
        found = []
        for quad in self._find(rgb):
            width, height = _quad_size(quad)
            if height < min_height or width > max_aspect * height:
                continue
            line = _cut(pixels, quad, width, height)
            if line is None:
                continue
            text, confidence = self._read(line[0])
            if text:
                xs, ys = quad[:, 0], quad[:, 1]
                box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
                found.append(TextLine(text, confidence, box, _goes_on(*line)))
        return found

    def _find(self, picture: Image.Image) -> list[Any]:
        """Text regions as four corners each (clockwise from top left) in ``picture``'s pixels."""
        import numpy as np
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DBPostProcess

        scale = self._edge / max(picture.size)
        width = max(32, round(picture.width * scale / 32) * 32)
        height = max(32, round(picture.height * scale / 32) * 32)
        small = picture.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
        tensor = (np.asarray(small, dtype=np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        name = self._detector.get_inputs()[0].name
        probabilities = self._detector.run(None, {name: tensor})[0]
        post = DBPostProcess(
            thresh=_PIXEL_THRESHOLD, box_thresh=_BOX_THRESHOLD, unclip_ratio=_UNCLIP_RATIO
        )
        quads, _ = post(probabilities, (picture.height, picture.width))
        return [_clockwise(np.asarray(q, dtype=np.float32)) for q in quads]

    def _read(self, line: Any) -> tuple[str, float]:
        """CTC greedy decoding; the confidence is the least sure kept character's probability."""
        import numpy as np

        tensor = (line.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        name = self._recogniser.get_inputs()[0].name
        steps = self._recogniser.run(None, {name: tensor})[0][0]
        best = steps.argmax(axis=1)
        chosen = steps.max(axis=1)
        text, probabilities, previous = [], [], 0
        for index, probability in zip(best.tolist(), chosen.tolist(), strict=True):
            if index not in (0, previous) and index - 1 < len(self._characters):
                text.append(self._characters[index - 1])
                probabilities.append(probability)
            previous = index
        if not probabilities:
            return "", 0.0
        return "".join(text), float(min(probabilities))


def text_available() -> bool:
    """Whether the engine and its models are installed (the ``bibs`` extra)."""
    return load_text_reader() is not None


@lru_cache(maxsize=1)
def load_text_reader() -> TextReader | None:
    """The process's reader (the models load once per worker, ~0.3 s), or ``None`` without the
    ``bibs`` extra."""
    try:
        import onnxruntime
        from rapidocr_onnxruntime.ch_ppocr_det import utils  # noqa: F401  (post-processing)
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    # One core per photo: the pipeline runs photos side by side, not threads inside one.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    models = resources.files(_MODELS)

    def session(path: str) -> Any:
        return onnxruntime.InferenceSession(
            (models / path).read_bytes(), options, providers=["CPUExecutionProvider"]
        )

    recogniser = session(_RECOGNISER)
    characters = recogniser.get_modelmeta().custom_metadata_map["character"].splitlines()
    # PaddleOCR's dictionary ends with a space the metadata's lines drop.
    return TextReader(session(_DETECTOR), recogniser, [*characters, " "])


def _clockwise(quad: Any) -> Any:
    """Corners ordered top left, top right, bottom right, bottom left."""
    import numpy as np

    by_x = quad[np.argsort(quad[:, 0])]
    left = by_x[:2][np.argsort(by_x[:2, 1])]
    right = by_x[2:][np.argsort(by_x[2:, 1])]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def _quad_size(quad: Any) -> tuple[float, float]:
    import numpy as np

    width = max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[3] - quad[2]))
    height = max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))
    return float(width), float(height)


def _cut(pixels: Any, quad: Any, width: float, height: float) -> tuple[Any, Any, Any] | None:
    """The line straightened to :data:`LINE_HEIGHT`, and narrow strips just beyond its ends
    (middle rows only: the box's corners may hold the line above or the card's edge)."""
    import cv2
    import numpy as np

    scale = LINE_HEIGHT / height
    out_width = max(8, math.ceil(width * scale))
    margin = max(3, round(_MARGIN * LINE_HEIGHT))
    along = (quad[1] - quad[0]) / max(width, 1.0) * (margin / scale)
    wide = np.array(
        [quad[0] - along, quad[1] + along, quad[2] + along, quad[3] - along], dtype=np.float32
    )
    full = out_width + 2 * margin
    target = np.array([[0, 0], [full, 0], [full, LINE_HEIGHT], [0, LINE_HEIGHT]], dtype=np.float32)
    cut = cv2.warpPerspective(
        pixels,
        cv2.getPerspectiveTransform(wide, target),
        (full, LINE_HEIGHT),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if cut.size == 0:
        return None
    rows = slice(round(0.3 * LINE_HEIGHT), round(0.7 * LINE_HEIGHT))
    return cut[:, margin : margin + out_width], cut[rows, :margin], cut[rows, margin + out_width :]


def _goes_on(line: Any, before: Any, after: Any) -> tuple[bool, bool]:
    """Whether the ground the line is written on is seen going on just beyond its start and its
    end: a plain strip of the colour of the line's own top and bottom rows (the card around a
    number). Where it does, nothing stands against that end that could hide more of the line."""
    import numpy as np

    edge = max(2, round(_GROUND_ROWS * line.shape[0]))
    rows = np.concatenate([line[:edge], line[-edge:]]).reshape(-1, line.shape[-1])
    ground = np.median(rows.astype(np.float32), axis=0)
    return _continues(before, ground), _continues(after, ground)


def _continues(strip: Any, ground: Any) -> bool:
    import numpy as np

    pixels = strip.reshape(-1, strip.shape[-1]).astype(np.float32)
    if pixels.shape[0] == 0 or float(pixels.std(axis=0).max()) > _PLAIN_STD:
        return False
    return float(np.linalg.norm(pixels.mean(axis=0) - ground)) <= _GROUND_DISTANCE
