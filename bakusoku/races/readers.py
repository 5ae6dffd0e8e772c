"""The text reader configuration names for bibs (``bib_reader``: ``embedded`` | ``rekognition`` |
``off``), each reading the lines of one JPEG picture (the preview rendition).

- ``embedded``: PP-OCRv4 on onnxruntime in the worker (:mod:`bakusoku.imaging.text`, the
  ``bibs`` extra). Each line says at which ends its card is seen going on (not under an arm).
- ``rekognition``: Amazon Rekognition ``DetectText`` on the same bytes, for AWS, where the Lambda
  bundle carries neither onnxruntime nor OpenCV. Its words come with a confidence but no pixels
  are looked at here, so no card is seen beyond a word: a part of a longer entrant's bib is
  doubted.
- ``off``: nothing is read; every race photo waits for staff in the bib-unknown set.
"""

from __future__ import annotations

import importlib.util
import io
from typing import Any, Protocol

from PIL import Image

from bakusoku.config import ConfigError, Settings
from bakusoku.imaging.text import TextLine, load_text_reader
from bakusoku.races.bibs import MAX_ASPECT
from bakusoku.races.errors import BibReadError

EMBEDDED, REKOGNITION, OFF = "embedded", "rekognition", "off"
READERS = (EMBEDDED, REKOGNITION, OFF)
# What the embedded reader imports from the 'bibs' extra (their import names).
EMBEDDED_PACKAGES = ("onnxruntime", "rapidocr_onnxruntime")
_NOT_INSTALLED = (
    "bib_reader is 'embedded' but the text engine is not installed: install the 'bibs' extra"
    " (pip install 'bakusoku[bibs]'), or set bib_reader to rekognition or off"
)
# DetectText's own floor (percent): under it a word is noise, not a hint for staff.
_MIN_WORD_CONFIDENCE = 50.0
# The largest picture DetectText takes as bytes.
_MAX_BYTES = 5 * 1024 * 1024


def missing_packages(settings: Settings) -> str | None:
    """Why the configured reader cannot work on this machine (its engine is not installed), or
    None; found without importing anything, for ``bakusoku up`` to say at once."""
    if settings.bib_reader != EMBEDDED:
        return None
    if any(importlib.util.find_spec(name) is None for name in EMBEDDED_PACKAGES):
        return _NOT_INSTALLED
    return None


class BibReader(Protocol):
    """Reads the lines of one picture; boxes in the picture's pixels."""

    def read(self, jpeg: bytes) -> tuple[list[TextLine], tuple[int, int]]:
        """The lines of bib shape (short) and the picture's size."""
        ...


class EmbeddedReader:
    """PP-OCRv4 in this process."""

    def read(self, jpeg: bytes) -> tuple[list[TextLine], tuple[int, int]]:
        reader = load_text_reader()
        if reader is None:
            raise BibReadError(_NOT_INSTALLED)
        with Image.open(io.BytesIO(jpeg), formats=["JPEG", "WEBP"]) as image:
            picture = image.convert("RGB")
        return reader.lines(picture, max_aspect=MAX_ASPECT), picture.size


class RekognitionReader:
    """Amazon Rekognition DetectText: the words, each with its confidence and box."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def read(self, jpeg: bytes) -> tuple[list[TextLine], tuple[int, int]]:
        if len(jpeg) > _MAX_BYTES:
            raise BibReadError(
                f"the preview is {len(jpeg)} bytes, over DetectText's 5 MB: make it smaller"
            )
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
            width, height = image.size  # the header only: Rekognition decodes
        answer = self._client.detect_text(
            Image={"Bytes": jpeg},
            Filters={"WordFilter": {"MinConfidence": _MIN_WORD_CONFIDENCE}},
        )
        lines = []
        for found in answer.get("TextDetections", []):
            if found.get("Type") != "WORD":
                continue  # a LINE may join a bib to the words beside it
            box = found["Geometry"]["BoundingBox"]
            left, top = round(box["Left"] * width), round(box["Top"] * height)
            right = round((box["Left"] + box["Width"]) * width)
            bottom = round((box["Top"] + box["Height"]) * height)
            if right - left > MAX_ASPECT * max(bottom - top, 1):
                continue
            lines.append(
                TextLine(
                    found["DetectedText"],
                    float(found["Confidence"]) / 100.0,
                    (left, top, right, bottom),
                )
            )
        return lines, (width, height)


def bib_reader(settings: Settings, client: Any = None) -> BibReader | None:
    """The configured reader; ``None`` when it is off. ``client``: a Rekognition client (one is
    made with the default credential chain when not given)."""
    if settings.bib_reader == OFF:
        return None
    if settings.bib_reader == EMBEDDED:
        return EmbeddedReader()
    if settings.bib_reader == REKOGNITION:
        return RekognitionReader(client if client is not None else rekognition_client(settings))
    raise ConfigError(f"setting 'bib_reader' is {settings.bib_reader!r}: use {', '.join(READERS)}")


def rekognition_client(settings: Settings) -> Any:
    """A botocore Rekognition client in the deployment's region, retrying as S3's does."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "rekognition",
        region_name=settings.region,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )
